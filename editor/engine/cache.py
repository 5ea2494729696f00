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


def default_cache_dir() -> Path:
    return Path(os.environ.get("CASTLINE_CACHE_DIR") or platformdirs.user_cache_dir(APP, False))


def default_state_dir() -> Path:
    return Path(os.environ.get("CASTLINE_STATE_DIR") or platformdirs.user_state_dir(APP, False))


class AudioCache:
    """``namespace`` keeps the sandbox's stand-in voices apart from paid-for audio."""

    def __init__(self, root: Path | None = None, namespace: str | None = None) -> None:
        base = Path(root or default_cache_dir())
        self.root = (base / namespace if namespace else base) / "audio"
        self.root.mkdir(parents=True, exist_ok=True)

    def _dir(self, key: str) -> Path:
        return self.root / key[:2]

    def get(self, key: str) -> Path | None:
        d = self._dir(key)
        for suffix in (".mp3", ".wav", ".flac", ".ogg"):
            p = d / f"{key}{suffix}"
            if p.is_file() and p.stat().st_size > 0:
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
