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
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
    source: str  # "answer" | "alignment" | "silence" | "single"


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
            pieces.append(Piece(line_id, Path(name), round(start, 4), round(end, 4),
                                round(span.confidence, 3), span.uncertain, split.source))
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
                       "split": p.source}))
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

    group = store.add(request.line_keys, dict(zip(request.line_ids, request.texts, strict=False)),
                      request.body, request.key, audio, cost=float(request.cost), sandbox=sandbox,
                      activate=(activation(store, sandbox, key_of) if not cut
                                else lambda _line: False),
                      extra={"kind": "group"})
    if not cut:
        return [group]
    try:
        with tempfile.TemporaryDirectory(prefix="castline-pieces-") as tmp:
            pieces = cut_group(audio, request, Path(tmp), answer)
            return [group, *keep_pieces(store, request, group, pieces, sandbox=sandbox,
                                        activate=activation(store, sandbox, key_of))]
    except Exception as e:  # the group take still speaks every line
        log.warning("could not cut the dialogue of lines %s: %s", request.line_ids, e)
        store.set_active_many([i for i in request.line_ids
                               if activation(store, sandbox, key_of)(i)], group.id)
        return [group]
