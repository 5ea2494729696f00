"""The check before paying (Qt-free): what will go wrong if these lines are rendered now.

The editor's pre-render dialog and ``castline render`` / ``castline export
--missing render`` ask :func:`check` and only present its answer. Each
:class:`Problem` names the rows it is about, says it in a writer's words and
suggests a fix (:class:`Fix`), which the window turns into an action and the
command line into advice. Locked lines are never rendered, so they are never
checked.

What is checked:

- a character with no voice (the service would speak it in its default voice);
- empty lines (nothing to send: they are left out of the render and get no audio);
- a line over the per-request character limit (the service cannot take it whole;
  the render refuses it even when forced);
- audio tags that are not among v3's known tags (``resources/audio_tags.json``;
  an unknown tag may be spoken as words or ignored);
- a voice that matches no voice Castline knows (premade or the writer's own);
- a line whose language (its own or the scene's; ``auto`` never warns) the
  chosen voice may not speak, only where the voice library says which
  languages the voice speaks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from editor.core.catalog import UnknownModelError, audio_tags, language_names, model
from editor.core.planner import Mode
from editor.core.scene import Scene
from editor.core.voices import Voice, find, is_voice_id

TAG = re.compile(r"\[([^\[\]]*)\]")


class Kind(StrEnum):
    """In the order problems are listed: what stops a render first, then voices, then text."""

    TOO_LONG = "too_long"
    NO_VOICE = "no_voice"
    UNKNOWN_VOICE = "unknown_voice"
    LANGUAGE = "language"
    UNKNOWN_TAG = "unknown_tag"
    EMPTY_LINE = "empty_line"


class Fix(StrEnum):
    """What the window offers as "fix" (the command line says it in words)."""

    SET_VOICE = "set_voice"  # open the voice picker for ``speaker``
    DELETE_EMPTY = "delete_empty"  # delete the empty rows
    SPLIT_LINE = "split_line"  # go to the row and split it (Edit > Split)
    EDIT_TAG = "edit_tag"  # go to the first row with ``detail`` (the tag) selected
    PICK_VOICE = "pick_voice"  # open the voice picker for ``speaker``, searching ``detail``
    LANGUAGE_AUTO = "language_auto"  # set these rows' language to auto


# Rendering cannot go on past these even with "render anyway": the planner refuses them.
BLOCKING = frozenset({Kind.TOO_LONG})


@dataclass(frozen=True, slots=True)
class Problem:
    kind: Kind
    rows: tuple[int, ...]  # 0-based rows of the scene, ascending
    message: str  # the writer's words; names the lines (1-based) and the character
    fix: Fix
    speaker: str = ""  # the character it is about (no voice, unknown voice, language)
    detail: str = ""  # the tag, the voice text or the language code

    @property
    def blocking(self) -> bool:
        """True when even "render anyway" cannot send these lines."""
        return self.kind in BLOCKING

    def line(self) -> str:
        """One line for a terminal (the message: it names the lines already)."""
        return self.message


def rows_label(rows: Sequence[int]) -> str:
    """``Line 3`` / ``Lines 2, 4, 7`` / ``Lines 2–9`` (1-based) to begin a message."""
    numbers = [r + 1 for r in rows]
    if len(numbers) == 1:
        return f"Line {numbers[0]}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 3:
        return f"Lines {numbers[0]}–{numbers[-1]}"
    if len(numbers) > 12:
        return "Lines " + ", ".join(map(str, numbers[:12])) + f" and {len(numbers) - 12} more"
    return "Lines " + ", ".join(map(str, numbers))


def _tag_key(tag: str) -> str:
    return " ".join(tag.casefold().split())


def unknown_tags(text: str) -> list[str]:
    """The ``[tags]`` in ``text`` that are not among v3's known tags, as written."""
    known = {_tag_key(t) for t in audio_tags()}
    return [m.group(1) for m in TAG.finditer(text) if _tag_key(m.group(1)) not in known]


def _base(code: str) -> str:
    return code.split("-", maxsplit=1)[0].strip().lower()


