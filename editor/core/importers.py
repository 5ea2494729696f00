"""Turn a screenplay or a script into a scene: Fountain, plain text, CSV.

The Fountain reader is our own (the PyPI parsers each got something wrong on
real files: dual dialogue, cues kept raw, headings taken for dialogue; see
shared/TESTING.md). It extracts dialogue only: title page, scene headings,
action, transitions, centred text, notes, boneyard, sections, synopses, lyrics
and page breaks are dropped. Parentheticals become v3 audio tags.

Every reader is linear in its input (no regex that can backtrack over a whole line, no
repeated string concatenation), and text is checked at the door as scene files are: a
control character or a lone surrogate in what would become a speaker or a line is refused,
naming the file's line and the field; bidi controls are let through with a warning. Form
feeds, vertical tabs and Unicode line/paragraph separators in a script are line breaks.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

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


# --- parentheticals -> audio tags ---------------------------------------------

_TAG_FOR = {
    "whisper": "whispers", "whispers": "whispers", "whispering": "whispers",
    "whispered": "whispers", "in a whisper": "whispers",
    "laugh": "laughs", "laughs": "laughs", "laughing": "laughs",
    "sigh": "sighs", "sighs": "sighs", "sighing": "sighs",
    "beat": "pause", "pause": "pause", "a beat": "pause", "long beat": "long pause",
    "long pause": "long pause", "short pause": "short pause",
    "crying": "crying", "cries": "crying", "sobbing": "crying", "in tears": "crying",
    "excited": "excited", "excitedly": "excited",
    "sarcastic": "sarcastic", "sarcastically": "sarcastic",
    "curious": "curious", "curiously": "curious",
    "exhales": "exhales", "exhaling": "exhales",
    "interrupting": "interrupting", "interrupts": "interrupting",
    "shouting": "shouting", "shouts": "shouting", "yelling": "shouting",
    "quietly": "quietly", "softly": "quietly",
}


def parenthetical_tag(paren: str) -> str:
    """``(whispering)`` -> ``[whispers]``; anything else -> ``[its words]``."""
    inner = paren.strip()
    if inner.startswith("(") and inner.endswith(")"):
        inner = inner[1:-1]
    inner = " ".join(inner.replace("[", "").replace("]", "").split())
    tag = _TAG_FOR.get(inner.lower().rstrip(".!"))
    return f"[{tag or inner}]" if (tag or inner) else ""


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


def parse_fountain(text: str, door: _Door | None = None) -> tuple[str | None, list[DialogueBlock]]:
    """(title, dialogue blocks in order) of a Fountain screenplay."""
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

    blocks: list[DialogueBlock] = []
    n = len(raw)
    while i < n:
        line = raw[i]
        prev_blank = i == 0 or not raw[i - 1].strip()
        nxt = raw[i + 1] if i + 1 < n else ""
        cue = _cue(line) if prev_blank and line.strip() and nxt.strip() else None
        if cue is None:
            i += 1
            continue
        speaker, _dual = cue
        door.check(line.strip(), i + 1, "character cue")
        speaker = " ".join(speaker.split())
        start = i + 1
        parts: list[str] = []
        i += 1
        while i < n and (raw[i].strip() or raw[i] == "  "):
            s = raw[i].strip()
            if s.startswith("(") and s.endswith(")"):
                door.check(s, i + 1, "parenthetical")
                tag = parenthetical_tag(s)
                if tag:
                    parts.append(tag)
            elif s:
                door.check(raw[i], i + 1, "dialogue")
                parts.append(" ".join(_strip_emphasis(s).split()))
            i += 1
        spoken = " ".join(p for p in parts if p)
        if spoken and not all(p.startswith("[") and p.endswith("]") for p in parts):
            blocks.append(DialogueBlock(speaker, spoken, start))
    return title, blocks


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


# --- CSV: speaker,text[,stability,language] ----------------------------------------

_STABILITY_NAMES = {"creative": 0.0, "natural": 0.5, "robust": 1.0}


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


def parse_csv(text: str, door: _Door | None = None) -> list[Line]:
    door = door or _Door(active=False)  # the door is import_file's
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    out: list[Line] = []
    for n, row in _csv_records(text, dialect):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        line_of = n
        for name, cell in zip(("speaker", "text", "stability", "language"), row, strict=False):
            door.check(cell, line_of, name)
            line_of += cell.count("\n")
        cells[0] = " ".join(cells[0].split())
        if n == 1 and cells[0].lower() in {"speaker", "character", "name"}:
            continue  # header
        if len(cells) < 2 or not cells[1]:
            raise ImportError_(f"CSV line {n}: expected 'speaker,text[,stability,language]', "
                               f"got {','.join(cells)[:60]!r}.")
        stability: float | None = None
        if len(cells) > 2 and cells[2]:
            raw = cells[2].lower()
            try:
                stability = _STABILITY_NAMES[raw] if raw in _STABILITY_NAMES else float(raw)
            except ValueError:
                stability = -1.0
            if not 0.0 <= stability <= 1.0:
                raise ImportError_(f"CSV line {n}: stability should be a number from 0 to 1 "
                                   f"(or Creative/Natural/Robust), not {cells[2]!r}.")
        language: str | None = None
        if len(cells) > 3 and cells[3]:
            try:
                language = check_language(cells[3])
            except SceneError:
                raise ImportError_(f"CSV line {n}: language should be a code such as 'en', "
                                   f"not {cells[3]!r}.") from None
        out.append(Line("", cells[0], cells[1], stability, language))
    return out


# --- entry point ------------------------------------------------------------------

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


def import_file(path: Path, warnings: list[str] | None = None) -> Scene:
    """A scene from a ``.fountain``, ``.txt`` or ``.csv`` file (chosen by suffix).

    Text is checked at the door (a control character is refused naming the line and the
    field); ``warnings`` collects what is let through but worth a look (bidi controls)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise ImportError_(f"{path.name} is too large to import.")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImportError_(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise ImportError_(f"{path}: is a folder, not a script.") from None
    except PermissionError:
        raise ImportError_(f"{path}: permission denied.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise ImportError_(f"{path.name} is not a text file.")
    suffix = path.suffix.lower()
    title = " ".join(clean_text(path.stem.replace("_", " ")).split()) or "Imported scene"
    door = _Door(path.name, warnings)
    blocks: list[DialogueBlock] | list[Line]
    if suffix in {".fountain", ".spmd"}:
        found_title, blocks = parse_fountain(text, door)
        title = found_title or title
    elif suffix == ".csv":
        blocks = parse_csv(text, door)
    elif suffix in {".txt", ".text", ""}:
        blocks = parse_plain(text, door)
    else:
        raise ImportError_(f"{path.name}: Castline imports .fountain, .txt and .csv files.")
    if not blocks:
        raise ImportError_(f"{path.name}: no dialogue found. Fountain needs UPPERCASE character "
                           "cues above dialogue; plain text needs 'NAME: line'.")
    return scene_from_blocks(title, blocks)
