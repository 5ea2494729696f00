"""Files get the permissions people expect (issue 13 item 7).

Exports, saved scenes and their .bak follow the user's umask, as any editor's do; replacing a
scene keeps its mode. Private state is 0600 in 0700 folders: the journal, recovery copies, the
log. Each test sets an explicit umask and restores it.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from editor.core import sceneio
from editor.core.atomic import append_durable, private_dir, write_atomic
from editor.core.scene import Scene

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")


@pytest.fixture(params=[0o022, 0o002, 0o077])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def a_scene() -> Scene:
    s = Scene(title="Perms")
    s.insert_lines(0, [s.new_line("MARA", "Hello.")])
    return s


def test_a_new_scene_and_its_bak_follow_the_umask(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "s.castline"
    sceneio.save(a_scene(), path)  # before: 0600 whatever the umask (tempfile.mkstemp)
    assert mode(path) == 0o666 & ~umask
    sceneio.save(a_scene(), path)
    assert mode(path.with_name("s.castline.bak")) == 0o666 & ~umask


def test_replacing_a_scene_keeps_its_mode(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "s.castline"
    path.write_text("{}")
    os.chmod(path, 0o640)
    sceneio.save(a_scene(), path)
    assert mode(path) == 0o640
    assert mode(path.with_name("s.castline.bak")) == 0o640  # the .bak is a copy of it


def test_exported_audio_follows_the_umask_and_keeps_a_replaced_files_mode(
        tmp_path: Path, umask: int) -> None:
    from editor.engine.audio import write

    data = np.zeros((800, 1), dtype=np.float32)
    out = tmp_path / "mix.wav"
    write(out, data, 8000)  # before: 0600
    assert mode(out) == 0o666 & ~umask
    os.chmod(out, 0o604)
    write(out, data, 8000)
    assert mode(out) == 0o604


def test_exported_text_follows_the_umask(tmp_path: Path, umask: int) -> None:
    out = tmp_path / "scene.srt"
    write_atomic(out, b"1\n")  # what the exporter writes subtitles and manifests with
    assert mode(out) == 0o666 & ~umask


def test_private_files_are_0600_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    p = tmp_path / "state.json"
    write_atomic(p, b"{}", private=True)
    assert mode(p) == 0o600
    p.chmod(0o644)  # replacing a file made wider by someone keeps it private
    write_atomic(p, b"{}", private=True)
    assert mode(p) == 0o600


def test_the_journal_is_0600_and_tightened_if_left_wider(tmp_path: Path, umask: int) -> None:
    journal = tmp_path / "journal.jsonl"
    append_durable(journal, b"{}\n")
    assert mode(journal) == 0o600
    journal.chmod(0o644)  # an older Castline's
    append_durable(journal, b"{}\n")
    assert mode(journal) == 0o600
    write_atomic(journal, journal.read_bytes())  # compaction keeps the journal's own mode
    assert mode(journal) == 0o600


def test_private_folders_are_0700(tmp_path: Path, umask: int) -> None:
    d = private_dir(tmp_path / "state" / "recovery")
    assert mode(d) == 0o700
    d.chmod(0o755)
    private_dir(d)
    assert mode(d) == 0o700


def test_recovery_copies_are_private(tmp_path: Path, umask: int) -> None:
    from editor.ui.recovery import RecoveryFile, recovery_dir

    rec = RecoveryFile(None)
    written = rec.save(a_scene())
    assert mode(written) == 0o600 and mode(rec.meta) == 0o600
    assert mode(recovery_dir()) == 0o700


def test_the_log_file_is_private(tmp_path: Path, umask: int) -> None:
    from editor.ui import crash

    logs = tmp_path / "logs"
    root = logging.getLogger()
    handlers = list(root.handlers)
    hook = sys.excepthook
    try:
        crash.install(logs)  # before: castline.log was 0644
    finally:
        for h in root.handlers[len(handlers):]:
            h.close()
            root.removeHandler(h)
        sys.excepthook = hook
    assert mode(logs / "castline.log") == 0o600
    assert mode(logs) == 0o700


async def test_rendered_takes_follow_the_umask_so_a_co_writer_can_play_them(
        tmp_path: Path, umask: int) -> None:
    """A take is hard-linked from the cache: the audio the client saves must not be 0600."""
    from editor.engine.project import keep_takes
    from editor.engine.takes import TakeStore
    from tests.support.engine_helpers import Rig, requests_for, running_sandbox, small_scene

    async with running_sandbox() as box:
        rig = Rig(box, tmp_path)
        requests = requests_for(small_scene(2))
        outcome = await rig.render(requests)
        await rig.aclose()
    store = TakeStore(tmp_path / "Scene.takes")
    takes = keep_takes(store, requests, outcome.paths, sandbox=True)  # type: ignore[attr-defined]
    assert takes
    for take in takes:
        path = store.path(take)
        assert path is not None and mode(path) == 0o666 & ~umask, oct(mode(path))
