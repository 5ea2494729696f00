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


def test_gui_save_and_autosave_on_a_full_disk(tiny_disk: Path, window: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from editor.ui.recovery import RecoveryFile

    path = tiny_disk / "ferry.castline"
    assert window.document.save_to(path)
    before = path.read_bytes()
    window.document.commit_cell(0, "text", "Long edit. " * 600)
    fill(tiny_disk)
    assert window.document.save_to(path) is False
    (notice,) = [q for q in window.prompter.told if q.default == "error"]
    assert "free some space" in notice.text
    assert path.read_bytes() == before
    assert window.isWindowModified()  # the edit is still there, unsaved
    monkeypatch.setattr(window.document, "recovery", RecoveryFile(path))
    monkeypatch.setattr(window.recovery, "path", tiny_disk / "rec.castline")
    monkeypatch.setattr(window.recovery, "meta", tiny_disk / "rec.json")
    window.document.save_recovery()
    assert "Autosave failed" in window.statusBar().currentMessage()
    assert not (tiny_disk / "rec.castline").exists()


def test_a_take_on_a_full_disk_is_refused_clearly_and_the_others_stay(tiny_disk: Path,
                                                                      tmp_path: Path) -> None:
    import soundfile

    from editor.engine.takes import TakeError, TakeStore

    small, big = tmp_path / "small.wav", tmp_path / "big.wav"
    soundfile.write(small, np.full((2000, 1), 0.1, np.float32), 22050)
    soundfile.write(big, np.full((22050 * 4, 1), 0.1, np.float32), 22050)
    store = TakeStore(tiny_disk / "Scene.takes")
    first = store.add({"line-1": "k"}, {"line-1": "Hi."}, {}, "k", small, cost=1.0, sandbox=False)
    fill(tiny_disk, leave=8192)
    with pytest.raises(TakeError, match="free some space"):
        store.add({"line-1": "k"}, {"line-1": "Hi."}, {}, "k", big, cost=1.0, sandbox=False)
    again = TakeStore(tiny_disk / "Scene.takes")
    assert [t.id for t in again.all_takes()] == [first.id] and again.damaged_records == 0
    assert sorted(p.name for p in (tiny_disk / "Scene.takes" / "audio").iterdir()) == [
        Path(first.file).name]


def test_a_full_export_on_a_full_disk_leaves_only_whole_files(tiny_disk: Path,
                                                              tmp_path: Path) -> None:
    import soundfile

    from editor.core.scene import Scene
    from editor.engine.audio import decode
    from editor.engine.export import Exporter, Source, plan_export

    scene = Scene(title="Full")
    scene.insert_lines(0, [scene.new_line(n, f"{n} speaks.") for n in ("A", "B", "A")])
    clips = {}
    for line in scene.lines:
        clips[line.id] = tmp_path / f"{line.id}.wav"
        soundfile.write(clips[line.id], np.full((22050, 1), 0.2, np.float32), 22050)
    layout = plan_export(scene, lambda ln: Source(clips[ln.id]))
    fill(tiny_disk, leave=60_000)  # room for one line's file (44 KB), not two
    with pytest.raises(ExportError, match="free some space"):
        Exporter(scene, layout, tiny_disk, what=("lines", "manifest"), fmt="wav").run()
    left = [p for p in tiny_disk.iterdir() if p.name != "ballast"]
    assert not [p for p in left if p.name.startswith(".")]  # no temporary file left behind
    assert [p.name for p in left] == ["001_A_line-1.wav"]
    assert decode(left[0]).seconds == pytest.approx(1.0)  # what was written is whole
