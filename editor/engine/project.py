"""A scene on disk with its takes: the glue the command line and the editor share.

The one place that builds a render engine, opens the render journal, and says which lines
an export lacks and what rendering them costs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from editor.core.planner import Mode, PlanError, PlannedRequest
from editor.core.scene import Line, Scene
from editor.engine.cache import AudioCache, default_state_dir
from editor.engine.export import ExportPlan, Group, Resolve, Source, plan_export
from editor.engine.journal import Journal
from editor.engine.renderplan import RenderPlan, build_plan
from editor.engine.status import LineState, StatusBook
from editor.engine.takes import KeyOf, Take, TakeStore

if TYPE_CHECKING:  # the network stack loads when a render starts
    from editor.engine.client import ServiceClient
    from editor.engine.render import RenderEngine

log = logging.getLogger(__name__)


def activation(store: TakeStore, sandbox: bool, key_of: KeyOf | None) -> Callable[[str], bool]:
    """Whether a new take becomes a line's chosen take: only where the line has no chosen
    take that still speaks it (a render never replaces the writer's choice); without
    ``key_of`` (nothing known of the scene now), everywhere."""

    def activate(line_id: str) -> bool:
        if key_of is None:
            return True
        current = store.active_id(line_id)
        take = store.get(current) if current is not None else None
        return (take is None or take.is_group or take.sandbox != sandbox
                or not store.usable(take, key_of))

    return activate


def keep_take(store: TakeStore, request: PlannedRequest, audio: Path, *, sandbox: bool,
              key_of: KeyOf | None = None, cut: bool = True) -> Take:
    """Record a finished request as a take of its lines (see :func:`activation` for when it
    becomes their choice). A dialogue request is kept whole and cut into per-line takes
    (:mod:`editor.engine.grouptakes`); the group take is returned. With ``cut=False`` the
    group take is kept (speaking its lines) and the caller cuts it later, off its thread."""
    if len(request.line_ids) > 1:
        from editor.engine.grouptakes import keep_group

        return keep_group(store, request, audio, sandbox=sandbox, key_of=key_of, cut=cut)[0]
    return store.add(request.line_keys, dict(zip(request.line_ids, request.texts, strict=False)),
                     request.body, request.key, audio, cost=float(request.cost), sandbox=sandbox,
                     activate=activation(store, sandbox, key_of))


def keep_takes(store: TakeStore, requests: Sequence[PlannedRequest], paths: Mapping[str, Path],
               *, sandbox: bool, key_of: KeyOf | None = None) -> list[Take]:
    return [keep_take(store, r, paths[r.key], sandbox=sandbox, key_of=key_of)
            for r in requests if r.key in paths]


def resolver(book: StatusBook) -> Resolve:
    """Line -> its audio now (chosen take, else cached audio), for exports."""

    def resolve(line: Line) -> Source | None:
        status = book.status(line)
        if status.state is not LineState.READY or status.path is None:
            return None
        take, store = status.take, book.takes
        if take is None or store is None:
            return Source(status.path)  # the cache's own file
        # A take's audio is read through the takes folder's gate: no link is followed.
        group = None
        whole = store.get(take.group) if take.group else None
        span = take.span
        if whole is not None and span is not None and (whole_path := store.path(whole)):
            group = Group(Source(whole_path, whole.id, opener=lambda: store.open_audio(whole)),
                          tuple(whole.lines), span[0], span[1], take.uncertain)
        return Source(status.path, take.id, opener=lambda: store.open_audio(take), group=group)

    return resolve


def open_book(scene: Scene, takes: TakeStore | None, *, sandbox: bool,
              cache: AudioCache | None = None) -> StatusBook:
    cache = cache if cache is not None else AudioCache.for_service(sandbox)
    return StatusBook(scene, cache, takes, sandbox=sandbox)


def default_journal() -> Journal:
    """The per-user render journal every render (window or command line) writes."""
    return Journal(default_state_dir() / "journal.jsonl")


def render_engine(client: ServiceClient, cache: AudioCache, *, jobs: int = 4,
                  journal: Journal | None = None) -> RenderEngine:
    """The one place a render engine is built (the window's renders and voice samples, the
    command line's renders): the service's client, its cache, the journal."""
    from editor.engine.render import RenderEngine

    return RenderEngine(client, cache, journal if journal is not None else default_journal(),
                        jobs=jobs)


@dataclass(slots=True)
class MissingAudio:
    """An export's lines without audio, and what rendering them would take (the window's
    question and the command line's ``--missing`` both present this)."""

    layout: ExportPlan
    render_plan: RenderPlan | None  # None: nothing missing
    locked_rows: list[int]

    @property
    def rows(self) -> list[int]:
        return self.layout.missing

    @property
    def renderable(self) -> bool:
        return len(self.locked_rows) < len(self.rows)


def export_layout(scene: Scene, book: StatusBook) -> ExportPlan:
    return plan_export(scene, resolver(book))


def missing_audio(scene: Scene, book: StatusBook, mode: Mode | str, *,
                  journal: Journal | None = None, service: str = "") -> MissingAudio:
    """Where each line's audio is now, and for the lines that have none, the render plan
    that would give it to them (locked lines are never in it)."""
    layout = export_layout(scene, book)
    if not layout.missing:
        return MissingAudio(layout, None, [])
    locked = [r for r in layout.missing if scene.lines[r].locked]
    try:
        render_plan: RenderPlan | None = build_plan(scene, mode, book, layout.missing,
                                                    journal=journal, service=service)
    except PlanError:
        render_plan = None
    return MissingAudio(layout, render_plan, locked)
