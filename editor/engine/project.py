"""A scene on disk with its takes: the glue the command line and the editor share."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from editor.core.planner import PlannedRequest
from editor.core.scene import Line, Scene
from editor.engine.cache import AudioCache
from editor.engine.export import Resolve, Source
from editor.engine.status import LineState, StatusBook
from editor.engine.takes import KeyOf, Take, TakeStore

log = logging.getLogger(__name__)


def keep_take(store: TakeStore, request: PlannedRequest, audio: Path, *, sandbox: bool,
              key_of: KeyOf | None = None) -> Take:
    """Record a finished request as a take of its lines. It becomes a line's chosen take only
    where the line has no chosen take that still speaks it (a render never replaces the
    writer's choice); without ``key_of`` (nothing known of the scene now), everywhere."""

    def activate(line_id: str) -> bool:
        if key_of is None:
            return True
        current = store.active_id(line_id)
        take = store.get(current) if current is not None else None
        return take is None or take.sandbox != sandbox or not store.usable(take, key_of)

    return store.add(request.line_keys, dict(zip(request.line_ids, request.texts, strict=False)),
                     request.body, request.key, audio, cost=float(request.cost), sandbox=sandbox,
                     activate=activate)


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
        return Source(status.path, take.id, opener=lambda: store.open_audio(take))

    return resolve


def open_book(scene: Scene, takes: TakeStore | None, *, sandbox: bool) -> StatusBook:
    cache = AudioCache(namespace="sandbox" if sandbox else None)
    return StatusBook(scene, cache, takes, sandbox=sandbox)
