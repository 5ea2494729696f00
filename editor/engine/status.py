"""Per-line render status (Qt-free): not rendered / changed / queued / rendering /
ready / failed, derived from the scene's takes, the cache and live render events.

A line is *ready* while a take (or cached audio) still matches what would be
sent now (model, voice, spoken text, stability, language); once any of those
change it is *changed*. Lookups are memoised per fingerprint, so painting a
table is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from editor.core.planner import line_key
from editor.core.scene import Event, Line, Phase, Scene, SceneError
from editor.engine.cache import AudioCache
from editor.engine.events import RenderEvent, Stage
from editor.engine.takes import Take, TakeStore


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
    take: Take | None = None  # the take that speaks the line (None: cached audio, or none)


_LIVE = {Stage.QUEUED: LineState.QUEUED, Stage.PAUSED: LineState.QUEUED,
         Stage.SUBMITTING: LineState.RENDERING,
         Stage.WAITING: LineState.RENDERING, Stage.RUNNING: LineState.RENDERING,
         Stage.DOWNLOADING: LineState.RENDERING}


class StatusBook:
    def __init__(self, scene: Scene, cache: AudioCache, takes: TakeStore | None = None, *,
                 sandbox: bool = False) -> None:
        self.scene = scene
        self.cache = cache
        self.takes = takes
        self.sandbox = sandbox
        self._rendered: dict[str, tuple[Fingerprint, Path]] = {}
        self._live: dict[str, tuple[Fingerprint, LineStatus]] = {}
        self._memo: dict[str, tuple[Fingerprint, Path | None]] = {}
        self._keys: dict[str, tuple[Fingerprint, str | None]] = {}
        self._revision = 0  # bumped by every scene change: a dialogue take depends on its neighbours
        self._take_memo: dict[str, tuple[Fingerprint, int, int, Take | None]] = {}
        # (take id, file) -> its audio if safe. A take's file never changes once recorded, so
        # this outlives new takes (a render adds many); forget_cached() clears it.
        self._take_paths: dict[tuple[str, str], Path | None] = {}
        scene.add_listener(self._on_scene_changed)

    def detach(self) -> None:
        self.scene.remove_listener(self._on_scene_changed)

    def _on_scene_changed(self, event: Event, phase: Phase) -> None:
        if phase == "after":
            self._revision += 1

    @property
    def revision(self) -> int:
        """Bumped by every change of the scene."""
        return self._revision

    def fingerprint(self, line: Line) -> Fingerprint:
        s = self.scene
        return (s.model, s.voice_of(line.speaker).strip(), s.spoken(line),
                s.effective_stability(line), s.effective_language(line))

    def line_key(self, line: Line) -> str | None:
        """The line's current key (None: nothing to speak)."""
        fp = self.fingerprint(line)
        memo = self._keys.get(line.id)
        if memo is not None and memo[0] == fp:
            return memo[1]
        key = line_key(self.scene, line) if fp[2].strip() else None
        self._keys[line.id] = (fp, key)
        return key

    def key_of(self, line_id: str) -> str | None:
        try:
            return self.line_key(self.scene.line_by_id(line_id))
        except SceneError:
            return None

    def take(self, line: Line) -> Take | None:
        """The take that speaks the line now (see :mod:`editor.engine.takes`)."""
        if self.takes is None:
            return None
        fp = self.fingerprint(line)
        memo = self._take_memo.get(line.id)
        if memo is not None and memo[:3] == (fp, self.takes.generation, self._revision):
            return memo[3]
        take = self.takes.resolve(line.id, self.key_of, sandbox=self.sandbox)
        self._take_memo[line.id] = (fp, self.takes.generation, self._revision, take)
        return take

    def status(self, line: Line) -> LineStatus:
        fp = self.fingerprint(line)
        live = self._live.get(line.id)
        if live is not None and live[0] == fp:
            return live[1]
        take = self.take(line)
        path = self._take_path(take)
        if take is not None and path is not None:
            return LineStatus(LineState.READY, 1.0, path=path, take=take)
        done = self._rendered.get(line.id)
        if done is not None and done[0] == fp:
            return LineStatus(LineState.READY, 1.0, path=done[1])
        path = self._cached_path(line, fp)
        if path is not None:
            return LineStatus(LineState.READY, 1.0, path=path)
        if done is not None or self.takes_of(line):
            return LineStatus(LineState.CHANGED)
        return LineStatus(LineState.NOT_RENDERED)

    def _take_path(self, take: Take | None) -> Path | None:
        """The take's audio if it is safe to use (see :meth:`TakeStore.path`; export checks
        again as it reads), memoised."""
        if take is None or self.takes is None:
            return None
        key = (take.id, take.file)
        if key not in self._take_paths:
            self._take_paths[key] = self.takes.path(take)
        return self._take_paths[key]

    def takes_of(self, line: Line) -> list[Take]:
        """The line's takes from this service (the sandbox's and the real one's stay apart)."""
        if self.takes is None:
            return []
        takes = [t for t in self.takes.takes_for(line.id) if t.sandbox == self.sandbox]
        # A dialogue's whole clip is listed only while none of its pieces speaks this line.
        cut = {t.group for t in takes if t.group}
        return [t for t in takes if not (t.is_group and t.id in cut)]

    def take_count(self, line: Line) -> int:
        return len(self.takes_of(line))

    def take_number(self, line: Line, take: Take) -> int:
        """1-based position of ``take`` among the line's takes (as the Takes panel lists them)."""
        ids = [t.id for t in self.takes_of(line)]
        return ids.index(take.id) + 1 if take.id in ids else 0

    def _cached_path(self, line: Line, fp: Fingerprint) -> Path | None:
        memo = self._memo.get(line.id)
        if memo is not None and memo[0] == fp:
            return memo[1]
        key = self.line_key(line)
        path = self.cache.get(key) if key is not None else None
        self._memo[line.id] = (fp, path)
        return path

    def forget_cached(self) -> None:
        """After the cache or the takes changed under us (another service, a new folder)."""
        self._memo.clear()
        self._take_memo.clear()
        self._take_paths.clear()

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
                # A line's own request depends only on the line: its audio stays good while
                # the line's fingerprint does. A dialogue request's audio also speaks its
                # neighbours, so it is good only as a take (which checks every line it speaks).
                if len(ids) == 1:
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
