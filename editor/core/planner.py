"""Which requests a render sends: the exact bodies of CONTRACT §1.

``lines`` mode: one request per line. ``take`` mode: consecutive lines that
share effective stability and language go in one request, split between lines
so that no request exceeds the model's character or distinct-voice limit.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any

from editor.core.catalog import ModelInfo, model, request_cost
from editor.core.scene import Line, Scene


class Mode(StrEnum):
    LINES = "lines"
    TAKE = "take"


class PlanError(ValueError):
    """A scene that cannot be sent as it is (a line over the request limit...)."""


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    line_ids: tuple[str, ...]
    body: dict[str, Any]
    characters: int
    cost: Fraction
    texts: tuple[str, ...] = ()  # the writer's texts (the body holds the spoken ones)
    hashed: str = field(default="", compare=False, repr=False)  # the key, computed once

    @property
    def key(self) -> str:
        """Cache key: hash of what decides the audio (model, voices, texts, settings)."""
        return self.hashed or request_key(self.body)

    @property
    def line_keys(self) -> dict[str, str]:
        """Line id -> the key the line alone would have had when this was planned."""
        return {line_id: request_key({**self.body, "dialogue": [entry]})
                for line_id, entry in zip(self.line_ids, self.body["dialogue"], strict=True)}


def request_key(body: dict[str, Any]) -> str:
    decisive = {
        "model": body["model"],
        "dialogue": [[d.get("voice", ""), d["text"]] for d in body["dialogue"]],
        "stability": body["stability"],
        "language_code": body["language_code"],
    }
    blob = json.dumps(decisive, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


# How the text a line sends is derived from the writer's text: by default the
# scene's pronunciation dictionary (Scene.spoken); a caller may pass another.
SpokenText = Callable[[Line], str]


def line_entry(scene: Scene, line: Line, spoken: SpokenText | None = None) -> dict[str, str]:
    entry = {"text": (spoken or scene.spoken)(line)}
    voice = scene.voice_of(line.speaker).strip()
    if voice:
        entry["voice"] = voice
    return entry


def build_request(scene: Scene, lines: Sequence[Line], info: ModelInfo | None = None,
                  spoken: SpokenText | None = None) -> PlannedRequest:
    info = info or model(scene.model)
    spoken = spoken or scene.spoken
    dialogue = [line_entry(scene, ln, spoken) for ln in lines]
    chars = sum(len(d["text"]) for d in dialogue)
    body = {
        "model": scene.model,
        "dialogue": dialogue,
        "stability": scene.effective_stability(lines[0]),
        "language_code": scene.effective_language(lines[0]),
    }
    return PlannedRequest(tuple(ln.id for ln in lines), body, chars, request_cost(chars, info),
                          tuple(ln.text for ln in lines), request_key(body))


def line_key(scene: Scene, line: Line) -> str:
    """What decides one line's audio, hashed (the key of the line's own request)."""
    return build_request(scene, [line]).key


def check_line(scene: Scene, row: int, info: ModelInfo, spoken: SpokenText | None = None) -> None:
    line = scene.lines[row]
    n = len((spoken or scene.spoken)(line))
    if n > info.max_chars:
        raise PlanError(
            f"Line {row + 1} ({line.speaker or 'no speaker'}) has {n} characters; one request "
            f"takes at most {info.max_chars}. Split the line (Edit > Split) and render again.")


def settings_of(scene: Scene, line: Line) -> tuple[float, str]:
    return (scene.effective_stability(line), scene.effective_language(line))


def greedy_takes(scene: Scene, lines: Sequence[Line], start: int, info: ModelInfo,
                 stop_at: Callable[[int], bool] | None = None,
                 spoken: SpokenText | None = None) -> tuple[list[int], int]:
    """Greedy split of ``lines`` from ``start``: the rows where each take begins,
    and the row where the split stopped (``len(lines)`` when it ran to the end).

    Lines with nothing to speak are passed over: they join no take and split
    none. A locked line joins no take and ends the one before it (as :func:`plan`
    leaves it out and splits there). With ``stop_at``, it stops at the first new take start for which that
    answers True (a start the previous plan had too: from there on the plan
    cannot differ), so that an edit only re-plans the takes it can affect.
    """
    spoken = spoken or scene.spoken
    starts: list[int] = []
    chars = 0
    voices: set[str] = set()
    key: tuple[float, str] | None = None
    for r in range(start, len(lines)):
        line = lines[r]
        text = spoken(line)
        if not text.strip():
            continue
        if line.locked:
            key = None  # a locked line is never sent: the take before it ends there
            continue
        n = len(text)
        voice = scene.voice_of(line.speaker).strip()
        settings = settings_of(scene, line)
        fits = chars + n <= info.max_chars and len(voices | {voice}) <= info.max_voices
        if not starts or settings != key or not fits:
            if starts and stop_at is not None and stop_at(r):
                return starts, r
            starts.append(r)
            chars, voices, key = 0, set(), settings
        chars += n
        voices.add(voice)
    return starts, len(lines)


def take_boundaries(scene: Scene, lines: Sequence[Line], start: int, info: ModelInfo,
                    spoken: SpokenText | None = None) -> list[int]:
    """The rows of ``lines`` (from ``start``) where each take request begins."""
    return greedy_takes(scene, lines, start, info, spoken=spoken)[0]


def speakable(line: Line, spoken: SpokenText) -> bool:
    return bool(spoken(line).strip())


def plan(scene: Scene, mode: Mode | str = Mode.LINES, rows: Sequence[int] | None = None,
         spoken: SpokenText | None = None, *, include_locked: bool = False
         ) -> list[PlannedRequest]:
    """The requests a render of ``rows`` (default: all) sends, in scene order.

    Lines with nothing to speak are left out, and so are locked lines (their
    chosen take is final) unless ``include_locked``. In take mode, a selection
    is planned as the takes of its own consecutive stretches (empty lines
    between selected ones do not break a stretch; a locked line does): rows
    that are not selected are never sent.
    """
    info = model(scene.model)
    mode = Mode(mode)
    spoken = spoken or scene.spoken
    chosen = sorted(set(rows)) if rows is not None else list(range(len(scene.lines)))
    chosen = [r for r in chosen if speakable(scene.lines[r], spoken)
              and (include_locked or not scene.lines[r].locked)]
    for r in chosen:
        check_line(scene, r, info, spoken)
    if mode is Mode.LINES:
        return [build_request(scene, [scene.lines[r]], info, spoken) for r in chosen]
    requests: list[PlannedRequest] = []
    for block in _stretches(scene, chosen, spoken):
        lines = [scene.lines[r] for r in block]
        starts = take_boundaries(scene, lines, 0, info, spoken=spoken) + [len(block)]
        for a, b in itertools.pairwise(starts):
            requests.append(build_request(scene, lines[a:b], info, spoken))
    return requests


def _stretches(scene: Scene, rows: Sequence[int], spoken: SpokenText) -> list[list[int]]:
    out: list[list[int]] = []
    for r in rows:
        if out and all(not speakable(scene.lines[k], spoken) for k in range(out[-1][-1] + 1, r)):
            out[-1].append(r)
        else:
            out.append([r])
    return out
