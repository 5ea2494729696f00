"""Never pay twice: resume after a cancel or a kill -9, and the assembled audio's length."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from editor.core import sceneio
from editor.engine.audio import assemble, decode, write
from editor.engine.render import Stage
from tests.conftest import subprocess_env
from tests.support.engine_helpers import Rig, requests_for, running_sandbox, small_scene
from tests.support.processes import start_render, start_sandbox, stats, stop
from tests.support.waiting import wait_until


async def test_cancelled_render_resumes_polling_instead_of_paying_again(tmp_path: Path) -> None:
    async with running_sandbox(latency=1.0) as box:
        rig = Rig(box, tmp_path)
        requests = requests_for(small_scene(4))
        task = asyncio.create_task(rig.render(requests))
        await wait_until(lambda: sum(1 for e in rig.events if e.stage is Stage.WAITING) >= 4,
                         30, "four requests waiting at the service")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert box.stats.tasks_created == 4
        assert any(e.stage is Stage.CANCELLED for e in rig.events)
        rig.fresh_engine()
        outcome = await rig.render(requests)
        await rig.aclose()
        assert outcome.ok and outcome.resumed == 4 and outcome.submitted == 0
        assert box.stats.tasks_created == 4


async def test_assembled_duration_is_clips_plus_gaps(tmp_path: Path) -> None:
    async with running_sandbox() as box:
        rig = Rig(box, tmp_path)
        requests = requests_for(small_scene(5))
        outcome = await rig.render(requests)
        await rig.aclose()
    clips = [decode(outcome.paths[r.key]) for r in requests]
    data, rate, placed = assemble(clips, 300)
    for fmt in (".wav", ".flac", ".mp3"):
        out = tmp_path / f"scene{fmt}"
        write(out, data, rate)
        back = decode(out)
        expected = sum(c.seconds for c in clips) + 4 * 0.3
        tolerance = 0.002 if fmt != ".mp3" else 0.08  # MP3 pads to whole frames
        assert abs(back.seconds - expected) < tolerance, (fmt, back.seconds, expected)
    # Each clip sits where the placements say, and the gaps are silent.
    for a, b in itertools.pairwise(placed):
        assert b.start == pytest.approx(a.start + a.duration + 0.3, abs=1 / rate)
        gap = data[int((a.start + a.duration) * rate) + 2:int(b.start * rate) - 2]
        assert np.abs(gap).max() == 0.0


def test_assemble_conforms_rate_and_channels() -> None:
    from editor.engine.audio import Clip

    mono = Clip(np.ones((22050, 1), np.float32) * 0.1, 22050)
    stereo = Clip(np.ones((44100, 2), np.float32) * 0.1, 44100)
    other = Clip(np.ones((44100, 2), np.float32) * 0.1, 44100)
    data, rate, placed = assemble([mono, stereo, other], [0, 500])
    assert rate == 44100 and data.shape[1] == 2
    assert len(data) == 44100 + 44100 + 22050 + 44100
    assert [round(p.duration, 3) for p in placed] == [1.0, 1.0, 1.0]


def test_write_failure_leaves_no_file(tmp_path: Path) -> None:
    from editor.engine.audio import ExportError

    data = np.zeros((100, 1), np.float32)
    with pytest.raises(ExportError, match=r"writes \.wav, \.flac or \.mp3"):
        write(tmp_path / "x.ogg", data, 22050)
    with pytest.raises(ExportError, match="Cannot write in"):
        write(tmp_path / "missing" / "x.wav", data, 22050)
    assert list(tmp_path.iterdir()) == []


# --- the real thing: processes, kill -9 -------------------------------------------------------



def submitted(journal: Path) -> int:
    try:
        return journal.read_text().count('"state": "submitted"')
    except FileNotFoundError:
        return 0






@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_mid_render_then_rerun_pays_nothing_twice(tmp_path: Path, isolated_dirs: Path,
                                                         seed: int) -> None:
    env = subprocess_env(CASTLINE_CACHE_DIR=str(isolated_dirs / f"c{seed}"),
                         CASTLINE_STATE_DIR=str(isolated_dirs / f"s{seed}"))
    box, url, key = start_sandbox(env, "--latency", "2")
    try:
        path, out, env, render = start_render(tmp_path, env, url, key, jobs=6)
        # Kill once some (seed 1) or all (seed 2) of the requests are recorded as submitted.
        want = 3 if seed == 1 else 6
        journal = isolated_dirs / f"s{seed}" / "journal.jsonl"
        deadline = time.monotonic() + 30
        while submitted(journal) < want and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(render.pid, signal.SIGKILL)
        render.wait(timeout=10)
        recorded = submitted(journal)
        assert recorded >= want
        charged = int(stats(url, key)["tasks_created"])
        assert not out.exists()  # nothing that looks complete

        from editor.engine.journal import Journal

        unknown = sum(1 for e in Journal(journal).open_entries() if e.state == "intent")
        again = subprocess.run([sys.executable, "-m", "editor", "render", str(path), "-o",
                                str(out)], env=env, capture_output=True, text=True, timeout=120,
                               check=False)
        # Every recorded request is resumed, not paid again. A request caught between its
        # intent and its task id may have been charged: it is not sent again unasked.
        assert stats(url, key)["tasks_created"] == charged
        if unknown:
            assert again.returncode != 0
            assert "may already have been charged" in again.stderr
            assert "--resend-unknown" in again.stderr
            again = subprocess.run([sys.executable, "-m", "editor", "render", str(path), "-o",
                                    str(out), "--resend-unknown"], env=env, capture_output=True,
                                   text=True, timeout=120, check=False)
            assert "may be paid twice" in again.stderr
        assert again.returncode == 0, again.stderr
        final = stats(url, key)
        assert final["tasks_created"] == charged + unknown
        assert recorded + unknown == 6
        assert "resumed" in again.stdout
        assert decode(out).seconds > 6 * 0.4
        assert final["auth_on_audio_host"] == 0
    finally:
        stop(box)


def test_render_cli_with_in_process_sandbox_reports_where_audio_went(sample_path: Path,
                                                                     tmp_path: Path) -> None:
    out = tmp_path / "ferry.mp3"
    p = subprocess.run([sys.executable, "-m", "editor", "render", str(sample_path), "-o", str(out),
                        "--sandbox", "--mode", "take"], capture_output=True, text=True,
                       env=subprocess_env(), timeout=180, check=False)
    assert p.returncode == 0, p.stderr
    assert f"Wrote {out}" in p.stdout and "sandbox" in p.stdout
    assert decode(out).seconds > 5


def test_cli_never_resends_a_request_that_may_have_been_charged_unasked(
        sample_path: Path, tmp_path: Path, isolated_dirs: Path) -> None:
    from editor.core.planner import plan
    from editor.engine.journal import Journal

    env = subprocess_env()
    box, url, key = start_sandbox(env)
    try:
        first = plan(sceneio.load(sample_path))[0]
        Journal(isolated_dirs / "state" / "journal.jsonl").intent(url, first.key)
        env = {**env, "APIINONE_BASE_URL": url, "APIINONE_API_KEY": key}
        p = subprocess.run([sys.executable, "-m", "editor", "render", str(sample_path), "-o",
                            str(tmp_path / "o.wav")], env=env, capture_output=True, text=True,
                           timeout=120, check=False)
        assert p.returncode == 1, p.stderr
        assert "may already have been charged" in p.stderr
        assert "lines 1:" in p.stderr and "--resend-unknown" in p.stderr
        assert not (tmp_path / "o.wav").exists()
        assert stats(url, key)["tasks_created"] == 9  # every other line, and not line 1
        p = subprocess.run([sys.executable, "-m", "editor", "render", str(sample_path), "-o",
                            str(tmp_path / "o.wav"), "--resend-unknown"], env=env,
                           capture_output=True, text=True, timeout=120, check=False)
        assert p.returncode == 0, p.stderr
        assert stats(url, key)["tasks_created"] == 10
    finally:
        stop(box)
