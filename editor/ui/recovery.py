"""Autosave and recovery: a copy of the unsaved scene in the state folder, offered again
after a crash or a kill. The copies are private (0600, in a 0700 folder)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from editor.core import sceneio
from editor.core.atomic import private_dir, write_atomic
from editor.core.scene import Scene
from editor.engine.cache import default_state_dir


def recovery_dir() -> Path:
    return private_dir(default_state_dir() / "recovery")


@dataclass(frozen=True, slots=True)
class Recovered:
    file: Path
    original: Path | None
    saved: float
    takes: Path | None = None  # an unsaved scene's takes folder


class RecoveryFile:
    def __init__(self, original: Path | None) -> None:
        self.original = original.resolve() if original else None
        name = str(self.original) if self.original else f"untitled-{secrets.token_hex(16)}"
        digest = hashlib.sha1(name.encode()).hexdigest()[:16]  # noqa: S324 - a file name
        self.path = recovery_dir() / f"{digest}.castline"
        self.meta = recovery_dir() / f"{digest}.json"

    def save(self, scene: Scene, takes: Path | None = None) -> Path:
        """Keep a copy of ``scene``; ``takes``: an unsaved scene's takes folder, re-attached
        on recovery (a saved scene's takes are beside it). Returns where the copy is, only
        once it is on disk; raises (OSError) if it could not be written. Text that cannot be
        written as UTF-8 never stops it (sceneio.dumps cleans it)."""
        write_atomic(self.path, sceneio.dumps(scene).encode("utf-8"), private=True)
        write_atomic(self.meta, json.dumps({"original": str(self.original or ""),
                                            "takes": str(takes or ""),
                                            "saved": time.time()},
                                           ensure_ascii=True).encode(), private=True)
        return self.path

    def discard(self) -> None:
        for p in (self.path, self.meta):
            with contextlib.suppress(OSError):
                p.unlink()


def pending() -> list[Recovered]:
    out = []
    for meta in sorted(recovery_dir().glob("*.json")):
        scene_file = meta.with_suffix(".castline")
        try:
            info = json.loads(meta.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if scene_file.exists():
            original = Path(info["original"]) if info.get("original") else None
            takes = Path(info["takes"]) if info.get("takes") else None
            out.append(Recovered(scene_file, original, float(info.get("saved", 0)), takes))
    return out


def discard(rec: Recovered) -> None:
    for p in (rec.file, rec.file.with_suffix(".json")):
        with contextlib.suppress(OSError):
            p.unlink()
