"""Helpers for the voice-engine tests: a sandbox on loopback and a fast-polling client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from editor.core.planner import PlannedRequest, plan
from editor.core.scene import Scene
from editor.engine.cache import AudioCache
from editor.engine.client import PollPolicy, ServiceClient
from editor.engine.journal import Journal
from editor.engine.render import RenderEngine, RenderEvent
from editor.engine.sandbox import Sandbox

FAST = PollPolicy(first=0.05, factor=1.5, cap=0.2, jitter=0.1, deadline=30.0,
                  max_retry_wait=2.0)


def small_scene(n: int = 3) -> Scene:
    s = Scene(title="Engine test")
    s.insert_lines(0, [s.new_line("MARA" if i % 2 == 0 else "JONAS", f"Line number {i}, spoken.")
                       for i in range(n)])
    for name, voice in (("MARA", "Sarah"), ("JONAS", "George")):
        if name in s.cast:
            s.set_voice(name, voice)
    return s


@asynccontextmanager
async def running_sandbox(**kwargs: object) -> AsyncIterator[Sandbox]:
    kwargs.setdefault("latency", 0.15)
    kwargs.setdefault("use_espeak", False)
    box = Sandbox(**kwargs)  # type: ignore[arg-type]
    await box.start()
    try:
        yield box
    finally:
        await box.close()


class Rig:
    """A sandbox, a client on it, and an engine with its own cache and journal."""

    def __init__(self, box: Sandbox, root: Path, key: str | None = None) -> None:
        self.box = box
        self.root = root
        self.client = ServiceClient(box.base_url, key or box.key, policy=FAST)
        self.cache = AudioCache(root / "cache")
        self.journal = Journal(root / "state" / "journal.jsonl")
        self.engine = RenderEngine(self.client, self.cache, self.journal, jobs=4)
        self.events: list[RenderEvent] = []

    async def render(self, requests: list[PlannedRequest], **kw: object) -> object:
        return await self.engine.run(requests, self.events.append, **kw)  # type: ignore[arg-type]

    def fresh_engine(self) -> RenderEngine:
        """As a new process would see it: the journal re-read from disk."""
        self.journal = Journal(self.root / "state" / "journal.jsonl")
        self.engine = RenderEngine(self.client, self.cache, self.journal, jobs=4)
        return self.engine

    async def aclose(self) -> None:
        await self.client.aclose()


def requests_for(scene: Scene, mode: str = "lines") -> list[PlannedRequest]:
    return plan(scene, mode)
