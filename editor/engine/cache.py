"""Rendered audio, keyed by what decides it (model, voices, texts, settings).

A cached request costs nothing and makes no HTTP call. Files are moved in
atomically, so a crash never leaves a half file under a key.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

import platformdirs

from editor.core.atomic import fsync_dir, write_atomic
from editor.engine.audiocheck import sniff_audio_suffix

APP = "castline"
AUDIO_SUFFIXES = (".mp3", ".wav", ".flac", ".ogg")


def default_cache_dir() -> Path:
    return Path(os.environ.get("CASTLINE_CACHE_DIR") or platformdirs.user_cache_dir(APP, False))


def default_state_dir() -> Path:
    return Path(os.environ.get("CASTLINE_STATE_DIR") or platformdirs.user_state_dir(APP, False))


SANDBOX_NAMESPACE = "sandbox"


class AudioCache:
    """``namespace`` keeps the sandbox's stand-in voices apart from paid-for audio."""

    @classmethod
    def for_service(cls, sandbox: bool, root: Path | None = None) -> AudioCache:
        """The one place that knows the rule: the sandbox's audio lives in a namespace of its
        own, so stand-in voices are never taken for paid audio, nor paid audio for them."""
        return cls(root, namespace=SANDBOX_NAMESPACE if sandbox else None)

    def __init__(self, root: Path | None = None, namespace: str | None = None) -> None:
        base = Path(root or default_cache_dir())
        self.root = (base / namespace if namespace else base) / "audio"
        self.root.mkdir(parents=True, exist_ok=True)
        # key -> file name, from one listing of the folders: asking about thousands of lines
        # then costs no file system call per miss (a render re-checks with ``fresh``).
        self._index: dict[str, str] | None = None

    def _dir(self, key: str) -> Path:
        return self.root / key[:2]

    def refresh(self) -> None:
        """List the cache again (another process may have added audio)."""
        index: dict[str, str] = {}
        try:
            folders = [e for e in os.scandir(self.root) if len(e.name) == 2 and e.is_dir()]
        except OSError:
            folders = []
        for folder in folders:
            try:
                entries = list(os.scandir(folder.path))
            except OSError:
                continue
            for entry in entries:
                stem, dot, suffix = entry.name.rpartition(".")
                if dot and f".{suffix}" in AUDIO_SUFFIXES and stem not in index:
                    index[stem] = entry.name
        self._index = index

    def get(self, key: str, *, fresh: bool = False) -> Path | None:
        """The audio kept under ``key``, or None. ``fresh`` looks on disk instead of in the
        listing (before paying for a request, another process may just have added it)."""
        if not fresh:
            if self._index is None:
                self.refresh()
            assert self._index is not None
            name = self._index.get(key)
            if name is None:
                return None
            p = self._dir(key) / name
            with contextlib.suppress(OSError):
                if p.stat().st_size > 0:
                    return p
            self._index.pop(key, None)
            return None
        d = self._dir(key)
        for suffix in AUDIO_SUFFIXES:
            p = d / f"{key}{suffix}"
            if p.is_file() and p.stat().st_size > 0:
                if self._index is not None:
                    self._index[key] = p.name
                return p
        return None

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def put(self, key: str, temp_file: Path, meta: dict[str, Any] | None = None) -> Path:
        """Move a checked temporary file (same file system) in under ``key``."""
        d = self._dir(key)
        d.mkdir(parents=True, exist_ok=True)
        with open(temp_file, "rb") as f:
            suffix = sniff_audio_suffix(f.read(16))
            f.seek(0)
            os.fsync(f.fileno())
        final = d / f"{key}{suffix}"
        if meta is not None:
            record = {"key": key, "saved": time.time(), **meta}
            write_atomic(d / f"{key}.json",
                         json.dumps(record, ensure_ascii=False, indent=1).encode())
        os.replace(temp_file, final)
        fsync_dir(d)
        if self._index is not None:
            self._index[key] = final.name
        return final

    def meta(self, key: str) -> dict[str, Any] | None:
        p = self._dir(key) / f"{key}.json"
        try:
            data = json.loads(p.read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def temp_dir(self) -> Path:
        """Where downloads land before they are checked (same file system as the cache)."""
        d = self.root / "incoming"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def clean_incoming(self, older_than: float = 3600.0) -> None:
        d = self.root / "incoming"
        if not d.is_dir():
            return
        now = time.time()
        for p in d.iterdir():
            with contextlib.suppress(OSError):
                if now - p.stat().st_mtime > older_than:
                    p.unlink()
