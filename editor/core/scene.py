"""The scene: plain Python, no Qt.

A scene is a title, a model, scene-wide stability and language, an ordered cast
(speaker -> voice) and an ordered list of lines. Every operation the editor
needs is a method here; each tells its listeners what is about to change and
what did change (``phase`` "before" / "after"), so a Qt model can call
``beginInsertRows`` and friends at the right moments without owning the data.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from editor.core.catalog import DEFAULT_MODEL

LINE_FIELDS = ("speaker", "text", "stability", "language_code", "pause_after_ms", "locked")
SCENE_FIELDS = ("title", "model", "stability", "language_code", "gap_ms")
DEFAULT_STABILITY = 0.5
DEFAULT_LANGUAGE = "auto"
DEFAULT_GAP_MS = 300
MAX_PAUSE_MS = 60_000

Phase = Literal["before", "after"]


# --- text at the door -------------------------------------------------------------------------
# What a scene may hold: no lone surrogates (they cannot be written as UTF-8) and no control
# characters (C0, DEL, C1), except tab and line breaks in a line's text. Bidi embedding,
# override and isolate controls are legitimate in right-to-left text but can make a line
# display in another order than it is spoken: they are let through with a warning.

_BAD_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_IN_NAME = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def describe_char(ch: str) -> str:
    """``U+0007 (a control character)`` and the like, for messages."""
    n = ord(ch)
    if 0xD800 <= n <= 0xDFFF:
        what = "half of a surrogate pair, not a character"
    elif n in (0x09, 0x0A, 0x0D):
        what = "a tab or line break, not allowed here"
    elif n <= 0x1F or 0x7F <= n <= 0x9F:
        what = "a control character"
    elif _BIDI.match(ch):
        what = "a bidi control, which can make text display in another order than it is read"
    else:
        what = "a character"
    return f"U+{n:04X} ({what})"


def bad_char(text: str, *, multiline: bool = False) -> int | None:
    """Where the first character the door refuses is in ``text`` (``multiline``: tab and line
    breaks are fine, as in a line's text), or None."""
    m = (_BAD_IN_TEXT if multiline else _BAD_IN_NAME).search(text)
    return m.start() if m else None


def surrogate_at(text: str) -> int | None:
    m = _SURROGATE.search(text)
    return m.start() if m else None


def bidi_at(text: str) -> int | None:
    m = _BIDI.search(text)
    return m.start() if m else None


def clean_text(text: str, *, multiline: bool = False, surrogates_only: bool = False) -> str:
    """``text`` as the door would let it in: surrogate pairs joined, lone surrogates and
    control characters replaced by U+FFFD (visible, never silently dropped)."""
    if _SURROGATE.search(text):
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if surrogates_only:
        return text
    return (_BAD_IN_TEXT if multiline else _BAD_IN_NAME).sub("\ufffd", text)


@dataclass(slots=True)
class Line:
    id: str
    speaker: str
    text: str
    stability: float | None = None  # None: the scene's value
    language_code: str | None = None  # None: the scene's value
    pause_after_ms: int | None = None  # silence after the line; None: the scene's gap
    locked: bool = False  # a locked line is never rendered (its chosen take is final)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys, kept verbatim


@dataclass(slots=True)
class CastMember:
    voice: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# --- change events -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LinesInserted:
    row: int
    count: int


@dataclass(frozen=True, slots=True)
class LinesRemoved:
    row: int
    count: int


@dataclass(frozen=True, slots=True)
class LinesReordered:
    """``order[i]`` is the old row of the line that ends up at row ``i``."""

    order: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class LinesChanged:
    rows: tuple[int, ...]
    fields: frozenset[str]


@dataclass(frozen=True, slots=True)
class CastChanged:
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SceneChanged:
    fields: frozenset[str]


Event = LinesInserted | LinesRemoved | LinesReordered | LinesChanged | CastChanged | SceneChanged
Listener = Callable[[Event, Phase], None]


class SceneError(ValueError):
    """An operation that cannot be done as asked (a bad row, a duplicate id...)."""


def check_stability(value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise SceneError(f"Stability must be a number from 0 to 1, not {value!r}.")
    return float(value)


def check_pause(value: int | None, *, nullable: bool = True) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PAUSE_MS:
        raise SceneError(f"A pause is a whole number of milliseconds from 0 to {MAX_PAUSE_MS}, "
                         f"not {value!r}.")
    return value


def check_pronunciations(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise SceneError("Pronunciations are a table of word -> spoken form.")
    out: dict[str, str] = {}
    for raw, said in value.items():
        if not isinstance(raw, str) or not isinstance(said, str):
            raise SceneError("Each pronunciation is a word and how to say it, both text.")
        word = raw.strip()
        if not word or "[" in word or "]" in word:
            raise SceneError(f"{raw!r} cannot be a dictionary word (empty, or with brackets).")
        out[word] = said
    return out


def check_language(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*|auto", value):
        raise SceneError(f"Language must be a code such as 'en' or 'auto', not {value!r}.")
    return value


_LINE_ID = re.compile(r"line-(\d+)\Z")


class Scene:
    def __init__(
        self,
        title: str = "Untitled scene",
        model: str = DEFAULT_MODEL,
        stability: float = DEFAULT_STABILITY,
        language_code: str = DEFAULT_LANGUAGE,
        cast: dict[str, CastMember] | None = None,
        lines: Iterable[Line] = (),
        extra: dict[str, Any] | None = None,
        gap_ms: int | None = None,
        pronunciations: dict[str, str] | None = None,
    ) -> None:
        self.title = title
        self.model = model
        self.stability: float = check_stability(stability)  # type: ignore[assignment]
        self.language_code: str = check_language(language_code)  # type: ignore[assignment]
        self.cast: dict[str, CastMember] = dict(cast or {})
        self.lines: list[Line] = []
        self.extra: dict[str, Any] = dict(extra or {})
        self.gap_ms: int | None = check_pause(gap_ms)  # None: the app's default gap
        self.pronunciations: dict[str, str] = check_pronunciations(pronunciations or {})
        self._say: re.Pattern[str] | None = None
        self._said: dict[str, str] = {}
        self._compile_pronunciations()
        self._listeners: list[Listener] = []
        self._ids: set[str] = set()
        self._next_number = 1
        self._rows: dict[str, int] | None = None
        for line in lines:
            self._adopt(line)
            self.lines.append(line)
        for line in self.lines:
            self.cast.setdefault(line.speaker, CastMember())

    def snapshot(self) -> Scene:
        """A copy of the scene as it is now, with no listeners, for reading elsewhere (a
        render plan computed on a worker thread while the writer goes on typing). Line ids
        are the same.

        Every value was checked when it entered this scene, so the copy is made without
        checking again: at episode size it is taken on the window's thread (3,000 lines in
        a few milliseconds, where re-adopting each line took 20-60)."""
        copy = Scene.__new__(Scene)
        copy.title, copy.model = self.title, self.model
        copy.stability, copy.language_code = self.stability, self.language_code
        copy.cast = {name: CastMember(m.voice, dict(m.extra)) for name, m in self.cast.items()}
        copy.lines = [Line(ln.id, ln.speaker, ln.text, ln.stability, ln.language_code,
                           ln.pause_after_ms, ln.locked, dict(ln.extra) if ln.extra else {})
                      for ln in self.lines]
        copy.extra = dict(self.extra)
        copy.gap_ms = self.gap_ms
        copy.pronunciations = dict(self.pronunciations)
        copy._say, copy._said = self._say, dict(self._said)
        copy._listeners = []
        copy._ids = set(self._ids)
        copy._next_number = self._next_number
        copy._rows = None
        return copy

    # --- listeners ---------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def _emit(self, event: Event, phase: Phase) -> None:
        if phase == "after" and not isinstance(event, LinesChanged | CastChanged | SceneChanged):
            self._rows = None
        for listener in list(self._listeners):
            listener(event, phase)

    # --- lookups -------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.lines)

    def row_of(self, line_id: str) -> int:
        if self._rows is None:
            self._rows = {line.id: i for i, line in enumerate(self.lines)}
        try:
            return self._rows[line_id]
        except KeyError:
            raise SceneError(f"No line with id {line_id!r}.") from None

    def line_by_id(self, line_id: str) -> Line:
        return self.lines[self.row_of(line_id)]

    def effective_stability(self, line: Line) -> float:
        return self.stability if line.stability is None else line.stability

    def effective_language(self, line: Line) -> str:
        return self.language_code if line.language_code is None else line.language_code

    def voice_of(self, speaker: str) -> str:
        member = self.cast.get(speaker)
        return member.voice if member else ""

    def pause_after(self, line: Line, default_gap_ms: int = DEFAULT_GAP_MS) -> int:
        """Silence after ``line``: its own pause, else the scene's gap, else the default."""
        if line.pause_after_ms is not None:
            return line.pause_after_ms
        return default_gap_ms if self.gap_ms is None else self.gap_ms

    # --- pronunciations ------------------------------------------------------------

    def _compile_pronunciations(self) -> None:
        words = sorted(self.pronunciations, key=len, reverse=True)
        self._said = {w.casefold(): s for w, s in self.pronunciations.items()}
        # An [audio tag] is matched first and kept as it is; dictionary words are matched
        # whole (not inside longer words), ignoring case.
        self._say = re.compile(
            r"(\[[^\]]*\])|(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")(?!\w)",
            re.IGNORECASE) if words else None

    def spoken(self, line: Line) -> str:
        """The text sent for ``line``: the writer's text with the dictionary applied."""
        say = self._say
        if say is None:
            return line.text
        return say.sub(self._replace_word, line.text)

    def _replace_word(self, m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return m.group(1)
        return self._said[m.group(2).casefold()]

    def set_pronunciations(self, table: dict[str, str]) -> dict[str, str]:
        """Replace the dictionary; returns the old one. Lines whose spoken text changes get
        a LinesChanged event with the field ``"spoken"`` (their scene text is untouched)."""
        table = check_pronunciations(table)
        old = self.pronunciations
        if table == old:
            return old
        before = [self.spoken(ln) for ln in self.lines]
        scene_event = SceneChanged(frozenset({"pronunciations"}))
        self._emit(scene_event, "before")
        self.pronunciations = dict(table)
        self._compile_pronunciations()
        rows = tuple(r for r, ln in enumerate(self.lines) if self.spoken(ln) != before[r])
        self._emit(scene_event, "after")
        if rows:
            change = LinesChanged(rows, frozenset({"spoken"}))
            self._emit(change, "before")
            self._emit(change, "after")
        return old

    def speaker_stats(self) -> dict[str, tuple[int, int]]:
        """Speaker -> (number of lines, characters), in cast order."""
        stats = {name: [0, 0] for name in self.cast}
        for line in self.lines:
            s = stats.setdefault(line.speaker, [0, 0])
            s[0] += 1
            s[1] += len(line.text)
        return {k: (v[0], v[1]) for k, v in stats.items()}

    # --- ids -----------------------------------------------------------------

    def new_id(self) -> str:
        while f"line-{self._next_number}" in self._ids:
            self._next_number += 1
        return f"line-{self._next_number}"

    def new_line(self, speaker: str = "", text: str = "", **settings: Any) -> Line:
        """A line with a fresh id, not yet in the scene."""
        line = Line(self.new_id(), speaker, text, **settings)
        self._next_number += 1
        return line

    def _adopt(self, line: Line) -> None:
        if not line.id:
            line.id = self.new_id()
        if line.id in self._ids:
            raise SceneError(f"Two lines share the id {line.id!r}.")
        check_stability(line.stability)
        check_language(line.language_code)
        check_pause(line.pause_after_ms)
        self._ids.add(line.id)
        m = _LINE_ID.match(line.id)
        if m:
            self._next_number = max(self._next_number, int(m.group(1)) + 1)

    def _check_rows(self, rows: Iterable[int]) -> list[int]:
        out = sorted(set(rows))
        for r in out:
            if not 0 <= r < len(self.lines):
                raise SceneError(f"Row {r} is outside the scene (0..{len(self.lines) - 1}).")
        return out

    # --- line operations -------------------------------------------------------

    def insert_lines(self, row: int, lines: Sequence[Line]) -> None:
        if not 0 <= row <= len(self.lines):
            raise SceneError(f"Cannot insert at row {row}.")
        if not lines:
            return
        seen: set[str] = set()
        for line in lines:
            if line.id in self._ids or line.id in seen:
                raise SceneError(f"Two lines share the id {line.id!r}.")
            seen.add(line.id)
        event = LinesInserted(row, len(lines))
        new_speakers = [ln.speaker for ln in lines if ln.speaker not in self.cast]
        self._emit(event, "before")
        for line in lines:
            self._adopt(line)
        self.lines[row:row] = lines
        self._emit(event, "after")
        self._ensure_cast(new_speakers)

    def delete_lines(self, rows: Iterable[int]) -> list[tuple[int, Line]]:
        """Remove the rows; returns ``(row, line)`` pairs in ascending order for undo."""
        ordered = self._check_rows(rows)
        removed = [(r, self.lines[r]) for r in ordered]
        for start, count in reversed(_blocks(ordered)):
            event = LinesRemoved(start, count)
            self._emit(event, "before")
            for line in self.lines[start:start + count]:
                self._ids.discard(line.id)
            del self.lines[start:start + count]
            self._emit(event, "after")
        return removed

    def restore_lines(self, removed: Sequence[tuple[int, Line]]) -> None:
        """Undo of :meth:`delete_lines`."""
        for start, count in _blocks([r for r, _ in removed]):
            block = [line for r, line in removed if start <= r < start + count]
            self.insert_lines(start, block)

    def reorder(self, order: Sequence[int]) -> None:
        if sorted(order) != list(range(len(self.lines))):
            raise SceneError("A reorder must name every row exactly once.")
        if list(order) == list(range(len(self.lines))):
            return
        event = LinesReordered(tuple(order))
        self._emit(event, "before")
        self.lines = [self.lines[i] for i in order]
        self._emit(event, "after")

    def move_lines(self, rows: Iterable[int], dest: int) -> list[int]:
        """Move the rows (in their order) so they stand before old row ``dest``.

        Returns the rows where the moved lines now stand. ``dest`` may be
        ``len(scene)`` to move to the end.
        """
        moving = self._check_rows(rows)
        if not 0 <= dest <= len(self.lines):
            raise SceneError(f"Cannot move to row {dest}.")
        moving_set = set(moving)
        staying = [i for i in range(len(self.lines)) if i not in moving_set]
        insert_at = sum(1 for i in staying if i < dest)
        order = staying[:insert_at] + moving + staying[insert_at:]
        self.reorder(order)
        return list(range(insert_at, insert_at + len(moving)))

    def move_up(self, rows: Iterable[int]) -> list[int]:
        ordered = self._check_rows(rows)
        if not ordered or ordered[0] == 0:
            return ordered
        return self.move_lines(ordered, ordered[0] - 1)

    def move_down(self, rows: Iterable[int]) -> list[int]:
        ordered = self._check_rows(rows)
        if not ordered or ordered[-1] == len(self.lines) - 1:
            return ordered
        return self.move_lines(ordered, ordered[-1] + 2)

    def duplicate_lines(self, rows: Iterable[int]) -> tuple[int, int]:
        """Copies of the rows go after the last of them; returns (first row, count)."""
        ordered = self._check_rows(rows)
        if not ordered:
            return (0, 0)
        copies = []
        for r in ordered:
            src = self.lines[r]
            line = self.new_line(src.speaker, src.text, stability=src.stability,
                                 language_code=src.language_code,
                                 pause_after_ms=src.pause_after_ms,
                                 extra=copy.deepcopy(src.extra))
            copies.append(line)
        at = ordered[-1] + 1
        self.insert_lines(at, copies)
        return (at, len(copies))

    def split_line(self, row: int, position: int) -> Line:
        """Split a line's text at ``position``; the rest becomes a new line after it."""
        (row,) = self._check_rows([row])
        line = self.lines[row]
        if not 0 < position < len(line.text):
            raise SceneError("Put the cursor inside the text to split the line there.")
        head, tail = line.text[:position].rstrip(), line.text[position:].lstrip()
        new = self.new_line(line.speaker, tail, stability=line.stability,
                            language_code=line.language_code)
        self.set_field([row], "text", head)
        self.insert_lines(row + 1, [new])
        return new

    def merge_with_next(self, row: int) -> tuple[str, Line]:
        """Join a line with the one after it; returns (old text, removed line) for undo."""
        (row,) = self._check_rows([row])
        if row + 1 >= len(self.lines):
            raise SceneError("The last line has no next line to merge with.")
        first, second = self.lines[row], self.lines[row + 1]
        old_text = first.text
        joined = " ".join(t for t in (first.text.rstrip(), second.text.lstrip()) if t)
        self.delete_lines([row + 1])
        self.set_field([row], "text", joined)
        return old_text, second

    def set_field(self, rows: Iterable[int], name: str, value: Any) -> list[Any]:
        """Set one field on many lines; returns the old values (row order) for undo."""
        return self.set_fields(rows, name, None, value)

    def set_fields(self, rows: Iterable[int], name: str, values: Sequence[Any] | None,
                   value: Any = None) -> list[Any]:
        """Set ``name`` on the rows, each to ``values[i]`` (paired with ``rows`` in the order
        given) or all to ``value``; returns the old values in ascending row order."""
        if name not in LINE_FIELDS:
            raise SceneError(f"Lines have no field {name!r}.")
        given = list(rows)
        if values is not None:
            if len(values) != len(given) or len(set(given)) != len(given):
                raise SceneError("One value per row is needed.")
            pairs = sorted(zip(given, values, strict=True), key=lambda p: p[0])
        else:
            pairs = [(r, value) for r in sorted(set(given))]
        ordered = self._check_rows(r for r, _ in pairs)
        new_values = [v for _, v in pairs]
        for v in new_values:
            if name == "stability":
                check_stability(v)
            elif name == "language_code":
                check_language(v)
            elif name == "pause_after_ms":
                check_pause(v)
            elif name == "locked":
                if not isinstance(v, bool):
                    raise SceneError(f"locked must be true or false, not {v!r}.")
            elif not isinstance(v, str):
                raise SceneError(f"{name} must be text, not {v!r}.")
        old = [getattr(self.lines[r], name) for r in ordered]
        changed = tuple(r for r, o, n in zip(ordered, old, new_values, strict=True) if o != n)
        if not changed:
            return old
        event = LinesChanged(changed, frozenset({name}))
        self._emit(event, "before")
        for r, v in zip(ordered, new_values, strict=True):
            setattr(self.lines[r], name, float(v) if name == "stability" and v is not None else v)
        self._emit(event, "after")
        if name == "speaker":
            self._ensure_cast([v for v in new_values if v])
        return old

    def set_text(self, row: int, text: str) -> str:
        return str(self.set_field([row], "text", text)[0])

    # --- cast ------------------------------------------------------------------

    def _ensure_cast(self, names: Iterable[str]) -> None:
        new = [n for n in dict.fromkeys(names) if n and n not in self.cast]
        if new:
            event = CastChanged(tuple(new))
            self._emit(event, "before")
            for n in new:
                self.cast[n] = CastMember()
            self._emit(event, "after")

    def add_cast(self, name: str, voice: str = "", index: int | None = None) -> None:
        name = name.strip()
        if not name:
            raise SceneError("A cast member needs a name.")
        if name in self.cast:
            raise SceneError(f"{name} is already in the cast.")
        items = list(self.cast.items())
        items.insert(len(items) if index is None else index, (name, CastMember(voice)))
        event = CastChanged((name,))
        self._emit(event, "before")
        self.cast = dict(items)
        self._emit(event, "after")

    def remove_cast(self, name: str) -> tuple[int, CastMember]:
        """Remove a speaker with no lines; returns (position, member) for undo."""
        if name not in self.cast:
            raise SceneError(f"{name} is not in the cast.")
        used = sum(1 for line in self.lines if line.speaker == name)
        if used:
            raise SceneError(f"{name} still speaks {used} line(s); reassign or delete them first.")
        index = list(self.cast).index(name)
        event = CastChanged((name,))
        self._emit(event, "before")
        member = self.cast.pop(name)
        self._emit(event, "after")
        return index, member

    def restore_cast(self, name: str, index: int, member: CastMember) -> None:
        items = list(self.cast.items())
        items.insert(index, (name, member))
        event = CastChanged((name,))
        self._emit(event, "before")
        self.cast = dict(items)
        self._emit(event, "after")

    def set_voice(self, name: str, voice: str) -> str:
        if name not in self.cast:
            raise SceneError(f"{name} is not in the cast.")
        old = self.cast[name].voice
        if old != voice:
            event = CastChanged((name,))
            self._emit(event, "before")
            self.cast[name].voice = voice
            self._emit(event, "after")
        return old

    def set_cast(self, cast: dict[str, CastMember]) -> dict[str, CastMember]:
        """Replace the whole cast (for undo); returns the previous one."""
        old = self.cast
        event = CastChanged(tuple(dict.fromkeys([*old, *cast])))
        self._emit(event, "before")
        self.cast = dict(cast)
        self._emit(event, "after")
        return old

    def rename_speaker(self, old: str, new: str) -> list[int]:
        """Rename a speaker in the cast and on every line; returns the rows renamed.

        Renaming onto an existing cast member merges the two (the existing
        member's voice is kept).
        """
        new = new.strip()
        if not new:
            raise SceneError("A speaker needs a name.")
        if old not in self.cast:
            raise SceneError(f"{old} is not in the cast.")
        if old == new:
            return []
        rows = [i for i, line in enumerate(self.lines) if line.speaker == old]
        event = CastChanged((old, new))
        self._emit(event, "before")
        if new in self.cast:
            del self.cast[old]
        else:
            self.cast = {(new if k == old else k): v for k, v in self.cast.items()}
        self._emit(event, "after")
        if rows:
            change = LinesChanged(tuple(rows), frozenset({"speaker"}))
            self._emit(change, "before")
            for r in rows:
                self.lines[r].speaker = new
            self._emit(change, "after")
        return rows

    # --- scene settings ------------------------------------------------------------

    def set_setting(self, name: str, value: Any) -> Any:
        if name not in SCENE_FIELDS:
            raise SceneError(f"Scenes have no setting {name!r}.")
        if name == "stability":
            if value is None:
                raise SceneError("The scene's stability cannot be empty.")
            value = check_stability(value)
        elif name == "language_code":
            if value is None:
                raise SceneError("The scene's language cannot be empty.")
            check_language(value)
        elif name == "gap_ms":
            check_pause(value)
        elif not isinstance(value, str):
            raise SceneError(f"{name} must be text.")
        old = getattr(self, name)
        if old != value:
            event = SceneChanged(frozenset({name}))
            self._emit(event, "before")
            setattr(self, name, value)
            self._emit(event, "after")
        return old


def _blocks(sorted_rows: Sequence[int]) -> list[tuple[int, int]]:
    """[2,3,4,7,8] -> [(2,3),(7,2)]: contiguous (start, count) runs of sorted rows."""
    blocks: list[tuple[int, int]] = []
    for r in sorted_rows:
        if blocks and blocks[-1][0] + blocks[-1][1] == r:
            blocks[-1] = (blocks[-1][0], blocks[-1][1] + 1)
        else:
            blocks.append((r, 1))
    return blocks
