"""Turn a screenplay or a script into a scene: Fountain, plain text, CSV.

The Fountain reader is our own (the PyPI parsers each got something wrong on
real files: dual dialogue, cues kept raw, headings taken for dialogue; see
shared/TESTING.md). It extracts dialogue only: title page, scene headings,
action, transitions, centred text, notes, boneyard, sections, synopses, lyrics
and page breaks are dropped. Parentheticals become v3 audio tags.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from editor.core.scene import Line, Scene, SceneError, check_language

MAX_IMPORT_BYTES = 32 * 1024 * 1024


class ImportError_(ValueError):
    """A source that cannot be imported; the message is for the writer."""


@dataclass(frozen=True, slots=True)
class DialogueBlock:
    speaker: str
    text: str


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
_EMPHASIS = re.compile(r"(?<!\\)(\*{1,3}|_)(?=\S)(.+?)(?<=\S)(?<!\\)\1")


def _strip_emphasis(text: str) -> str:
    prev = None
    while prev != text:
        prev, text = text, _EMPHASIS.sub(r"\2", text)
    return text.replace("\\*", "*").replace("\\_", "_")


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
        name = re.sub(r"\s*\(.*$", "", s[1:]).strip()
        return (name, dual) if name else None
    if s.startswith(("!", ".", ">", "~", "=", "#", "[[")) or _TRANSITION.match(s):
        return None
    name = re.sub(r"\s*\(.*\)\s*$", "", s).strip()  # extensions: (V.O.), (CONT'D), (on radio)
    if not name or "(" in name or not re.search(r"[^\W\d_]", name) or name != name.upper():
        return None
    if _HEADING.match(name) or name.endswith(":"):
        return None
    return name, dual


def parse_fountain(text: str) -> tuple[str | None, list[DialogueBlock]]:
    """(title, dialogue blocks in order) of a Fountain screenplay."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
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
                    title = _strip_emphasis(m.group(2).strip())
            elif key == "title" and title is None:
                title = _strip_emphasis(raw[i].strip())
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
        parts: list[str] = []
        i += 1
        while i < n and (raw[i].strip() or raw[i] == "  "):
            s = raw[i].strip()
            if s.startswith("(") and s.endswith(")"):
                tag = parenthetical_tag(s)
                if tag:
                    parts.append(tag)
            elif s:
                parts.append(" ".join(_strip_emphasis(s).split()))
            i += 1
        spoken = " ".join(p for p in parts if p)
        if spoken and not all(p.startswith("[") and p.endswith("]") for p in parts):
            blocks.append(DialogueBlock(speaker, spoken))
    return title, blocks


# --- plain text: NAME: line -------------------------------------------------------

_PLAIN = re.compile(r"^\s*([^\s:][^:]{0,40}?)\s*:\s*(.*)$")


def parse_plain(text: str) -> list[DialogueBlock]:
    blocks: list[DialogueBlock] = []
    for n, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = _PLAIN.match(s)
        if m and m.group(2).strip():
            speaker = re.sub(r"\s*\(.*\)\s*$", "", m.group(1)).strip()
            blocks.append(DialogueBlock(speaker, m.group(2).strip()))
        elif blocks:  # a wrapped line continues the previous speaker's text
            prev = blocks[-1]
            blocks[-1] = DialogueBlock(prev.speaker, f"{prev.text} {s}")
        else:
            raise ImportError_(
                f"Line {n} is not of the form 'NAME: what they say' ({s[:40]!r}). "
                "Each line of a plain-text script starts with the speaker and a colon.")
    return blocks


# --- CSV: speaker,text[,stability,language] ----------------------------------------

_STABILITY_NAMES = {"creative": 0.0, "natural": 0.5, "robust": 1.0}


def parse_csv(text: str) -> list[Line]:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error as e:
        raise ImportError_(f"The CSV file cannot be read ({e}).") from None
    out: list[Line] = []
    for n, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if n == 1 and cells[0].lower() in {"speaker", "character", "name"}:
            continue  # header
        if len(cells) < 2 or not cells[1]:
            raise ImportError_(f"CSV row {n}: expected 'speaker,text[,stability,language]', "
                               f"got {','.join(cells)[:60]!r}.")
        stability: float | None = None
        if len(cells) > 2 and cells[2]:
            raw = cells[2].lower()
            try:
                stability = _STABILITY_NAMES[raw] if raw in _STABILITY_NAMES else float(raw)
            except ValueError:
                stability = -1.0
            if not 0.0 <= stability <= 1.0:
                raise ImportError_(f"CSV row {n}: stability should be a number from 0 to 1 "
                                   f"(or Creative/Natural/Robust), not {cells[2]!r}.")
        language: str | None = None
        if len(cells) > 3 and cells[3]:
            try:
                language = check_language(cells[3])
            except SceneError:
                raise ImportError_(f"CSV row {n}: language should be a code such as 'en', "
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


def import_file(path: Path) -> Scene:
    """A scene from a ``.fountain``, ``.txt`` or ``.csv`` file (chosen by suffix)."""
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
    title = path.stem.replace("_", " ").strip() or "Imported scene"
    blocks: list[DialogueBlock] | list[Line]
    if suffix in {".fountain", ".spmd"}:
        found_title, blocks = parse_fountain(text)
        title = found_title or title
    elif suffix == ".csv":
        blocks = parse_csv(text)
    elif suffix in {".txt", ".text", ""}:
        blocks = parse_plain(text)
    else:
        raise ImportError_(f"{path.name}: Castline imports .fountain, .txt and .csv files.")
    if not blocks:
        raise ImportError_(f"{path.name}: no dialogue found. Fountain needs UPPERCASE character "
                           "cues above dialogue; plain text needs 'NAME: line'.")
    return scene_from_blocks(title, blocks)
