"""A full disk during save, autosave and export: a clear message, the previous file intact,
nothing half-written left looking complete. Uses a real 64 KiB tmpfs (needs root, as CI has;
on a machine without it these tests are skipped and say why)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from editor.core import sceneio
from editor.core.catalog import read_resource_text
from editor.engine.audio import ExportError, write


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int = 2048) -> None:
    """Fill the disk so that only about ``leave`` bytes stay free."""
    st = os.statvfs(disk)
    free = st.f_bavail * st.f_frsize
    (disk / "ballast").write_bytes(b"\0" * max(0, free - leave))


def test_save_on_a_full_disk_keeps_the_previous_file(tiny_disk: Path) -> None:
    path = tiny_disk / "ferry.castline"
    path.write_text(read_resource_text("samples/night-ferry.castline"), "utf-8")
    before = path.read_bytes()
    scene = sceneio.load(path)
    scene.set_text(0, "A much longer line. " * 400)
    fill(tiny_disk)
    with pytest.raises(OSError, match="No space left"):
        sceneio.save(scene, path)
    assert path.read_bytes() == before
    assert sceneio.load(path).lines[0].text.startswith("[whispers]")
    assert [p.name for p in tiny_disk.iterdir() if p.name.endswith(".tmp")] == []


def test_export_on_a_full_disk_writes_nothing(tiny_disk: Path) -> None:
    data = np.zeros((22050 * 10, 1), np.float32)  # 10 s: far more than the disk holds
    with pytest.raises(ExportError, match="Nothing was written; free some space"):
        write(tiny_disk / "mix.wav", data, 22050)
    assert sorted(p.name for p in tiny_disk.iterdir()) == []


def test_gui_save_and_autosave_on_a_full_disk(tiny_disk: Path, window: Any, dialogs: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from editor.ui.recovery import RecoveryFile

    path = tiny_disk / "ferry.castline"
    assert window._save_to(path)
    before = path.read_bytes()
    window._commit_cell(0, "text", "Long edit. " * 600)
    fill(tiny_disk)
    dialogs.answer = 0
    assert window._save_to(path) is False
    kind, text = dialogs.seen[-1]
    assert kind == "critical" and "free some space" in text
    assert path.read_bytes() == before
    assert window.isWindowModified()  # the edit is still there, unsaved
    monkeypatch.setattr(window, "recovery", RecoveryFile(path))
    monkeypatch.setattr(window.recovery, "path", tiny_disk / "rec.castline")
    monkeypatch.setattr(window.recovery, "meta", tiny_disk / "rec.json")
    window.save_recovery()
    assert "Autosave failed" in window.statusBar().currentMessage()
    assert not (tiny_disk / "rec.castline").exists()
