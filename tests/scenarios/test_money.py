"""Never pay twice across processes and machines, and never re-send silently.

Each test runs real ``castline`` processes against a real ``castline sandbox`` on
loopback, in "paid" mode (the sandbox's address and key through the
environment, as a writer's test server would be), and counts what the service
was sent and charged.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from editor.core import sceneio
from editor.core.scene import Line, Scene
from editor.engine.takes import TakeStore, takes_dir_for
from tests.conftest import subprocess_env
from tests.support.processes import start_sandbox, stop, writer_pointed_at_a_sandbox


def stats(url: str, key: str) -> dict[str, object]:
    request = urllib.request.Request(url + "/_sandbox/stats",
                                     headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=5) as r:
        data: dict[str, object] = json.loads(r.read())
        return data


def scene_file(folder: Path, n: int = 6) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    scene = Scene(title="Money")
    scene.insert_lines(0, [Line(id=f"m{i}", speaker="ANA" if i % 2 else "BO",
                                text=f"Line number {i} of the money test, spoken plainly.")
                           for i in range(n)])
    scene.set_voice("BO", "Adam")
    if n > 1:
        scene.set_voice("ANA", "Rachel")
    path = folder / "money.castline"
    sceneio.save(scene, path)
    return path


@pytest.fixture
def service(isolated_dirs: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """A sandbox in its own process, and a writer's environment pointed at it."""
    with writer_pointed_at_a_sandbox("--latency", "1.0") as running:
        yield running


def castline(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "editor", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "editor", *args], env=env, capture_output=True,
                          text=True, timeout=180, check=False)


def test_two_renders_started_together_pay_once(tmp_path: Path,
                                               service: tuple[str, str, dict[str, str]]) -> None:
    url, key, env = service
    scene = scene_file(tmp_path / "project")
    procs = [castline(env, "render", str(scene), "-o", str(tmp_path / f"out{i}.wav"))
             for i in range(2)]
    results = [p.communicate(timeout=180) for p in procs]
    for p, (_out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
    s = stats(url, key)
    assert s["tasks_created"] == 6, s  # one charge per line, not two
    assert s["submits"] == 6, s
    # Both outputs are whole, and the project holds exactly one take per line.
    store = TakeStore(takes_dir_for(scene))
    assert store.damaged_records == 0
    assert sorted(len(store.takes_for(f"m{i}")) for i in range(6)) == [1] * 6
    for i in range(2):
        assert (tmp_path / f"out{i}.wav").stat().st_size > 1000


def test_a_moved_project_on_another_machine_pays_nothing(
        tmp_path: Path, service: tuple[str, str, dict[str, str]]) -> None:
    url, key, env = service
    scene = scene_file(tmp_path / "here")
    first = run(env, "render", str(scene), "-o", str(tmp_path / "a.wav"))
    assert first.returncode == 0, first.stderr
    assert stats(url, key)["tasks_created"] == 6
    # Mail the pair to a co-writer: another folder, another machine (no cache, no journal).
    there = tmp_path / "there"
    there.mkdir()
    shutil.copy2(scene, there / scene.name)
    shutil.copytree(takes_dir_for(scene), takes_dir_for(there / scene.name))
    other = tmp_path / "other-machine"
    env2 = {**env, "CASTLINE_CACHE_DIR": str(other / "cache"),
            "CASTLINE_STATE_DIR": str(other / "state")}
    cost = run(env2, "cost", str(there / scene.name), "--json")
    assert cost.returncode == 0, cost.stderr
    assert json.loads(cost.stdout)["modes"]["lines"]["credits_to_pay"] == 0
    second = run(env2, "render", str(there / scene.name), "-o", str(tmp_path / "b.wav"))
    assert second.returncode == 0, second.stderr
    assert "6 already in the project's takes" in second.stdout
    assert stats(url, key)["tasks_created"] == 6  # nothing paid again
    assert (tmp_path / "b.wav").stat().st_size > 1000


def test_a_render_keeps_the_writers_chosen_take(
        tmp_path: Path, service: tuple[str, str, dict[str, str]]) -> None:
    url, key, env = service
    scene = scene_file(tmp_path / "p", n=2)
    assert run(env, "render", str(scene), "-o", str(tmp_path / "a.wav")).returncode == 0
    store = TakeStore(takes_dir_for(scene))
    chosen = store.active_id("m0")
    assert chosen is not None
    # The writer edits m1 and renders "as dialogue": m0 and m1 go out in one request, whose
    # take speaks both. m0's chosen take still speaks it, so it stays chosen; m1's no longer
    # does, so the new take becomes m1's.
    s = sceneio.load(scene)
    s.lines[1].text += " Changed."
    sceneio.save(s, scene)
    done = run(env, "render", str(scene), "-o", str(tmp_path / "b.wav"), "--mode", "take")
    assert done.returncode == 0, done.stderr
    store = TakeStore(takes_dir_for(scene))
    assert store.active_id("m0") == chosen
    assert store.active_id("m1") not in (None, chosen)
    assert stats(url, key)["tasks_created"] == 3


def test_a_lost_answer_is_never_sent_again_without_being_asked(
        tmp_path: Path, isolated_dirs: Path) -> None:
    box, url, key = start_sandbox(subprocess_env(), "--fault", "submit:drop:1")
    env = subprocess_env(APIINONE_BASE_URL=url, APIINONE_API_KEY=key)
    try:
        scene = scene_file(tmp_path / "p", n=1)
        first = run(env, "render", str(scene), "-o", str(tmp_path / "a.wav"))
        assert first.returncode != 0
        assert "may already have been charged" in first.stderr
        assert "--resend-unknown" in first.stderr
        assert "render the line again" not in first.stderr  # that advice pays again
        assert stats(url, key)["tasks_created"] == 1
        # Running the same command again does not send it: it says so and exits non-zero.
        again = run(env, "render", str(scene), "-o", str(tmp_path / "a.wav"))
        assert again.returncode != 0
        assert "may already have been charged" in again.stderr
        assert stats(url, key)["submits"] == 1
        status = run(env, "status", str(scene), "--json")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["maybe_charged"] == [1]
        cost = run(env, "cost", str(scene), "--json")
        assert json.loads(cost.stdout)["modes"]["lines"]["maybe_charged_requests"] == 1
        # Knowingly: it is sent once more.
        third = run(env, "render", str(scene), "-o", str(tmp_path / "a.wav"), "--resend-unknown")
        assert third.returncode == 0, third.stderr
        assert "may be paid twice" in third.stderr
        assert stats(url, key)["submits"] == 2
        assert json.loads(run(env, "status", str(scene), "--json").stdout)["maybe_charged"] == []
    finally:
        stop(box)
