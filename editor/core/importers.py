"""Turn a screenplay or a script into scenes: Fountain, Final Draft, plain text, CSV/TSV.

What a caller (the CLI, the editor's import dialog) uses:

- :class:`ImportOptions` — how parentheticals, action and scene headings are taken, the CSV
  column mapping, the narrator's name…; every field has the writer-friendly default.
- :func:`preview` — what an import would bring in, without writing anything: the detected
  format, delimiter, headers and (guessed) column mapping, the source's first rows, the first
  lines as they would come in, the scenes, speakers, counts and warnings. It never raises for
  a bad file: the reason is in ``ImportPreview.error`` so a dialog can show it and let the
  writer change the mapping.
- :func:`import_script` — the scenes themselves (one per scene heading when split).
- :func:`import_file` — one scene, as before (the window and older callers).

The Fountain reader is our own (the PyPI parsers each got something wrong on real files: dual
dialogue, cues kept raw, headings taken for dialogue; see shared/TESTING.md). Final Draft files
are read by :mod:`editor.core.fdx` (no DTDs, no entities, bounded). Parentheticals become v3
audio tags through ``resources/parentheticals.json`` and the known tags of
``resources/audio_tags.json``; the others are kept as a note on the line, never spoken (unless
the writer asks for every one to be spoken). Lines keep what the scene format has no field for
as extra keys: ``note``, ``overlaps`` (dual dialogue), ``heading``, ``kind`` and, from a
spreadsheet, every column that is not mapped.

Every reader is linear in its input (no regex that can backtrack over a whole line, no
repeated string concatenation), and text is checked at the door as scene files are: a
control character or a lone surrogate in what would become a speaker or a line is refused,
naming the file's line and the field; bidi controls are let through with a warning. Form
feeds, vertical tabs and Unicode line/paragraph separators in a script are line breaks.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from editor.core.catalog import audio_tags
from editor.core.fdx import FdxError, Paragraph, read_paragraphs
from editor.core.scene import (
    Line,
    Scene,
    SceneError,
    bad_char,
    bidi_at,
    check_language,
    clean_text,
    describe_char,
)

MAX_IMPORT_BYTES = 32 * 1024 * 1024
NARRATOR = "NARRATOR"
PREVIEW_ROWS = 20
FORMATS = ("fountain", "fdx", "text", "csv")
SUFFIXES = {".fountain": "fountain", ".spmd": "fountain", ".fdx": "fdx", ".csv": "csv",
            ".tsv": "csv", ".tab": "csv", ".txt": "text", ".text": "text", "": "text"}
PARENTHETICALS = ("map", "spoken", "note")
ACTIONS = ("drop", "narrator")
SCENES = ("one", "split")
HEADINGS = ("note", "line", "drop")
MARKUP = ("keep", "strip")
ROLES = ("speaker", "text", "id", "emotion", "notes", "scene", "language", "stability")
DELIMITERS = (",", ";", "\t", "|")


class ImportError_(ValueError):
    """A source that cannot be imported; the message is for the writer."""


@dataclass(frozen=True, slots=True)
class DialogueBlock:
    speaker: str
    text: str
    line: int = field(default=0, compare=False)  # where it starts in the source (1-based)


class _Door:
    """Checks text as it comes in: refuses what a scene may not hold, naming the source's
    line and the field; collects warnings for what is let through (bidi controls)."""

    def __init__(self, source: str = "", warnings: list[str] | None = None, *,
                 active: bool = True) -> None:
        self.prefix = f"{source}, " if source else ""
        self.warnings = warnings
        self.active = active

    def check(self, text: str, line_no: int, field_name: str) -> None:
        if not self.active:
            return
        # Tabs are fine (the importers turn them into spaces where a scene wants no tab).
        at = bad_char(text, multiline=True)
        if at is not None:
            line_no += text.count("\n", 0, at)
            col = at - (text.rfind("\n", 0, at) + 1) + 1
            raise ImportError_(
                f"{self.prefix}line {line_no}, '{field_name}': {describe_char(text[at])} at "
                f"column {col}. Castline imports plain text only: remove it and import again.")
        if self.warnings is not None:
            at = bidi_at(text)
            if at is not None:
                line_no += text.count("\n", 0, at)
                self.warnings.append(f"{self.prefix}line {line_no}, '{field_name}': "
                                     f"{describe_char(text[at])}; check that it reads as "
                                     "intended.")


_BREAKS = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")


def _lines_of(text: str) -> str:
    """Every line break a script may use (a form feed is a page break) as ``\\n``."""
    return _BREAKS.sub("\n", text)




# --- options -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportOptions:
    """How a script comes in. The defaults are what a writer most often wants.

    - ``parentheticals``: ``"map"`` known ones become audio tags (``(whispering)`` ->
      ``[whispers]``), the rest a note on the line; ``"spoken"`` every one becomes a tag of
      its words (``(into phone)`` -> ``[into phone]``); ``"note"`` none is spoken. The same
      rule takes a spreadsheet's emotion column.
    - ``action``: ``"drop"``, or ``"narrator"``: action paragraphs become lines of
      ``narrator`` (extra key ``kind: "action"``).
    - ``scenes``: ``"one"`` scene, or ``"split"``: one scene per scene heading (titled with
      it), or per value of a spreadsheet's scene column.
    - ``headings`` (with ``scenes="one"``): ``"note"`` the heading is kept on the first line
      after it (extra key ``heading``); ``"line"`` it becomes a narrator line (``kind:
      "heading"``); ``"drop"``.
    - ``columns``: role -> column (its header, any case and spacing, or its 1-based number);
      roles are ``ROLES``. None or a missing role: guessed from the headers.
    - ``header``: whether the first row holds headers (None: guessed).
    - ``delimiter``: ``,`` ``;`` tab or ``|`` (None: sniffed).
    - ``speaker_in_text``: with no speaker column, ``Ship: Hey, friend.`` is spoken by Ship.
    - ``narrator``: who speaks action, headings-as-lines and lines with no speaker.
    - ``markup``: ``"strip"`` removes ``{b}``/``{color=…}`` display tags (Ren'Py) from the
      text; ``"keep"`` leaves them (a warning counts them).
    - ``format``: ``fountain``, ``fdx``, ``text`` or ``csv`` (None: by the file's suffix).
    """

    parentheticals: str = "map"
    action: str = "drop"
    scenes: str = "one"
    headings: str = "note"
    columns: dict[str, str] | None = None
    header: bool | None = None
    delimiter: str | None = None
    speaker_in_text: bool = True
    narrator: str = NARRATOR
    markup: str = "keep"
    format: str | None = None

    def checked(self) -> ImportOptions:
        for name, allowed in (("parentheticals", PARENTHETICALS), ("action", ACTIONS),
                              ("scenes", SCENES), ("headings", HEADINGS), ("markup", MARKUP)):
            if getattr(self, name) not in allowed:
                raise ImportError_(f"{name} is one of {', '.join(allowed)}, not "
                                   f"{getattr(self, name)!r}.")
        if self.format is not None and self.format not in FORMATS:
            raise ImportError_(f"format is one of {', '.join(FORMATS)}, not {self.format!r}.")
        if self.delimiter is not None and self.delimiter not in DELIMITERS:
            raise ImportError_("delimiter is one of , ; | or a tab.")
        for role in self.columns or {}:
            if role not in ROLES:
                raise ImportError_(f"{role!r} is not a column role; the roles are "
                                   f"{', '.join(ROLES)}.")
        narrator = " ".join(self.narrator.split())
        if not narrator or bad_char(narrator) is not None:
            raise ImportError_("The narrator needs a name (plain text).")
        return replace(self, narrator=narrator)


def parse_columns(spec: str) -> dict[str, str]:
    """``speaker=Character,text=Dialogue`` -> ``{"speaker": "Character", "text": "Dialogue"}``
    (the command line's ``--columns``); a clear error for anything else."""
    out: dict[str, str] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        role, eq, column = part.partition("=")
        role = role.strip().lower()
        if not eq or not column.strip():
            raise ImportError_(f"--columns takes role=column pairs separated by commas "
                               f"(speaker=Character,text=Dialogue), not {part.strip()!r}.")
        if role not in ROLES:
            raise ImportError_(f"{role!r} is not a column role; the roles are "
                               f"{', '.join(ROLES)}.")
        out[role] = column.strip()
    return out


# --- parentheticals -> audio tags ---------------------------------------------------------------

def _resource_json(name: str) -> Any:
    return json.loads(resources.files("editor.resources").joinpath(name).read_text("utf-8"))


_PARENS = _resource_json("parentheticals.json")
_KNOWN_TAGS = frozenset(audio_tags())
_TAG_FOR: dict[str, str] = {**{t: t for t in _KNOWN_TAGS}, **_PARENS["map"]}
_NOT_A_DIRECTION = frozenset(_PARENS["drop"])


def _paren_key(words: str) -> str:
    return " ".join(words.lower().replace("’", "'").split()).strip(".!…:").strip()


def _paren_inner(paren: str) -> str:
    inner = paren.strip()
    if inner.startswith("(") and inner.endswith(")"):
        inner = inner[1:-1]
    return " ".join(inner.replace("[", "").replace("]", "").split())


def parenthetical_tag(paren: str) -> str:
    """``(whispering)`` -> ``[whispers]``; anything else -> ``[its words]`` (every
    parenthetical spoken, the ``"spoken"`` choice)."""
    inner = _paren_inner(paren)
    tag = _TAG_FOR.get(_paren_key(inner))
    return f"[{tag or inner}]" if (tag or inner) else ""


def map_parenthetical(paren: str, how: str = "map") -> tuple[list[str], list[str]]:
    """(audio tags, notes) for a parenthetical or an emotion cell under the choice ``how``.

    ``map``: each comma- or semicolon-separated part that names a known direction becomes its
    tag (``(whispering, to Ben)`` -> ``[whispers]`` and the note ``to Ben``); ``(cont'd)`` and
    the like are neither. ``spoken``: one tag of the whole. ``note``: one note of the whole."""
    inner = _paren_inner(paren)
    if not inner or _paren_key(inner) in _NOT_A_DIRECTION:
        return [], []
    if how == "spoken":
        return [parenthetical_tag(inner)], []
    if how == "note":
        return [], [inner]
    tags: list[str] = []
    notes: list[str] = []
    for part in inner.replace(";", ",").split(","):
        words = part.strip()
        key = _paren_key(words)
        if not key or key in _NOT_A_DIRECTION:
            continue
        tag = _TAG_FOR.get(key)
        if tag is not None:
            tags.append(f"[{tag}]")
        else:
            notes.append(words)
    return tags, [", ".join(notes)] if notes else []


# --- screenplay elements (Fountain and Final Draft alike) --------------------------------------

@dataclass(slots=True)
class _Element:
    kind: str  # "speech", "action" or "heading"
    line: int  # where it starts in the source (1-based)
    speaker: str = ""
    extension: str = ""  # "V.O." of "MARA (V.O.)"
    # ("paren" | "words", text, source line): a speech's parentheticals and dialogue in order;
    # an action's or heading's text.
    parts: list[tuple[str, str, int]] = field(default_factory=list)
    overlaps_previous: bool = False  # dual dialogue: spoken over the speech before it


def _split_extension(s: str) -> tuple[str, str]:
    """``MARA (V.O.) (CONT'D)`` -> (``MARA``, ``V.O., CONT'D``) without ``CONT'D`` (linear)."""
    t = s.strip()
    if not t.endswith(")"):
        return t, ""
    i = t.find("(")
    if i < 0:
        return t, ""
    notes = [p.strip() for p in t[i:].replace(")", "(").split("(")]
    kept = [p for p in notes if p and _paren_key(p) not in _NOT_A_DIRECTION]
    return t[:i].strip(), ", ".join(kept)


# --- Fountain -----------------------------------------------------------------

_HEADING = re.compile(r"^(?:INT|EXT|EST|INT\.?/EXT|I/E)[. ]", re.IGNORECASE)
_TRANSITION = re.compile(r"^[A-Z0-9 .'\-]+TO:$")
_TITLE_KEY = re.compile(r"^[A-Za-z][A-Za-z ]*:")
_MARKS = re.compile(r"\\[*_]|\*+|_+")


def _strip_emphasis(text: str) -> str:
    """``*italic*``, ``**bold**``, ``***both***`` and ``_underline_`` lose their markers; a
    marker without a partner and an escaped ``\\*`` stay as written.

    One pass, linear in the line (the old fixed-point regex was quadratic in unpaired
    markers): a run of one to three ``*`` (or ``_``) opens when text follows it and closes
    the latest open run of the same kind when text precedes it.
    """
    if "*" not in text and "_" not in text:
        return text
    pieces: list[str] = []
    add = pieces.append
    open_at: dict[str, list[int]] = {}  # kind -> indexes in pieces of its open markers
    end = 0
    last = len(text) - 1
    for m in _MARKS.finditer(text):
        start = m.start()
        if start > end:
            add(text[end:start])
        end = m.end()
        run = m.group()
        if run[0] == "\\":
            add(run[1])  # escaped: the marker itself, never paired
            continue
        add(run)
        if len(run) > 3:
            continue
        stack = open_at.get(run)
        if stack and start and not text[start - 1].isspace():  # closes its kind's latest
            pieces[stack.pop()] = ""
            pieces[-1] = ""
        elif end <= last and not text[end].isspace():
            if stack is None:
                open_at[run] = stack = []
            stack.append(len(pieces) - 1)
    pieces.append(text[end:])
    return "".join(pieces)


def _remove_spans(text: str, start: str, end: str) -> str:
    out, i = [], 0
    while True:
        j = text.find(start, i)
        if j < 0:
            out.append(text[i:])
            break
        k = text.find(end, j + len(start))
        if k < 0:  # unclosed: the rest is inside it
            out.append(text[i:j])
            break
        # Keep the line structure so a note never glues two paragraphs together.
        out.append(text[i:j] + "\n" * text.count("\n", j, k))
        i = k + len(end)
    return "".join(out)


def _cue(line: str) -> tuple[str, bool] | None:
    """The speaker of a character cue (and whether it is dual dialogue), or None."""
    s = line.strip()
    dual = s.endswith("^")
    if dual:
        s = s[:-1].rstrip()
    if s.startswith("@"):
        name = s[1:].split("(", 1)[0].strip()  # str ops: a regex here backtracked
        return (name, dual) if name else None
    if s.startswith(("!", ".", ">", "~", "=", "#", "[[")) or _TRANSITION.match(s):
        return None
    name = _without_extension(s)  # extensions: (V.O.), (CONT'D), (on radio)
    if not name or "(" in name or not re.search(r"[^\W\d_]", name) or name != name.upper():
        return None
    if _HEADING.match(name) or name.endswith(":"):
        return None
    return name, dual


def _without_extension(s: str) -> str:
    """``NAME (V.O.)`` -> ``NAME``: a trailing parenthesised part goes (linear, unlike the
    regex that did this, which backtracked over runs of spaces)."""
    t = s.rstrip()
    if t.endswith(")"):
        i = t.find("(")
        if i >= 0:
            return t[:i].strip()
    return s.strip()


def _heading_text(s: str) -> str | None:
    """The scene heading a Fountain line is (scene number ``#12#`` dropped), or None."""
    if s.startswith(".") and len(s) > 1 and s[1] != ".":
        s = s[1:]
    elif not _HEADING.match(s):
        return None
    if s.endswith("#"):
        j = s.rfind("#", 0, len(s) - 1)
        if j > 0:
            s = s[:j]
    return " ".join(s.split())


def fountain_elements(text: str, door: _Door | None = None
                      ) -> tuple[str | None, list[_Element]]:
    """(title, speeches, action paragraphs and scene headings in order) of a Fountain
    screenplay. Transitions, centred marks, sections, synopses, lyrics, notes, boneyard and
    page breaks are not script."""
    door = door or _Door(active=False)  # the door is import_file's
    text = _lines_of(text).replace("\ufeff", "")
    text = _remove_spans(text, "/*", "*/")
    text = _remove_spans(text, "[[", "]]")
    raw = text.split("\n")

    title: str | None = None
    i = 0
    if raw and _TITLE_KEY.match(raw[0].strip()) and not _HEADING.match(raw[0].strip()):
        key = None
        while i < len(raw) and raw[i].strip():
            m = re.match(r"^([A-Za-z][A-Za-z ]*):\s*(.*)$", raw[i]) if not raw[i][:1].isspace() else None
            if m:
                key = m.group(1).lower()
                if key == "title" and m.group(2).strip():
                    door.check(m.group(2), i + 1, "title")
                    title = " ".join(_strip_emphasis(m.group(2)).split())
            elif key == "title" and title is None:
                door.check(raw[i], i + 1, "title")
                title = " ".join(_strip_emphasis(raw[i]).split())
            i += 1

    out: list[_Element] = []
    n = len(raw)
    while i < n:
        line = raw[i]
        s = line.strip()
        if not s:
            i += 1
            continue
        prev_blank = i == 0 or not raw[i - 1].strip()
        nxt = raw[i + 1] if i + 1 < n else ""
        cue = _cue(line) if prev_blank and nxt.strip() else None
        if cue is not None:
            speaker, dual = cue
            door.check(s, i + 1, "character cue")
            bare = s[:-1].rstrip() if s.endswith("^") else s
            speech = _Element("speech", i + 1, " ".join(speaker.split()),
                              _split_extension(bare.lstrip("@"))[1], overlaps_previous=dual)
            i += 1
            while i < n and (raw[i].strip() or raw[i] == "  "):
                p = raw[i].strip()
                if p.startswith("(") and p.endswith(")"):
                    door.check(p, i + 1, "parenthetical")
                    speech.parts.append(("paren", p, i + 1))
                elif p:
                    door.check(raw[i], i + 1, "dialogue")
                    speech.parts.append(("words", " ".join(_strip_emphasis(p).split()), i + 1))
                i += 1
            out.append(speech)
            continue
        heading = _heading_text(s) if prev_blank else None
        if heading is not None:
            out.append(_Element("heading", i + 1, parts=[("words", heading, i + 1)]))
            i += 1
            continue
        if (s.startswith(">") and not s.endswith("<")) or _TRANSITION.match(s) \
                or s.startswith(("#", "=", "~")):
            i += 1  # transition, section, synopsis, page break, lyric
            continue
        action = _Element("action", i + 1)
        while i < n and raw[i].strip():
            p = raw[i].strip()
            if p.startswith(">") and p.endswith("<"):
                p = p[1:-1].strip()
            elif p.startswith("!"):
                p = p[1:].strip()
            if p and not p.startswith(("#", "=", "~")):
                action.parts.append(("words", " ".join(_strip_emphasis(p).split()), i + 1))
            i += 1
        if action.parts:
            out.append(action)
    return title, out


def parse_fountain(text: str, door: _Door | None = None) -> tuple[str | None, list[DialogueBlock]]:
    """(title, dialogue blocks in order) of a Fountain screenplay, every parenthetical spoken
    as a tag (as Castline always did; :func:`import_script` offers the choices)."""
    title, elements = fountain_elements(text, door)
    blocks: list[DialogueBlock] = []
    for el in elements:
        if el.kind != "speech":
            continue
        parts = [parenthetical_tag(t) if kind == "paren" else t for kind, t, _n in el.parts]
        spoken = " ".join(p for p in parts if p)
        if spoken and not all(p.startswith("[") and p.endswith("]") for p in parts):
            blocks.append(DialogueBlock(el.speaker, spoken, el.line))
    return title, blocks


def fdx_elements(paragraphs: list[Paragraph], door: _Door) -> list[_Element]:
    """Final Draft paragraphs as screenplay elements. Acts, transitions, shots, cast lists and
    other paragraph types are not script."""
    out: list[_Element] = []
    speech: _Element | None = None
    duals_seen: set[int] = set()
    for p in paragraphs:
        kind = p.type.strip().lower()
        if kind in ("dialogue", "lyric", "parenthetical") and speech is not None:
            if kind == "parenthetical":
                door.check(p.text, p.line, "parenthetical")
                speech.parts.append(("paren", " ".join(p.text.split()), p.line))
            else:
                door.check(p.text, p.line, "dialogue")
                speech.parts.append(("words", " ".join(p.text.split()), p.line))
            continue
        speech = None
        if kind == "character":
            door.check(p.text, p.line, "character")
            name, extension = _split_extension(" ".join(p.text.split()))
            if not name:
                continue
            speech = _Element("speech", p.line, name, extension)
            if p.dual is not None:
                speech.overlaps_previous = p.dual in duals_seen
                duals_seen.add(p.dual)
            out.append(speech)
        elif kind in ("action", "general") and p.text.strip():
            out.append(_Element("action", p.line, parts=[("words", " ".join(p.text.split()),
                                                           p.line)]))
        elif kind == "scene heading" and p.text.strip():
            out.append(_Element("heading", p.line, parts=[("words", " ".join(p.text.split()),
                                                            p.line)]))
    return out


# --- plain text: NAME: line -------------------------------------------------------

_PLAIN = re.compile(r"^\s*([^\s:][^:]{0,40}?)\s*:\s*(.*)$")


def parse_plain(text: str, door: _Door | None = None) -> list[DialogueBlock]:
    door = door or _Door(active=False)  # the door is import_file's
    found: list[tuple[str, list[str], int]] = []  # speaker, text parts (joined once), line
    for n, line in enumerate(_lines_of(text).split("\n"), start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = _PLAIN.match(s)
        if m and m.group(2).strip():
            door.check(m.group(1), n, "speaker")
            door.check(m.group(2), n, "text")
            speaker = " ".join(_without_extension(m.group(1)).split())
            found.append((speaker, [m.group(2).strip()], n))
        elif found:  # a wrapped line continues the previous speaker's text
            door.check(s, n, "text")
            found[-1][1].append(s)
        else:
            raise ImportError_(
                f"Line {n} is not of the form 'NAME: what they say' ({s[:40]!r}). "
                "Each line of a plain-text script starts with the speaker and a colon.")
    return [DialogueBlock(speaker, " ".join(parts), n) for speaker, parts, n in found]


# --- CSV reading helpers ---

def _csv_records(text: str, dialect: type[csv.Dialect] | csv.Dialect
                 ) -> list[tuple[int, list[str]]]:
    """(first text line, cells) of each record. A quote that is never closed would make the
    rest of the file one cell: that is an error naming the line where the quote opened, as is
    a quoted cell running over several lines into text that is not CSV (a stray quote)."""
    def read(strict: bool) -> list[tuple[int, list[str]]]:
        reader = csv.reader(io.StringIO(text, newline=""), dialect, strict=strict,
                            doublequote=True)
        out: list[tuple[int, list[str]]] = []
        first = 1
        try:
            for row in reader:
                out.append((first, row))
                first = reader.line_num + 1
        except csv.Error as e:
            if not strict:
                raise ImportError_(f"The CSV file cannot be read ({e}).") from None
            at = reader.line_num
            opened = _quote_line(text, first, at, dialect)
            if "unexpected end of data" in str(e):
                raise ImportError_(
                    f"CSV line {opened}: the quote opened here is never closed, so every row "
                    "after it would become one cell. Close it, or write a quote inside a "
                    "quoted cell as two (\"\").") from None
            if at > first:
                raise ImportError_(
                    f"CSV line {opened}: the quote opened here ends on line {at} in the middle "
                    "of a cell, so the rows between would become one cell. Close it where the "
                    "cell ends, or write a quote inside a quoted cell as two (\"\").") from None
            raise _Lenient from None  # a stray quote within one line: read it as before
        return out

    try:
        return read(strict=True)
    except _Lenient:
        return read(strict=False)


class _Lenient(Exception):
    pass


def _quote_line(text: str, first: int, last: int, dialect: type[csv.Dialect] | csv.Dialect
                ) -> int:
    """The line (from ``first`` to ``last``) where the record's unclosed quoted cell opens:
    the last quote char at the start of a cell before the record ends."""
    lines = text.split("\n", last)[first - 1:last]
    q, d = dialect.quotechar or '"', dialect.delimiter
    opened = first
    inside = False
    for k, line in enumerate(lines):
        j = 0
        while j < len(line):
            c = line[j]
            if inside:
                if c == q:
                    if j + 1 < len(line) and line[j + 1] == q:
                        j += 1
                    else:
                        inside = False
            elif c == q and (j == 0 or line[j - 1] == d or line[:j].strip() == ""):
                inside, opened = True, first + k
            j += 1
    return opened


# --- CSV / TSV ----------------------------------------------------------------------------------
# A spreadsheet of lines: the delimiter is sniffed, a header row is recognised by its names, and
# each column gets a role (speaker, text, id, emotion, notes, scene, language, stability) from
# its header — any case and spacing, in several languages — or from the caller. Columns with no
# role are kept on each line as extra keys named by their header. With no header and no
# mapping, the columns are speaker,text[,stability,language] as Castline always read them.

_ALIASES: dict[str, tuple[str, ...]] = {
    "speaker": ("character", "charactername", "speaker", "speakername", "name", "actor", "role",
                "who", "persona", "figur", "sprecher", "sprecherin", "rolle", "charakter",
                "personnage", "locuteur", "rôle", "personaje", "hablante", "personaggio",
                "personagem", "personage", "spreker", "postać", "персонаж", "говорящий", "имя",
                "герой", "キャラクター", "キャラ", "話者", "角色", "说话人", "人物"),
    "text": ("dialogue", "dialog", "dialogueline", "line", "lines", "text", "translation",
             "speech", "utterance", "string", "subtitle", "content", "zeile", "übersetzung",
             "texte", "réplique", "traduction", "texto", "diálogo", "línea", "traducción",
             "testo", "battuta", "traduzione", "fala", "tradução", "tekst", "текст",
             "реплика", "диалог", "фраза", "перевод", "セリフ", "台詞", "テキスト", "台词",
             "对白", "文本"),
    "id": ("id", "identifier", "lineid", "dialogueid", "stringid", "key", "uid", "kennung",
           "identifiant", "identificador", "идентификатор"),
    "emotion": ("emotion", "emotions", "mood", "tone", "direction", "directions", "delivery",
                "parenthetical", "parentheticals", "performance", "stimmung", "regie",
                "regieanweisung", "émotion", "didascalie", "ton", "emoción", "tono", "acotación",
                "emozione", "emoção", "эмоция", "интонация", "ремарка", "感情", "情绪"),
    "notes": ("notes", "note", "comment", "comments", "remark", "remarks", "context",
              "description", "memo", "anmerkung", "anmerkungen", "kommentar", "notiz", "hinweis",
              "commentaire", "remarque", "nota", "notas", "comentario", "commento",
              "комментарий", "примечание", "заметка", "メモ", "备注", "注释"),
    "scene": ("scene", "scenename", "node", "szene", "scène", "escena", "scena", "сцена"),
    "language": ("language", "languagecode", "lang", "locale", "sprache", "langue", "idioma",
                 "lingua", "язык"),
    "stability": ("stability",),
}
_ALIAS_ROLE = {alias: role for role, names in _ALIASES.items() for alias in names}
_STABILITY_NAMES = {"creative": 0.0, "natural": 0.5, "robust": 1.0}
_RESERVED_KEYS = {"id", "speaker", "text", "stability", "language_code", "pause_after_ms",
                  "locked", "note", "overlaps", "heading", "kind"}
_TEXT_MARKUP = re.compile(r"\{\{|\{[^{}\n]{1,200}\}")
_SPACES = re.compile(" {2,}")
_BRACKETS = re.compile(r"\[([^\[\]\n]{1,60})\]")


def _norm(header: str) -> str:
    return "".join(ch for ch in header.casefold() if ch.isalnum())


def sniff_delimiter(text: str, prefer: str | None = None) -> str:
    """The delimiter of a spreadsheet text: the one of ``, ; TAB |`` that splits the first
    rows into the same number (two or more) of cells most consistently; ``prefer`` (a
    ``.tsv`` file's tab) wins a tie. ``,`` when none splits anything."""
    sample = text[:65536]
    best: tuple[float, int, int, str] | None = None
    order = {d: k for k, d in enumerate(("\t", ";", "|", ","))}
    for d in DELIMITERS:
        counts: list[int] = []
        try:
            for row in csv.reader(io.StringIO(sample, newline=""), delimiter=d, strict=False):
                if any(c.strip() for c in row):
                    counts.append(len(row))
                if len(counts) >= 50:
                    break
        except csv.Error:
            pass
        if not counts:
            continue
        modal = max(set(counts), key=lambda c: (counts.count(c), c))
        if modal < 2:
            continue
        score = (counts.count(modal) / len(counts), 1 if d == prefer else 0, modal, d)
        if best is None or score[:3] > best[:3] or (score[:3] == best[:3]
                                                       and order[d] < order[best[3]]):
            best = score
    return best[3] if best else ","


def _dialect(delimiter: str, quoting: int) -> type[csv.Dialect]:
    made: type[csv.Dialect] = type("_Dialect", (csv.excel,),
                                   {"delimiter": delimiter, "quoting": quoting})
    return made


@dataclass(slots=True)
class _Draft:
    """A line before it is in a scene."""

    speaker: str
    text: str
    line: int  # where it comes from in the source
    id: str = ""
    stability: float | None = None
    language: str | None = None
    extra: dict[str, Any] | None = None  # made when needed: a big spreadsheet has many lines
    notes: list[str] | None = None
    overlaps: int | None = None  # index in its scene of the line it is spoken over

    def keep(self, key: str, value: Any) -> None:
        if self.extra is None:
            self.extra = {}
        self.extra[key] = value

    def note(self, *notes: str) -> None:
        if self.notes is None:
            self.notes = []
        self.notes.extend(notes)


@dataclass(slots=True)
class _SceneDraft:
    title: str
    lines: list[_Draft] = field(default_factory=list)
    heading: str = ""


@dataclass(slots=True)
class _Read:
    """What a source turned out to be; filled as reading goes, so a preview can show the
    table and the mapping even when the import itself fails."""

    format: str = ""
    title: str = ""
    delimiter: str | None = None
    has_header: bool = False
    headers: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # role -> header (or column number)
    source_rows: list[list[str]] = field(default_factory=list)
    scenes: list[_SceneDraft] = field(default_factory=list)
    language: str | None = None  # the scene language, when every line shares one
    stats: dict[str, int] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    def count(self, key: str, n: int = 1) -> None:
        if n:
            self.stats[key] = self.stats.get(key, 0) + n


def _find_column(spec: str, headers: list[str], ncols: int) -> int | None:
    s = spec.strip()
    if s.isdigit():
        k = int(s) - 1
        return k if 0 <= k < max(ncols, len(headers)) else None
    want = _norm(s)
    for k, h in enumerate(headers):
        if _norm(h) == want:
            return k
    return None


def guess_columns(headers: list[str]) -> dict[str, str]:
    """Role -> header for the headers Castline recognises (``Character`` -> speaker,
    ``Dialogue`` -> text, ``Identifier`` -> id, ``Emotion`` -> emotion…)."""
    taken: dict[str, int] = {}
    normed = [_norm(h) for h in headers]
    for role, names in _ALIASES.items():
        for alias in names:
            k = next((k for k, h in enumerate(normed) if h == alias and k not in taken.values()),
                     None)
            if k is not None:
                taken[role] = k
                break
    return {role: headers[k] for role, k in taken.items()}


def _speaker_prefix(text: str) -> tuple[str, str] | None:
    """``Ship: Hey, friend.`` -> (``Ship``, ``Hey, friend.``) when the part before the colon
    looks like a name: at most four words of letters (and . ' -), nothing else."""
    i = text.find(":", 0, 42)
    if i <= 0 or i + 1 >= len(text) or not text[i + 1].isspace():
        return None
    name = " ".join(text[:i].split())
    rest = text[i + 1:].strip()
    if not rest or not name[:1].isalpha() or len(name.split()) > 4:
        return None
    if not all(ch.isalnum() or ch in " .'’-_" for ch in name):
        return None
    return name, rest


def _csv_read(text: str, name: str, options: ImportOptions, door: _Door, info: _Read,
              *, suffix: str = "", sample_rows: int = PREVIEW_ROWS) -> None:
    """Fill ``info`` with the scenes of a spreadsheet."""
    prefer = "\t" if suffix in (".tsv", ".tab") else None
    delimiter = options.delimiter or sniff_delimiter(text, prefer)
    info.format, info.delimiter = "csv", delimiter
    kind = "TSV" if delimiter == "\t" else "CSV"
    quoting = csv.QUOTE_MINIMAL
    if delimiter == "\t":
        # Ren'Py and most tools write TSV without quoting: a cell may start with a quote
        # ("[what]"). Read quotes as quotes when every line has the same number of tabs.
        tabs = {ln.count("\t") for ln in _lines_of(text).split("\n") if ln.strip()}
        if len(tabs) == 1:
            quoting = csv.QUOTE_NONE
    records = _csv_records(text, _dialect(delimiter, quoting))
    records = [(n, row) for n, row in records if any(c.strip() for c in row)]
    info.source_rows = [list(row) for _n, row in records[:sample_rows + 1]]
    if not records:
        return
    given = dict(options.columns or {})
    first = records[0][1]
    ncols = max(len(row) for _n, row in records[:200])
    header = options.header
    if header is None:
        given_names = {_norm(v) for v in given.values() if not v.strip().isdigit()}
        header = any(_norm(c) in _ALIAS_ROLE or _norm(c) in given_names for c in first)
    info.has_header = header
    headers = [" ".join(c.split()) for c in first] if header else []
    info.headers = headers
    col: dict[str, int] = {}
    for role, spec in given.items():
        k = _find_column(spec, headers, ncols)
        if k is None:
            shown = ", ".join(headers) if headers else f"1 to {ncols}"
            raise ImportError_(f"{name}: no column {spec!r} for the {role}; the columns are "
                               f"{shown}.")
        col[role] = k
    legacy = not header and not given
    if header:
        for role, h in guess_columns(headers).items():
            k = headers.index(h)
            if role not in col and k not in col.values():
                col[role] = k
        if "text" not in col:
            free = [k for k in range(len(headers)) if k not in col.values()]
            if len(free) == 1 and len(headers) == 2:
                col["text"] = free[0]
    elif legacy:
        col = {"speaker": 0, "text": 1}
        if ncols > 2:
            col["stability"] = 2
        if ncols > 3:
            col["language"] = 3
    info.columns = {role: (headers[k] if k < len(headers) else str(k + 1))
                    for role, k in sorted(col.items(), key=lambda rk: ROLES.index(rk[0]))}
    if "text" not in col:
        shown = ", ".join(headers) if headers else f"1 to {ncols}"
        raise ImportError_(f"{name}: which column holds the lines? None of {shown} is named "
                           "like one (Dialogue, Line, Text…): choose it (castline import "
                           "--columns text=NAME).")
    role_of = {k: role for role, k in col.items()}
    names: list[str] = []
    for k in range(ncols):
        h = headers[k] if k < len(headers) and headers[k] else f"column {k + 1}"
        if h in _RESERVED_KEYS or h in names:
            h = f"{h} (column {k + 1})"
        names.append(h)

    def cell(row: list[str], role: str) -> str:
        k = col.get(role, ncols)
        return row[k] if k < len(row) else ""

    scenes = info.scenes
    current: _SceneDraft | None = None
    seen_ids: set[str] = set()
    languages: set[str | None] = set()
    no_text: list[int] = []
    narrated = markup = 0
    brackets: dict[str, int] = {}
    for n, row in records:
        line_of = n
        for k, value in enumerate(row):
            door.check(value, line_of, role_of.get(k) or (names[k] if k < len(names)
                                                          else f"column {k + 1}"))
            line_of += value.count("\n")
        if header and n == records[0][0]:
            continue
        text = cell(row, "text").strip()
        if not text:
            if legacy:
                raise ImportError_(f"{kind} line {n}: expected 'speaker,text[,stability,"
                                   f"language]', got {','.join(c.strip() for c in row)[:60]!r}.")
            no_text.append(n)
            continue
        speaker = " ".join(cell(row, "speaker").split())
        if "speaker" not in col and options.speaker_in_text:
            split = _speaker_prefix(text)
            if split is not None:
                speaker, text = split
                info.count("speakers taken from the text")
        if not speaker:
            speaker = options.narrator
            narrated += 1
        if "{" in text and _TEXT_MARKUP.search(text):
            markup += 1
            if options.markup == "strip":
                text = _SPACES.sub(" ", _TEXT_MARKUP.sub(
                    lambda m: "{" if m.group() == "{{" else "", text)).strip()
        if "[" in text:
            for m in _BRACKETS.finditer(text):
                if m.group(1).strip().lower() not in _KNOWN_TAGS:
                    brackets[m.group()] = brackets.get(m.group(), 0) + 1
        d = _Draft(speaker, text, n)
        raw_id = " ".join(cell(row, "id").split())
        if raw_id:
            if raw_id in seen_ids:
                info.notices.append(f"{kind} line {n}: the id {raw_id!r} is used twice; this "
                                    "line gets a new one (the old is kept as 'source id').")
                d.keep("source id", raw_id)
            else:
                d.id = raw_id
                seen_ids.add(raw_id)
        emotion = cell(row, "emotion").strip()
        if emotion:
            tags, notes = map_parenthetical(emotion, options.parentheticals)
            if tags:
                d.text = " ".join(tags + [d.text])
                info.count("emotions as audio tags", len(tags))
            if notes:
                d.note(*notes)
                info.count("emotions kept as notes")
        note = " ".join(cell(row, "notes").split())
        if note:
            d.note(note)
        raw = cell(row, "stability").strip()
        if raw:
            low = raw.lower()
            try:
                number = _STABILITY_NAMES[low] if low in _STABILITY_NAMES else float(low)
            except ValueError:
                number = -1.0
            if not 0.0 <= number <= 1.0:
                raise ImportError_(f"{kind} line {n}: stability should be a number from 0 to 1 "
                                   f"(or Creative/Natural/Robust), not {raw!r}.")
            d.stability = number
        raw = cell(row, "language").strip()
        if raw:
            try:
                d.language = check_language(raw)
            except SceneError:
                raise ImportError_(f"{kind} line {n}: language should be a code such as 'en', "
                                   f"not {raw!r}.") from None
        languages.add(d.language)
        for k, value in enumerate(row):
            if k not in role_of and value.strip() and k < len(names):
                d.keep(names[k], value.strip())
        group = " ".join(cell(row, "scene").split())
        if options.scenes == "split" and "scene" in col:
            if current is None or (group and group != current.title):
                current = _SceneDraft(group or info.title)
                scenes.append(current)
        else:
            if group:
                d.keep(names[col["scene"]], group)
            if current is None:
                current = _SceneDraft(info.title)
                scenes.append(current)
        current.lines.append(d)
    if len(languages) == 1 and None not in languages:
        info.language = next(iter(languages))
        for sd in scenes:
            for d in sd.lines:
                d.language = None
    if narrated:
        info.count(f"lines without a speaker, given to {options.narrator}", narrated)
    if no_text:
        shown = ", ".join(str(n) for n in no_text[:5]) + (" …" if len(no_text) > 5 else "")
        info.notices.append(f"{len(no_text)} row(s) have no text and were left out ({kind} "
                            f"line {shown}).")
    if markup and options.markup == "keep":
        info.notices.append(f"{markup} line(s) hold display tags such as {{b}} or {{color=…}}; "
                            "they are kept as written and may be read aloud (the 'strip' "
                            "markup choice removes them).")
    elif markup:
        info.count("lines with display tags removed", markup)
    if brackets:
        shown = ", ".join(sorted(brackets, key=lambda b: -brackets[b])[:5])
        info.notices.append(f"{sum(brackets.values())} bracketed word(s) that are not audio "
                            f"tags ({shown}): v3 would take them as tags; edit them before "
                            "rendering.")


# --- screenplay elements -> scenes -------------------------------------------------------------

def _screenplay_read(elements: list[_Element], options: ImportOptions, door: _Door,
                     info: _Read) -> None:
    """Fill ``info.scenes`` from a screenplay's elements under ``options``."""
    current = _SceneDraft(info.title)
    info.scenes.append(current)
    pending_heading = ""
    previous: int | None = None  # the last speech's index in the current scene

    def add(d: _Draft) -> int:
        nonlocal pending_heading
        if pending_heading:
            d.keep("heading", pending_heading)
            pending_heading = ""
        current.lines.append(d)
        return len(current.lines) - 1

    for el in elements:
        if el.kind == "heading":
            _kind, text, line = el.parts[0]
            door.check(text, line, "scene heading")
            info.count("scene headings")
            previous = None
            if options.scenes == "split":
                current = _SceneDraft(text, heading=text)
                info.scenes.append(current)
            elif options.headings == "note":  # a heading with no lines under it is kept too
                pending_heading = f"{pending_heading} / {text}" if pending_heading else text
            elif options.headings == "line":
                add(_Draft(options.narrator, text, line, extra={"kind": "heading"}))
            continue
        if el.kind == "action":
            info.count("action paragraphs")
            if options.action == "narrator":
                for _kind, text, line in el.parts:
                    door.check(text, line, "action")
                add(_Draft(options.narrator, " ".join(t for _k, t, _n in el.parts), el.line,
                           extra={"kind": "action"}))
                previous = None
            continue
        pieces: list[str] = []
        notes: list[str] = []
        words = False
        for kind, text, _line in el.parts:
            if kind == "paren":
                tags, found = map_parenthetical(text, options.parentheticals)
                pieces.extend(tags)
                notes.extend(found)
                info.count("parentheticals as audio tags", len(tags))
                info.count("parentheticals kept as notes", len(found))
            elif text:
                pieces.append(text)
                words = True
        if not words:
            info.count("speeches with no words (left out)")
            continue
        if el.extension:
            notes.insert(0, el.extension)
        d = _Draft(el.speaker, " ".join(pieces), el.line, notes=notes)
        if el.overlaps_previous and previous is not None:
            d.overlaps = previous
            info.count("dual dialogue pairs")
        previous = add(d)


def _scenes_of(info: _Read, scene_language: str | None = None) -> list[Scene]:
    out: list[Scene] = []
    for sd in info.scenes:
        if not sd.lines:
            if sd.heading:
                info.count("scenes with no lines (left out)")
            continue
        used = {d.id for d in sd.lines if d.id}
        number = 1
        lines: list[Line] = []
        for d in sd.lines:
            line_id = d.id
            if not line_id:
                while f"line-{number}" in used:
                    number += 1
                line_id = f"line-{number}"
                used.add(line_id)
            extra = d.extra if d.extra is not None else {}  # drafts are used once
            if d.notes:
                extra["note"] = "; ".join(d.notes)
            lines.append(Line(line_id, d.speaker, d.text, d.stability, d.language, extra=extra))
        for d, line in zip(sd.lines, lines, strict=True):
            if d.overlaps is not None:
                other = lines[d.overlaps]
                line.extra["overlaps"] = other.id
                other.extra["overlaps"] = line.id
        scene = Scene(title=sd.title or info.title, lines=lines,
                      language_code=scene_language or info.language or "auto")
        if sd.heading:
            scene.extra["heading"] = sd.heading
        out.append(scene)
    return out


# --- entry points ------------------------------------------------------------------------------

def _format_of(name: str, options: ImportOptions, text_start: bytes = b"") -> str:
    if options.format:
        return options.format
    suffix = Path(name).suffix.lower()
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    if text_start.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"<?xml", b"<FinalDraft")):
        return "fdx"
    raise ImportError_(f"{name}: Castline imports .fountain, .fdx (Final Draft), .txt, .csv "
                       "and .tsv files.")


def _read_bytes(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise ImportError_(f"{path.name} is too large to import.")
        return path.read_bytes()
    except FileNotFoundError:
        raise ImportError_(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise ImportError_(f"{path}: is a folder, not a script.") from None
    except PermissionError:
        raise ImportError_(f"{path}: permission denied.") from None


def _decode(raw: bytes, name: str) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise ImportError_(f"{name} is not a text file.")
    return text


def _read(raw: bytes | str, name: str, options: ImportOptions, warnings: list[str] | None,
          info: _Read, sample_rows: int = PREVIEW_ROWS) -> None:
    """Read a source into ``info`` (its scenes, what it turned out to be, counts)."""
    options = options.checked()
    head = raw[:256] if isinstance(raw, bytes) else raw[:256].encode("utf-8", "replace")
    fmt = _format_of(name, options, head)
    info.format = fmt
    info.title = (" ".join(clean_text(Path(name).stem.replace("_", " ")).split())
                  or "Imported scene")
    door = _Door(name, warnings)
    if fmt == "fdx":
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        try:
            paragraphs = read_paragraphs(data, name)
        except FdxError as e:
            raise ImportError_(str(e)) from None
        info.stats["paragraphs"] = len(paragraphs)
        for p in paragraphs:
            if p.type.strip().lower() not in ("character", "dialogue", "parenthetical", "action",
                                              "general", "scene heading", "lyric"):
                info.count(f"'{p.type}' paragraphs (not script)")
        _screenplay_read(fdx_elements(paragraphs, door), options, door, info)
        return
    text = _decode(raw, name) if isinstance(raw, bytes) else raw
    if "\x00" in text:
        raise ImportError_(f"{name} is not a text file.")
    if fmt == "fountain":
        title, elements = fountain_elements(text, door)
        info.title = title or info.title
        _screenplay_read(elements, options, door, info)
    elif fmt == "csv":
        _csv_read(text, name, options, door, info, suffix=Path(name).suffix.lower(),
                  sample_rows=sample_rows)
    else:
        info.scenes.append(_SceneDraft(info.title, [
            _Draft(b.speaker, b.text, b.line) for b in parse_plain(text, door)]))


_NOTHING = {
    "fountain": "Fountain needs UPPERCASE character cues above dialogue.",
    "fdx": "the script has no Character and Dialogue paragraphs.",
    "text": "plain text needs 'NAME: line'.",
    "csv": "the spreadsheet has no rows with text.",
}


@dataclass(slots=True)
class ImportResult:
    """The scenes an import made (one, or one per scene heading when split), with what the
    source turned out to be: format, delimiter, headers, the column mapping used, counts of
    what was mapped, noted or left out (``stats``) and warnings for the writer."""

    scenes: list[Scene]
    format: str
    delimiter: str | None = None
    headers: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return sum(len(s) for s in self.scenes)


def _result(raw: bytes | str, name: str, options: ImportOptions | None,
            warnings: list[str] | None) -> ImportResult:
    door_warnings: list[str] = [] if warnings is None else warnings
    info = _Read()
    _read(raw, name, options or ImportOptions(), door_warnings, info)
    scenes = _scenes_of(info)
    if not scenes:
        raise ImportError_(f"{name}: no dialogue found; {_NOTHING.get(info.format, '')}")
    info.stats["lines"] = sum(len(s) for s in scenes)
    return ImportResult(scenes, info.format, info.delimiter, info.headers, info.columns,
                        info.stats, [*door_warnings, *info.notices])


def import_script(path: Path, options: ImportOptions | None = None,
                  warnings: list[str] | None = None) -> ImportResult:
    """The scenes of a ``.fountain``, ``.fdx``, ``.txt``, ``.csv`` or ``.tsv`` file.

    Text is checked at the door (a control character is refused naming the line and the
    field); ``warnings`` (also in the result) collects what is let through but worth a look."""
    path = Path(path)
    return _result(_read_bytes(path), path.name, options, warnings)


def import_text(text: str, name: str, options: ImportOptions | None = None,
                warnings: list[str] | None = None) -> ImportResult:
    """As :func:`import_script`, for text in hand; ``name``'s suffix tells its format unless
    ``options.format`` does."""
    return _result(text, name, options, warnings)


def import_file(path: Path, warnings: list[str] | None = None,
                options: ImportOptions | None = None) -> Scene:
    """One scene from a script (``options.scenes`` is taken as ``"one"``): what the window
    and older callers use."""
    options = replace(options or ImportOptions(), scenes="one")
    path = Path(path)
    raw = _read_bytes(path)
    found: list[str] = []
    result = _result(raw, path.name, options, found)
    if warnings is not None:
        warnings.extend(result.warnings)
    return result.scenes[0]


@dataclass(frozen=True, slots=True)
class PreviewLine:
    scene: int  # index into ImportPreview.scene_titles
    id: str
    speaker: str
    text: str
    extra: dict[str, Any]  # note, overlaps, heading, kind, unmapped columns…

    @property
    def note(self) -> str:
        return str(self.extra.get("note", ""))


@dataclass(slots=True)
class ImportPreview:
    """What an import would bring in, for a preview dialog: show the format (and delimiter
    and header row), the column mapping with a choice per role (``ROLES``; ``headers`` are
    the choices), the source's first rows, the first lines as they would come in, the scenes
    and speakers, the counts and the warnings; if ``error`` is set, show it and let the
    writer change the options. Import with the same options (``columns`` filled in) to get
    exactly these lines."""

    format: str
    options: ImportOptions  # as given, with the guessed columns filled in
    delimiter: str | None = None
    has_header: bool = False
    headers: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # role -> header, guessed or given
    source_rows: list[list[str]] = field(default_factory=list)  # spreadsheets: as read
    lines: list[PreviewLine] = field(default_factory=list)  # the first ones
    total_lines: int = 0
    scene_titles: list[str] = field(default_factory=list)
    speakers: dict[str, int] = field(default_factory=dict)  # speaker -> lines
    stats: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def scene_count(self) -> int:
        return len(self.scene_titles)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format, "delimiter": self.delimiter, "has_header": self.has_header,
            "headers": self.headers, "columns": self.columns, "source_rows": self.source_rows,
            "lines": [{"scene": ln.scene, "id": ln.id, "speaker": ln.speaker, "text": ln.text,
                       **ln.extra} for ln in self.lines],
            "total_lines": self.total_lines, "scenes": self.scene_titles,
            "speakers": self.speakers, "stats": self.stats, "warnings": self.warnings,
            "error": self.error,
        }


def preview(source: Path | str, options: ImportOptions | None = None, *,
            rows: int = PREVIEW_ROWS, name: str = "script.txt") -> ImportPreview:
    """What importing ``source`` (a file, or text in hand named ``name``) with ``options``
    would bring in; nothing is written. Never raises ImportError_: the reason is in
    ``.error``, with whatever could be read before it (format, headers, first rows)."""
    options = options or ImportOptions()
    info = _Read()
    warnings: list[str] = []
    error: str | None = None
    scenes: list[Scene] = []
    try:
        if isinstance(source, Path):
            name = source.name
            raw: bytes | str = _read_bytes(source)
        else:
            raw = source
        _read(raw, name, options, warnings, info, sample_rows=rows)
        scenes = _scenes_of(info)
        if not scenes:
            error = f"{name}: no dialogue found; {_NOTHING.get(info.format, '')}"
    except ImportError_ as e:
        error = str(e)
    if info.columns and info.format == "csv":
        options = replace(options, columns=dict(info.columns), delimiter=info.delimiter,
                          header=info.has_header)
    out = ImportPreview(info.format, options, info.delimiter, info.has_header, info.headers,
                        info.columns, info.source_rows, stats=info.stats,
                        warnings=[*warnings, *info.notices], error=error)
    for k, scene in enumerate(scenes):
        out.scene_titles.append(scene.title)
        for line in scene.lines:
            out.speakers[line.speaker] = out.speakers.get(line.speaker, 0) + 1
            if len(out.lines) < rows:
                out.lines.append(PreviewLine(k, line.id, line.speaker, line.text,
                                             dict(line.extra)))
        out.total_lines += len(scene)
    out.stats["lines"] = out.total_lines
    return out


# --- older entry points --------------------------------------------------------------------------

def parse_csv(text: str, door: _Door | None = None) -> list[Line]:
    """The lines of a spreadsheet with the default options (ids as in the file, else "")."""
    info = _Read(title="CSV")
    _csv_read(text, "CSV", ImportOptions(), door or _Door(active=False), info)
    return [Line(d.id, d.speaker, d.text, d.stability, d.language if info.language is None
                 else info.language, extra=d.extra or {}) for sd in info.scenes for d in sd.lines]


def scene_from_blocks(title: str, blocks: list[DialogueBlock] | list[Line]) -> Scene:
    scene = Scene(title=title)
    lines = []
    for b in blocks:
        if isinstance(b, Line):
            line = scene.new_line(b.speaker, b.text, stability=b.stability,
                                  language_code=b.language_code)
        else:
            line = scene.new_line(b.speaker, b.text)
        lines.append(line)
    scene.insert_lines(0, lines)
    return scene
