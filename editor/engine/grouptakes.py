"""Per-line takes from a dialogue render (issue 17): keep the performance, cut the lines.

A request sent "as dialogue" comes back as one clip speaking several lines. It is kept whole
as a *group* take, and :func:`cut_group` finds where each line starts and ends in it (the
service's segments when its answer has them, else the local aligner of
:mod:`editor.engine.split`) and writes each line's piece — from cut to cut, so each keeps its
share of the natural gap, with a 10 ms fade at every inner cut. :func:`keep_pieces` then
keeps every piece as a take of its line alone, linked to the group take (its id, its span in
the clip, the cut's confidence), so choosing, A/B, locking, per-line export and stems work as
for a line rendered alone, and editing one line of the group leaves the others' takes good.

:func:`cut_group` only reads and writes files and arrays, so it may run on a worker thread;
:func:`keep_pieces` writes the takes index and runs where the store lives.

A cut can be moved by hand (the Takes panel's cut editor): :func:`group_pieces` and
:func:`group_cuts` say where a group's cuts are now, :func:`recut_pieces` cuts the two lines
beside a cut again at the new point (files only: any thread) and :func:`keep_recut` keeps
them as new piece takes (``"split": "hand"``, confidence 1), chosen where the old ones were;
the old pieces stay, so choosing them again undoes it. :func:`recut` does both at once.

One line can be rendered again *in context* (with its neighbours as a short dialogue):
:func:`context_request` builds that request and :func:`keep_context` keeps the clip as a group
take chosen by no line (its neighbours' keys are marked so it can never speak for them) and
only that line's piece, not chosen either: the caller chooses it (undoably).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from editor.core.atomic import create_temp
from editor.core.planner import PlannedRequest
from editor.engine.takes import KeyOf, Take, TakeStore

log = logging.getLogger(__name__)

FADE_SECONDS = 0.010


@dataclass(frozen=True, slots=True)
class Piece:
    line_id: str
    path: Path  # a temporary WAV, moved into the takes folder by keep_pieces
    start: float  # seconds, in the group's clip
    end: float
    confidence: float
    uncertain: bool
    source: str  # "answer" | "alignment" | "silence" | "single" | "hand"
    extra: dict[str, Any] = field(default_factory=dict)  # kept in the take (the cut after it)


def _language(request: PlannedRequest) -> str:
    code = str(request.body.get("language_code") or "auto")
    return "en" if code in ("", "auto") else code.split("-", maxsplit=1)[0].lower()


def cut_group(audio: Path, request: PlannedRequest, temp_dir: Path,
              answer: Any = None) -> list[Piece]:
    """Each line's piece of a dialogue clip, as temporary WAV files in ``temp_dir``."""
    import soundfile

    from editor.engine.audio import decode
    from editor.engine.split import split_audio

    clip = decode(audio)
    dialogue = request.body["dialogue"]
    texts = [str(d.get("text", "")) for d in dialogue]
    voices = [str(d.get("voice", "")) for d in dialogue]
    split = split_audio(clip, texts, voices, answer=answer, language=_language(request))
    bounds = split.bounds()
    fade = max(1, round(FADE_SECONDS * clip.rate))
    pieces: list[Piece] = []
    temp_dir.mkdir(parents=True, exist_ok=True)
    try:
        for i, (line_id, (start, end)) in enumerate(zip(request.line_ids, bounds, strict=True)):
            a, b = round(start * clip.rate), round(end * clip.rate)
            data = np.array(clip.data[a:b], dtype=np.float32, copy=True)
            n = min(fade, len(data) // 2)
            if n:
                ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
                if i > 0:
                    data[:n] *= ramp
                if i < len(bounds) - 1:
                    data[-n:] *= ramp[::-1]
            fd, name = create_temp(temp_dir, ".piece-", ".wav")
            with open(fd, "wb", closefd=True) as f:
                soundfile.write(f, data, clip.rate, format="WAV", subtype="PCM_16")
            span = split.lines[i]
            after = split.cuts[i] if i < len(split.cuts) else None
            pieces.append(Piece(line_id, Path(name), round(start, 4), round(end, 4),
                                round(span.confidence, 3), span.uncertain, split.source,
                                {} if after is None else {"end_cut": {
                                    "confidence": round(after.confidence, 3),
                                    "uncertain": after.uncertain}}))
    except BaseException:
        for piece in pieces:
            with contextlib.suppress(OSError):
                piece.path.unlink()
        raise
    return pieces


def keep_pieces(store: TakeStore, request: PlannedRequest, group: Take, pieces: Sequence[Piece],
                *, sandbox: bool, activate: Callable[[str], bool]) -> list[Take]:
    """Keep each piece as a take of its line alone, linked to ``group``; the temporary files
    go (the takes folder holds its own copy)."""
    texts = dict(zip(request.line_ids, request.texts, strict=False))
    keys = request.line_keys
    total = sum(max(1, len(t)) for t in texts.values()) or 1
    kept: list[Take] = []
    try:
        for p in pieces:
            share = float(request.cost) * max(1, len(texts.get(p.line_id, ""))) / total
            kept.append(store.add(
                {p.line_id: keys[p.line_id]}, {p.line_id: texts.get(p.line_id, "")},
                request.body, request.key, p.path, cost=share, sandbox=sandbox,
                activate=activate,
                extra={"group": group.id, "start": p.start, "end": p.end,
                       "confidence": p.confidence, "uncertain": p.uncertain,
                       "split": p.source, **p.extra}))
    finally:
        for p in pieces:
            with contextlib.suppress(OSError):
                p.path.unlink()
    return kept


def keep_group(store: TakeStore, request: PlannedRequest, audio: Path, *, sandbox: bool,
               key_of: KeyOf | None = None, answer: Any = None, cut: bool = True) -> list[Take]:
    """Keep a dialogue clip whole and as per-line pieces (all on this thread: the command
    line). Returns the group take, then the pieces. A clip that cannot be cut stays a group
    take its lines share, as before. With ``cut=False`` only the group take is kept, chosen
    where :func:`~editor.engine.project.activation` says, until its pieces arrive."""
    from editor.engine.project import activation

    active = activation(store, sandbox, key_of)
    group = store.add(request.line_keys, dict(zip(request.line_ids, request.texts, strict=False)),
                      request.body, request.key, audio, cost=float(request.cost), sandbox=sandbox,
                      activate=active if not cut else lambda _line: False,
                      extra={"kind": "group"})
    if not cut:
        return [group]
    try:
        with tempfile.TemporaryDirectory(prefix="castline-pieces-") as tmp:
            pieces = cut_group(audio, request, Path(tmp), answer)
            return [group, *keep_pieces(store, request, group, pieces, sandbox=sandbox,
                                        activate=active)]
    except Exception as e:  # the group take still speaks every line
        log.warning("could not cut the dialogue of lines %s: %s", request.line_ids, e)
        store.set_active_many([i for i in request.line_ids if active(i)], group.id)
        return [group]


# --- moving a cut by hand ---------------------------------------------------------------------

HAND = "hand"
MIN_PIECE_SECONDS = 0.05  # a moved cut keeps at least this much of each line
CONTEXT_KEY = "context:"  # prefix of a neighbour's key in an in-context group take


@dataclass(frozen=True, slots=True)
class CutPoint:
    """The cut between line ``index`` and line ``index + 1`` of a group, where it is now."""

    index: int
    at: float
    confidence: float
    uncertain: bool
    hand: bool = False  # moved by hand


def group_pieces(store: TakeStore, group: Take) -> list[Take | None]:
    """Each line of ``group``'s piece now: the line's chosen take when it is a piece of this
    group, else its newest piece of it (None: the line has none, e.g. a neighbour in an
    in-context take)."""
    out: list[Take | None] = []
    for line_id in group.line_ids:
        mine = [t for t in store.takes_for(line_id)
                if t.group == group.id and t.span is not None and not store.is_deleted(t.id)]
        active = store.active_id(line_id)
        chosen = next((t for t in mine if t.id == active), None)
        out.append(chosen if chosen is not None else (mine[-1] if mine else None))
    return out


def group_cuts(pieces: Sequence[Take | None]) -> list[CutPoint]:
    """The cuts between neighbouring pieces (the end of one; where a side has no piece, the
    other side's edge). A cut is uncertain as the splitter said (``end_cut``), or, for takes
    cut before that was recorded, when both lines beside it are."""
    cuts: list[CutPoint] = []
    for i in range(len(pieces) - 1):
        a, b = pieces[i], pieces[i + 1]
        span_a = a.span if a is not None else None
        span_b = b.span if b is not None else None
        if span_a is None and span_b is None:
            continue
        at = span_a[1] if span_a is not None else span_b[0]  # type: ignore[index]
        info = a.extra.get("end_cut") if a is not None else None
        if isinstance(info, dict):
            conf = float(info.get("confidence", 1.0))
            unsure = bool(info.get("uncertain", False))
        else:
            sides = [p for p in (a, b) if p is not None]
            unsure = all(p.uncertain for p in sides)
            conf = min(float(p.extra.get("confidence", 1.0)) for p in sides)
        hand = bool(a is not None and isinstance(info, dict) and info.get("source") == HAND)
        cuts.append(CutPoint(i, at, conf, unsure, hand))
    return cuts


def _write(data: np.ndarray, rate: int, temp_dir: Path, fade_in: bool, fade_out: bool) -> Path:
    import soundfile

    data = np.array(data, dtype=np.float32, copy=True)
    n = min(max(1, round(FADE_SECONDS * rate)), len(data) // 2)
    if n:
        ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
        if fade_in:
            data[:n] *= ramp
        if fade_out:
            data[-n:] *= ramp[::-1]
    temp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = create_temp(temp_dir, ".piece-", ".wav")
    with open(fd, "wb", closefd=True) as f:
        soundfile.write(f, data, rate, format="WAV", subtype="PCM_16")
    return Path(name)


def clamp_cut(pieces: Sequence[Take | None], index: int, at: float, duration: float) -> float:
    """``at`` kept between the cuts (or clip edges) on either side of cut ``index``, with
    :data:`MIN_PIECE_SECONDS` of each line left."""
    a, b = pieces[index], pieces[index + 1]
    low = a.span[0] if a is not None and a.span else 0.0
    high = b.span[1] if b is not None and b.span else duration
    if high - low < 2 * MIN_PIECE_SECONDS:
        raise ValueError("the lines beside this cut are too short to move it")
    return min(max(at, low + MIN_PIECE_SECONDS), high - MIN_PIECE_SECONDS)


def recut_pieces(audio: Path, group: Take, pieces: Sequence[Take | None], index: int, at: float,
                 temp_dir: Path) -> list[Piece]:
    """Cut the lines beside cut ``index`` of ``group`` (its clip at ``audio``) again at ``at``
    seconds: the line before it now ends there, the one after starts there (each line that
    has a piece of this group). Temporary WAVs in ``temp_dir``; reads and writes files only."""
    from editor.engine.audio import decode

    clip = decode(audio)
    at = clamp_cut(pieces, index, at, clip.seconds)
    at = round(round(at * clip.rate) / clip.rate, 4)
    cuts = {c.index: c for c in group_cuts(pieces)}
    last = len(group.lines) - 1
    hand = {"confidence": 1.0, "uncertain": False, "source": HAND}
    out: list[Piece] = []
    try:
        for k in (index, index + 1):
            old = pieces[k]
            if old is None or old.span is None:
                continue
            start, end = old.span
            start, end = (start, at) if k == index else (at, end)
            moved = CutPoint(index, at, 1.0, False, True)
            before = moved if k == index + 1 else cuts.get(k - 1)
            after = moved if k == index else cuts.get(k)
            sides = [c for c in (before, after) if c is not None]
            extra: dict[str, Any] = {"recut_of": old.id}
            if k < last:
                if after is moved:
                    extra["end_cut"] = dict(hand)
                elif isinstance(old.extra.get("end_cut"), dict):
                    extra["end_cut"] = dict(old.extra["end_cut"])
            data = clip.data[round(start * clip.rate):round(end * clip.rate)]
            path = _write(data, clip.rate, temp_dir, k > 0, k < last)
            out.append(Piece(old.line_ids[0], path, start, end,
                             round(min((c.confidence for c in sides), default=1.0), 3),
                             any(c.uncertain for c in sides), HAND, extra))
    except BaseException:
        for piece in out:
            with contextlib.suppress(OSError):
                piece.path.unlink()
        raise
    return out


@dataclass(frozen=True, slots=True)
class Recut:
    """What :func:`keep_recut` did: per line, its old piece, its new one, and whether the new
    one is (or should be) the line's choice."""

    changes: tuple[tuple[str, str, str, bool], ...]  # line id, old take, new take, chosen

    @property
    def chosen(self) -> list[tuple[str, str, str]]:
        return [(line, old, new) for line, old, new, c in self.changes if c]


def keep_recut(store: TakeStore, group: Take, pieces: Sequence[Take | None],
               new: Sequence[Piece], *, activate: bool = True) -> Recut:
    """Keep recut pieces as new takes of their lines (the old pieces stay), each chosen where
    its old piece was the line's choice (or nothing was chosen); with ``activate=False`` the
    choice is left to the caller (an undo command), and :class:`Recut` says where."""
    old_of = {p.line_ids[0]: p for p in pieces if p is not None}
    changes: list[tuple[str, str, str, bool]] = []
    try:
        for p in new:
            old = old_of[p.line_id]
            chosen = store.active_id(p.line_id) in (old.id, None)

            def choose(_line: str, chosen: bool = chosen) -> bool:
                return chosen and activate

            take = store.add(dict(old.lines), dict(old.texts), dict(old.request), old.request_key,
                             p.path, cost=0.0, sandbox=old.sandbox,
                             activate=choose,
                             extra={"group": group.id, "start": p.start, "end": p.end,
                                    "confidence": p.confidence, "uncertain": p.uncertain,
                                    "split": p.source, **p.extra})
            changes.append((p.line_id, old.id, take.id, chosen))
    finally:
        for p in new:
            with contextlib.suppress(OSError):
                p.path.unlink()
    return Recut(tuple(changes))


def recut(store: TakeStore, group: Take, line_a: str, line_b: str, at: float) -> Recut:
    """Move the cut between ``line_a`` and ``line_b`` (neighbours in ``group``) to ``at``
    seconds of its clip, on this thread: two new piece takes, chosen where the old were."""
    ids = group.line_ids
    index = ids.index(line_a)
    if index + 1 >= len(ids) or ids[index + 1] != line_b:
        raise ValueError(f"{line_a} and {line_b} are not neighbours in {group.id}")
    audio = store.path(group)
    if audio is None:
        raise ValueError(f"the audio of {group.id} is missing")
    pieces = group_pieces(store, group)
    with tempfile.TemporaryDirectory(prefix="castline-recut-") as tmp:
        new = recut_pieces(audio, group, pieces, index, at, Path(tmp))
        return keep_recut(store, group, pieces, new)


# --- one line again, in context ------------------------------------------------------------------

def context_request(scene: Any, row: int) -> tuple[PlannedRequest, int] | None:
    """The request that speaks line ``row`` with its neighbours as a short dialogue: the
    previous and next lines with something to say, when unlocked and of the same stability
    and language; and the line's place in it. None when it has no such neighbour."""
    from editor.core.planner import build_request, settings_of

    lines = scene.lines
    line = lines[row]

    def near(step: int) -> Any:
        r = row + step
        while 0 <= r < len(lines) and not scene.spoken(lines[r]).strip():
            r += step
        if not 0 <= r < len(lines):
            return None
        other = lines[r]
        ok = not other.locked and settings_of(scene, other) == settings_of(scene, line)
        return other if ok else None

    prev, nxt = near(-1), near(1)
    chosen = [ln for ln in (prev, line, nxt) if ln is not None]
    if len(chosen) < 2:
        return None
    return build_request(scene, chosen), chosen.index(line)


def keep_context(store: TakeStore, request: PlannedRequest, audio: Path, pieces: Sequence[Piece],
                 line_id: str, *, sandbox: bool) -> tuple[Take, Take]:
    """Keep an in-context render: the clip as a group take no line chooses (a neighbour's
    key is marked, so it never speaks for a neighbour), and ``line_id``'s piece as a take of
    that line, not chosen (the caller chooses it). The other pieces' files go."""
    keys = {i: (k if i == line_id else CONTEXT_KEY + k) for i, k in request.line_keys.items()}
    mine = [p for p in pieces if p.line_id == line_id]
    try:
        if len(mine) != 1:
            raise ValueError(f"no piece of {line_id} in the context render")
        group = store.add(keys, dict(zip(request.line_ids, request.texts, strict=False)),
                          request.body, request.key, audio, cost=float(request.cost),
                          sandbox=sandbox, activate=lambda _i: False,
                          extra={"kind": "group", "context_for": line_id})
        piece = keep_pieces(store, request, group, mine, sandbox=sandbox,
                            activate=lambda _i: False)[0]
    finally:
        for p in pieces:
            with contextlib.suppress(OSError):
                p.path.unlink()
    return group, piece
