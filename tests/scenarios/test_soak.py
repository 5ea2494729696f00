"""Soak: 500 lines through the render engine while the service misbehaves at random (seeded).

The sandbox runs in its own process, so the memory measured is the engine's alone. Slow (about
a minute): ``bash packaging/dev test -m slow``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import time
import urllib.request
from pathlib import Path

import pytest

from editor.core.planner import plan
from editor.core.scene import Scene
from editor.engine.cache import AudioCache
from editor.engine.client import ServiceClient
from editor.engine.errors import ServiceError
from editor.engine.journal import Journal
from editor.engine.render import RenderEngine
from tests.conftest import subprocess_env
from tests.support.engine_helpers import FAST
from tests.support.processes import start_sandbox, stats, stop

ROUNDS, PER_ROUND = 5, 100
FAULTS = [("submit", "429"), ("submit", "503"), ("submit", "500"), ("submit", "drop"),
          ("submit", "slow"), ("submit", "html"), ("poll", "500"), ("poll", "drop"),
          ("poll", "malformed"), ("poll", "html"), ("poll", "slow"), ("download", "404"),
          ("download", "truncated"), ("download", "undecodable"), ("download", "drop"),
          ("download", "503"), ("task", "fail")]
MAX_GROWTH_MB = 25.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def configure(url: str, key: str, faults: list[dict[str, object]]) -> None:
    body = json.dumps({"faults": faults}).encode()
    req = urllib.request.Request(url + "/_sandbox/config", data=body, method="POST",
                                 headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert json.loads(r.read())["ok"]


@pytest.mark.slow
async def test_soak_500_lines_with_random_faults(tmp_path: Path) -> None:
    rng = random.Random(20261124)
    box, url, key = start_sandbox(subprocess_env(), "--latency", "0.05")
    fds_before = open_fds()
    client = ServiceClient(url, key, policy=FAST)
    engine = RenderEngine(client, AudioCache(tmp_path / "cache"),
                          Journal(tmp_path / "state" / "journal.jsonl"), jobs=8)
    figures = []
    try:
        for n in range(ROUNDS):
            scene = Scene(title=f"Soak {n}")
            scene.insert_lines(0, [scene.new_line("MARA" if i % 2 else "JONAS",
                                                  f"Round {n}, line {i}: soak text {rng.random()}.")
                                   for i in range(PER_ROUND)])
            faults = [{"phase": p, "kind": k, "times": rng.randint(1, 4), "seconds": 0.1}
                      for p, k in rng.sample(FAULTS, 4)]
            configure(url, key, faults)
            requests = plan(scene)
            started = time.monotonic()
            outcome = await engine.run(requests)
            wall = time.monotonic() - started
            keys = {r.key for r in requests}
            # Every line ends rendered or failed with a reason; none is lost or left running.
            assert set(outcome.paths) | set(outcome.errors) == keys
            assert not set(outcome.paths) & set(outcome.errors)
            for error in outcome.errors.values():
                assert isinstance(error, ServiceError) and len(str(error)) > 20
                assert "Traceback" not in str(error) and key not in str(error)
            assert all(p.is_file() for p in outcome.paths.values())
            del outcome
            gc.collect()
            await asyncio.sleep(0)
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            assert not tasks, f"tasks left running: {tasks}"
            figures.append((n, wall, rss_mb(), open_fds(),
                            sum(1 for k in keys if engine.cache.get(k) is None)))
        served = stats(url, key)
    finally:
        await client.aclose()
        fds_after = open_fds()
        stop(box)
    print(f"\nsoak: {ROUNDS * PER_ROUND} lines, {served['tasks_created']:.0f} tasks created, "
          f"{served['submits']:.0f} submits")
    for n, wall, rss, fds, failed in figures:
        print(f"  round {n + 1}: {wall:5.1f} s, {failed:3d} failed (named), RSS {rss:6.1f} MB, "
              f"{fds} open files")
    growth = figures[-1][2] - figures[1][2]
    print(f"  RSS growth from round 2 to {ROUNDS}: {growth:+.1f} MB")
    assert growth < MAX_GROWTH_MB
    # No leaked sockets or files: the count goes up and down with the connections the client
    # keeps alive while it runs, never above its first round's, and back once it is closed.
    assert max(f[3] for f in figures[1:]) <= figures[0][3] + 2
    print(f"  open files: {fds_before} before the client, {fds_after} after it closed")
    assert fds_after <= fds_before + 2
    assert served["tasks_created"] <= ROUNDS * PER_ROUND  # never charged twice
