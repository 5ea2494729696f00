"""Final Draft (``.fdx``) paragraphs, read safely.

An ``.fdx`` file is XML: ``<FinalDraft><Content><Paragraph Type="Character"><Text>…``. Only
the paragraphs directly under ``FinalDraft/Content`` are the script (and those inside a
``DualDialogue`` block there); paragraphs nested anywhere else — the title page, header and
footer, ``SceneProperties``/``SceneArcBeats`` of a scene heading, script notes — are not.

Safety: a script may come from anyone. A document type declaration (which is where entities,
and so "billion laughs" and external entities, are declared) is refused before and while
parsing; the size and nesting depth are bounded; the parser is expat, streaming, so no tree of
the whole file is built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.parsers import expat

MAX_FDX_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 64


class FdxError(ValueError):
    """A file that is not a readable, safe Final Draft document; the message is for the writer."""


@dataclass(frozen=True, slots=True)
class Paragraph:
    type: str  # Final Draft's paragraph type: "Character", "Dialogue", "Scene Heading"…
    text: str  # the text runs joined as written (styles meeting mid-word join with no space)
    line: int  # where the paragraph starts in the file (1-based)
    dual: int | None = None  # paragraphs of one DualDialogue block share a number
    number: str = ""  # a scene heading's scene number, when the script has them


_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class _Refused(Exception):
    pass


def read_paragraphs(data: bytes, name: str = "script.fdx") -> list[Paragraph]:
    """The script paragraphs of an ``.fdx`` document, in order."""
    if len(data) > MAX_FDX_BYTES:
        raise FdxError(f"{name} is too large to import.")
    if _DECLARATION.search(data):
        raise FdxError(f"{name}: the file declares a document type or entities (<!DOCTYPE>, "
                       "<!ENTITY>), which Final Draft never writes and which can make a reader "
                       "fetch files or expand text without end; it is refused.")
    out: list[Paragraph] = []
    stack: list[str] = []
    parser = expat.ParserCreate()
    # Current state of the paragraph being read (if any).
    para_type: str | None = None
    para_line = 0
    para_number = ""
    para_depth = -1
    runs: list[str] = []
    in_text = False
    dual_depth = -1
    dual_no = 0

    def refuse(*_args: object) -> None:
        raise _Refused

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal para_type, para_line, para_depth, in_text, dual_depth, dual_no, para_number
        stack.append(tag)
        depth = len(stack)
        if depth > MAX_DEPTH:
            raise FdxError(f"{name}: elements nested more than {MAX_DEPTH} deep; not a script.")
        if depth == 1 and tag != "FinalDraft":
            raise FdxError(f"{name}: not a Final Draft script (it starts with <{tag}>, not "
                           "<FinalDraft>).")
        script = depth == 3 and stack[1] == "Content"
        if tag == "DualDialogue" and depth == 4 and para_depth == 3:
            dual_depth, dual_no = depth, dual_no + 1
        elif tag == "Paragraph" and (script or (dual_depth > 0 and depth == dual_depth + 1)):
            para_type = attrs.get("Type", "") or "General"
            para_line = parser.CurrentLineNumber
            para_number = attrs.get("Number", "")
            para_depth = depth
            runs.clear()
        elif tag == "Text" and para_type is not None and depth == para_depth + 1:
            in_text = True

    def end(tag: str) -> None:
        nonlocal para_type, para_depth, in_text, dual_depth
        depth = len(stack)
        stack.pop()
        if tag == "Text" and in_text and depth == para_depth + 1:
            in_text = False
        elif tag == "Paragraph" and depth == para_depth and para_type is not None:
            dual = dual_no if dual_depth > 0 else None
            out.append(Paragraph(para_type, "".join(runs), para_line, dual, para_number))
            para_type, para_depth = None, -1
        elif tag == "DualDialogue" and depth == dual_depth:
            dual_depth = -1

    def data_(text: str) -> None:
        if in_text:
            runs.append(text)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data_
    try:
        parser.Parse(data, True)
    except _Refused:
        raise FdxError(f"{name}: the file declares a document type or entities, which Final "
                       "Draft never writes; it is refused.") from None
    except expat.ExpatError as e:
        raise FdxError(f"{name}: not well-formed XML ({expat.ErrorString(e.code)}, line "
                       f"{e.lineno}). Save it again from Final Draft.") from None
    if not out and b"<FinalDraft" not in data[:4096]:
        raise FdxError(f"{name}: not a Final Draft script.")
    return out
