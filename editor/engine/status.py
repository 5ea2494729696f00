"""Per-line render status (Qt-free): not rendered / changed / queued / rendering /
ready / failed, derived from what was rendered, the cache and live render events.

A line is *ready* while the audio it was rendered into still matches what would be
sent now (model, voice, text, stability, language); once any of those change it is
*changed*. Lookups are memoised per fingerprint, so painting a table is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from editor.core.planner import build_request
from editor.core.scene import Line, Scene
from editor.engine.cache import AudioCache
from editor.engine.events import RenderEvent, Stage


class LineState(StrEnum):
    NOT_RENDERED = "not rendered"
    CHANGED = "changed"
    QUEUED = "queued"
    RENDERING = "rendering"
    READY = "ready"
    FAILED = "failed"


Fingerprint = tuple[str, str, str, float, str]


@dataclass(frozen=True, slots=True)
class LineStatus:
    state: LineState
    progress: float | None = None
    error: str | None = None
    path: Path | None = None


_LIVE = {Stage.QUEUED: LineState.QUEUED, Stage.SUBMITTING: LineState.RENDERING,
         Stage.WAITING: LineState.RENDERING, Stage.RUNNING: LineState.RENDERING,
         Stage.DOWNLOADING: LineState.RENDERING}


class StatusBook:
    def __init__(self, scene: Scene, cache: AudioCache) -> None:
        self.scene = scene
        self.cache = cache
        self._rendered: dict[str, tuple[Fingerprint, Path]] = {}
        self._live: dict[str, tuple[Fingerprint, LineStatus]] = {}
        self._memo: dict[str, tuple[Fingerprint, Path | None]] = {}

    def fingerprint(self, line: Line) -> Fingerprint:
        s = self.scene
        return (s.model, s.voice_of(line.speaker).strip(), line.text,
                s.effective_stability(line), s.effective_language(line))

    def status(self, line: Line) -> LineStatus:
        fp = self.fingerprint(line)
        live = self._live.get(line.id)
        if live is not None and live[0] == fp:
            return live[1]
        done = self._rendered.get(line.id)
        if done is not None and done[0] == fp:
            return LineStatus(LineState.READY, 1.0, path=done[1])
        path = self._cached_path(line, fp)
        if path is not None:
            return LineStatus(LineState.READY, 1.0, path=path)
        if done is not None:
            return LineStatus(LineState.CHANGED)
        return LineStatus(LineState.NOT_RENDERED)

    def _cached_path(self, line: Line, fp: Fingerprint) -> Path | None:
        memo = self._memo.get(line.id)
        if memo is not None and memo[0] == fp:
            return memo[1]
        path = self.cache.get(build_request(self.scene, [line]).key) if line.text.strip() else None
        self._memo[line.id] = (fp, path)
        return path

    def on_event(self, event: RenderEvent) -> list[str]:
        """Apply a render event; returns the line ids whose status changed."""
        ids = list(event.line_ids)
        for line_id in ids:
            try:
                line = self.scene.line_by_id(line_id)
            except ValueError:
                continue
            fp = self.fingerprint(line)
            if event.stage is Stage.READY and event.path is not None:
                self._rendered[line_id] = (fp, event.path)
                self._live.pop(line_id, None)
            elif event.stage is Stage.FAILED:
                self._live[line_id] = (fp, LineStatus(LineState.FAILED, error=str(event.error)))
            elif event.stage is Stage.CANCELLED:
                self._live.pop(line_id, None)
            elif event.stage in _LIVE:
                self._live[line_id] = (fp, LineStatus(_LIVE[event.stage], event.progress))
        return ids

    def forget_live(self) -> None:
        self._live.clear()

    def counts(self) -> dict[LineState, int]:
        out = dict.fromkeys(LineState, 0)
        for line in self.scene.lines:
            out[self.status(line).state] += 1
        return out
