"""Offline: detected once and fast, nothing charged, and (in the window) the queue waits and
goes on by itself when the network comes back. Real sockets on loopback throughout."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

from editor.engine.cache import AudioCache
from editor.engine.client import ServiceClient
from editor.engine.errors import NetworkDown
from editor.engine.events import Stage
from editor.engine.journal import Journal
from editor.engine.render import RenderEngine
from editor.engine.sandbox import Sandbox
from tests.support.engine_helpers import FAST, requests_for, small_scene


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_offline_the_command_line_fails_every_line_at_once_with_one_error(
        tmp_path: Path) -> None:
    port = free_port()  # nothing listens here: every connection is refused
    client = ServiceClient(f"http://127.0.0.1:{port}", "test-not-a-real-key-0000", policy=FAST)
    engine = RenderEngine(client, AudioCache(tmp_path / "c"), Journal(tmp_path / "j.jsonl"),
                          jobs=4)
    started = time.monotonic()
    outcome = await engine.run(requests_for(small_scene(24)))
    took = time.monotonic() - started
    await client.aclose()
    assert len(outcome.errors) == 24 and not outcome.paths
    errors = {str(e) for e in outcome.errors.values()}
    assert errors == {str(NetworkDown())}  # one plain error, in a writer's words
    assert "Can't reach" in errors.pop()
    # Found out once: a few connection attempts, not four per line.
    assert client.requests_sent <= 2 * 4, client.requests_sent
    assert not Journal(tmp_path / "j.jsonl").open_entries()  # nothing is "maybe charged"
    print(f"\noffline: 24 lines failed in {took:.2f} s after {client.requests_sent} attempts")


async def test_offline_the_window_waits_and_goes_on_when_the_network_returns(
        tmp_path: Path) -> None:
    port = free_port()
    box = Sandbox(latency=0.1, use_espeak=False, port=port)
    client = ServiceClient(f"http://127.0.0.1:{port}", box.key, policy=FAST)
    seen: list[object] = []
    engine = RenderEngine(client, AudioCache(tmp_path / "c"), Journal(tmp_path / "j.jsonl"),
                          jobs=4, pause_when_offline=True, on_offline=seen.append)
    events = []
    render = asyncio.create_task(engine.run(requests_for(small_scene(8)), events.append))
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert len(seen) == 1 and isinstance(seen[0], NetworkDown)  # told once, not per line
    assert any(e.stage is Stage.PAUSED for e in events)
    assert not render.done()
    await box.start()  # the network is back
    try:
        outcome = await asyncio.wait_for(render, 30)
    finally:
        await box.close()
        await client.aclose()
    assert outcome.ok and len(outcome.paths) == 8
    assert seen == [seen[0], None]  # and told once that it is back
    assert box.stats.tasks_created == 8  # each charged once