def check(scene: Scene, rows: Iterable[int] | None = None, mode: Mode | str = Mode.LINES,
          own_voices: Sequence[Voice] = ()) -> list[Problem]:
    """What will go wrong rendering ``rows`` (default: every line) of ``scene`` in ``mode``.

    Locked lines are left out. Problems come in :class:`Kind`'s order, each kind by row, and
    each names its rows. ``mode`` is taken for the window's sake: today every check is the same
    in both modes (a single line over the limit cannot be sent either way).
    """
    Mode(mode)  # a bad mode is an error here as everywhere
    chosen = sorted(set(range(len(scene.lines)) if rows is None else rows))
    chosen = [r for r in chosen if 0 <= r < len(scene.lines) and not scene.lines[r].locked]
    spoken = {r: scene.spoken(scene.lines[r]) for r in chosen}
    speaking = [r for r in chosen if spoken[r].strip()]
    problems: list[Problem] = []

    by_speaker: dict[str, list[int]] = {}
    for r in speaking:
        by_speaker.setdefault(scene.lines[r].speaker, []).append(r)
    for speaker, srows in by_speaker.items():
        voice_text = scene.voice_of(speaker).strip()
        who = f"{rows_label(srows)} ({speaker or 'no speaker'})"
        it = "it" if len(srows) == 1 else "them"
        if not voice_text:
            problems.append(Problem(
                Kind.NO_VOICE, tuple(srows),
                f"{who}: no voice, so the service would speak {it} in its default voice. "
                f"Give {speaker or 'the lines a speaker and'} a voice in the Cast panel.",
                Fix.SET_VOICE, speaker))
            continue
        voice = find(voice_text, own_voices)
        if voice is None:
            what = "a voice id" if is_voice_id(voice_text) else "a voice"
            problems.append(Problem(
                Kind.UNKNOWN_VOICE, tuple(srows),
                f"{who}: the voice {voice_text!r} is not {what} Castline knows (ElevenLabs' "
                "premade voices or your own), so the service may refuse it or use another. "
                "Pick a voice from the list, or add it to your own voices.",
                Fix.PICK_VOICE, speaker, voice_text))
            continue
        if voice.languages:
            wrong: dict[str, list[int]] = {}
            for r in srows:
                lang = scene.effective_language(scene.lines[r])
                if lang != "auto" and _base(lang) not in {_base(c) for c in voice.languages}:
                    wrong.setdefault(lang, []).append(r)
            for lang, lrows in wrong.items():
                names = language_names()
                said = ", ".join(names.get(c, c) for c in voice.languages)
                problems.append(Problem(
                    Kind.LANGUAGE, tuple(lrows),
                    f"{rows_label(lrows)} ({speaker}): the voice {voice.name} is listed for "
                    f"{said}, not {names.get(lang, lang)} ({lang}), so it may sound wrong. Set "
                    "the lines to Auto-detect, or pick another voice.",
                    Fix.LANGUAGE_AUTO, speaker, lang))

    empty = tuple(r for r in chosen if not spoken[r].strip())
    if empty:
        one = len(empty) == 1
        problems.append(Problem(
            Kind.EMPTY_LINE, empty,
            f"{rows_label(empty)}: {'empty' if one else 'empty lines'}, so nothing is sent "
            f"for {'it' if one else 'them'} and the mix has no audio there. Delete "
            f"{'it' if one else 'them'} or write the line.", Fix.DELETE_EMPTY))

    try:
        limit: int | None = model(scene.model).max_chars
    except UnknownModelError:
        limit = None  # the render itself says the model is unknown
    if limit is not None:
        for r in speaking:
            n = len(spoken[r])
            if n > limit:
                problems.append(Problem(
                    Kind.TOO_LONG, (r,),
                    f"{rows_label([r])} ({scene.lines[r].speaker or 'no speaker'}): {n} "
                    f"characters, and one request takes at most {limit}. Split it (Edit > "
                    "Split): it cannot be sent as it is, not even with render anyway.",
                    Fix.SPLIT_LINE, scene.lines[r].speaker,
                    str(n)))

    tags: dict[str, list[int]] = {}
    for r in speaking:
        for tag in unknown_tags(scene.lines[r].text):
            rows_of = tags.setdefault(_tag_key(tag) or tag, [])
            if not rows_of or rows_of[-1] != r:
                rows_of.append(r)
    for key, trows in tags.items():
        shown = f"[{key}]" if key.strip() else "[] (empty brackets)"
        problems.append(Problem(
            Kind.UNKNOWN_TAG, tuple(trows),
            f"{rows_label(trows)}: {shown} is not one of v3's known audio tags, so it may be "
            "spoken aloud as words or ignored. Check the spelling (typing [ lists the known "
            "tags) or remove it.",
            Fix.EDIT_TAG, detail=key))

    # In Kind's order (what cannot be sent at all, voices, then text), each kind by row.
    order = list(Kind)
    problems.sort(key=lambda p: (order.index(p.kind), p.rows[0] if p.rows else -1))
    return problems


def report(problems: Sequence[Problem]) -> str:
    """The command line's text: a heading and one line per problem."""
    n = len(problems)
    head = (f"{n} problem{'s' if n != 1 else ''} found before sending anything; nothing was "
            "sent. Fix them, or add --force to render anyway:")
    return "\n".join([head] + [f"  - {p.line()}" for p in problems])
