"""The scene file, version 1 (``*.castline``): UTF-8 JSON, see shared/CONTRACT.md §2.

Loading validates everything and names the field, the scene line and what was
expected; unknown keys are kept and written back; saving is atomic and keeps the
previous version as ``NAME.castline.bak``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from editor.core.atomic import write_atomic
from editor.core.scene import (
    DEFAULT_LANGUAGE,
    DEFAULT_STABILITY,
    CastMember,
    Line,
    Scene,
    SceneError,
    bad_char,
    bidi_at,
    check_language,
    check_pause,
    check_pronunciations,
    clean_text,
    describe_char,
    surrogate_at,
)

FORMAT = "castline-scene"
VERSION = 1
SUFFIX = ".castline"
MAX_FILE_BYTES = 64 * 1024 * 1024

_SCENE_KEYS = {"format", "version", "title", "model", "stability", "language_code", "cast", "lines",
               "gap_ms", "pronunciations"}
_LINE_KEYS = {"id", "speaker", "text", "stability", "language_code", "pause_after_ms", "locked"}


class SceneFileError(ValueError):
    """A scene file that cannot be read; the message is for the writer."""


def _where(source: str, line_no: int | None, field: str) -> str:
    at = f", line {line_no}" if line_no is not None else ""
    return f"{source}{at}: '{field}'"


def _fail(source: str, line_no: int | None, field: str, expected: str, got: Any) -> SceneFileError:
    shown = json.dumps(got, ensure_ascii=False)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return SceneFileError(f"{_where(source, line_no, field)} should be {expected}, but it is {shown}.")


def _stability(source: str, line_no: int | None, field: str, v: Any, *, nullable: bool) -> float | None:
    if v is None and nullable:
        return None
    ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= 1
    if not ok:
        expected = "a number from 0 to 1" + (" or null (the scene's value)" if nullable else "")
        raise _fail(source, line_no, field, expected, v)
    return float(v)


def _language(source: str, line_no: int | None, field: str, v: Any, *, nullable: bool) -> str | None:
    if v is None and nullable:
        return None
    try:
        if not isinstance(v, str):
            raise SceneError
        check_language(v)
    except SceneError:
        expected = "a language code such as \"en\" or \"auto\"" + (
            " or null (the scene's value)" if nullable else "")
        raise _fail(source, line_no, field, expected, v) from None
    return v


def _pause(source: str, line_no: int | None, field: str, v: Any) -> int | None:
    try:
        return check_pause(v)
    except SceneError:
        raise _fail(source, line_no, field, "a whole number of milliseconds from 0 to 60000, "
                    "or null", v) from None


def _flag(source: str, line_no: int | None, field: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise _fail(source, line_no, field, "true or false", v)
    return v


def _text(source: str, line_no: int | None, field: str, v: Any, *, multiline: bool = False,
          warnings: list[str] | None = None) -> str:
    if not isinstance(v, str):
        raise _fail(source, line_no, field, "text", v)
    _check_chars(source, line_no, field, v, multiline=multiline, warnings=warnings)
    return v


def _shown(text: str, at: int) -> str:
    """A little of ``text`` around ``at``, every odd character written as U+XXXX."""
    start = max(0, at - 20)
    part = clean_text(text[start:at + 20], surrogates_only=True)
    out = "".join(c if c.isprintable() else f"<U+{ord(c):04X}>" for c in part)
    return ("..." if start else "") + out


def _check_chars(source: str, line_no: int | None, field: str, v: str, *, multiline: bool,
                 warnings: list[str] | None) -> None:
    """The door: a lone surrogate or a control character is refused, naming the line and the
    field; a bidi control is let through with a warning (see editor.core.scene)."""
    at = bad_char(v, multiline=multiline)
    if at is not None:
        raise SceneFileError(
            f"{_where(source, line_no, field)} contains {describe_char(v[at])} at character "
            f"{at + 1} (near \"{_shown(v, at)}\"). Castline opens only plain text: remove it "
            "in a text editor, or open the .bak copy.")
    if warnings is not None:
        at = bidi_at(v)
        if at is not None:
            warnings.append(f"{_where(source, line_no, field)} contains {describe_char(v[at])} "
                            f"at character {at + 1}; check that it reads as intended.")


def _check_surrogates(source: str, line_no: int | None, field: str, v: Any) -> None:
    """Unknown keys are kept and written back: no lone surrogate may hide in them (it could
    not be saved as UTF-8). Iterative, so no nesting depth can overflow the stack."""
    todo = [v]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
        elif isinstance(item, str):
            at = surrogate_at(item)
            if at is not None:
                raise SceneFileError(
                    f"{_where(source, line_no, field)} contains {describe_char(item[at])}. "
                    "Castline opens only plain text: remove it in a text editor.")


def scene_from_data(data: Any, source: str = "scene", warnings: list[str] | None = None) -> Scene:
    """Build a scene from decoded JSON, or raise :class:`SceneFileError`.

    Text is checked at the door (lone surrogates and control characters refused, naming the
    line and field); ``warnings`` collects what is let through but worth a look (bidi
    controls)."""
    w = warnings
    if not isinstance(data, dict):
        raise SceneFileError(f"{source}: not a Castline scene (expected a JSON object at the top).")
    if data.get("format") != FORMAT:
        raise SceneFileError(
            f"{source}: not a Castline scene ('format' should be \"{FORMAT}\", "
            f"but it is {json.dumps(data.get('format'))}).")
    version = data.get("version")
    if version != VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
            raise SceneFileError(
                f"{source}: this scene is file version {version}, written by a newer Castline; "
                f"this one reads version {VERSION}. Update Castline to open it.")
        raise _fail(source, None, "version", f"{VERSION}", version)

    title = _text(source, None, "title", data.get("title", "Untitled scene"), warnings=w)
    model = _text(source, None, "model", data.get("model", "elevenlabs-v3"), warnings=w)
    stability = _stability(source, None, "stability", data.get("stability", DEFAULT_STABILITY),
                           nullable=False)
    language = _language(source, None, "language_code", data.get("language_code", DEFAULT_LANGUAGE),
                         nullable=False)

    raw_cast = data.get("cast", {})
    if not isinstance(raw_cast, dict):
        raise _fail(source, None, "cast", "an object of speaker -> {\"voice\": ...}", raw_cast)
    cast: dict[str, CastMember] = {}
    for name, member in raw_cast.items():
        if not isinstance(member, dict):
            raise _fail(source, None, f"cast.{name}", "an object such as {\"voice\": \"Sarah\"}", member)
        _check_chars(source, None, "cast", name, multiline=False, warnings=w)
        voice = member.get("voice", "")
        if voice is None:
            voice = ""
        voice = _text(source, None, f"cast.{name}.voice", voice, warnings=w)
        _check_surrogates(source, None, f"cast.{name}", member)
        cast[name] = CastMember(voice, {k: v for k, v in member.items() if k != "voice"})

    raw_lines = data.get("lines", [])
    if not isinstance(raw_lines, list):
        raise _fail(source, None, "lines", "a list of lines", raw_lines)
    lines: list[Line] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_lines):
        n = i + 1
        if not isinstance(raw, dict):
            raise _fail(source, n, "lines", "an object with id, speaker and text", raw)
        line_id = raw.get("id")
        if not isinstance(line_id, str) or not line_id:
            raise _fail(source, n, "id", "a non-empty text id", line_id)
        _check_chars(source, n, "id", line_id, multiline=False, warnings=w)
        if line_id in seen:
            raise SceneFileError(f"{source}, line {n}: 'id' {json.dumps(line_id)} is already used by "
                                 f"line {seen[line_id]}; ids must be unique.")
        seen[line_id] = n
        lines.append(Line(
            id=line_id,
            speaker=_text(source, n, "speaker", raw.get("speaker"), warnings=w),
            text=_text(source, n, "text", raw.get("text"), multiline=True, warnings=w),
            stability=_stability(source, n, "stability", raw.get("stability"), nullable=True),
            language_code=_language(source, n, "language_code", raw.get("language_code"),
                                    nullable=True),
            pause_after_ms=_pause(source, n, "pause_after_ms", raw.get("pause_after_ms")),
            locked=_flag(source, n, "locked", raw.get("locked", False)),
            extra=_extra(source, n, raw, _LINE_KEYS),
        ))
    gap = _pause(source, None, "gap_ms", data.get("gap_ms"))
    raw_words = data.get("pronunciations", {})
    try:
        words = check_pronunciations(raw_words)
    except SceneError:
        raise _fail(source, None, "pronunciations", "an object of word -> spoken form (both text, "
                    "words without brackets)", raw_words) from None
    for word, said in words.items():
        _check_chars(source, None, "pronunciations", word, multiline=False, warnings=w)
        _check_chars(source, None, "pronunciations", said, multiline=False, warnings=w)
    extra = _extra(source, None, data, _SCENE_KEYS)
    return Scene(title, model, stability, language, cast, lines, extra,  # type: ignore[arg-type]
                 gap_ms=gap, pronunciations=words)


def _extra(source: str, line_no: int | None, raw: dict[str, Any], known: set[str]
           ) -> dict[str, Any]:
    out = {k: v for k, v in raw.items() if k not in known}
    for k, v in out.items():
        _check_surrogates(source, line_no, k, k)
        _check_surrogates(source, line_no, k, v)
    return out


def _line_data(ln: Line) -> dict[str, Any]:
    out: dict[str, Any] = {"id": ln.id, "speaker": ln.speaker, "text": ln.text,
                           "stability": ln.stability, "language_code": ln.language_code}
    # Written only when set, so that files without them stay byte-for-byte as they were.
    if ln.pause_after_ms is not None:
        out["pause_after_ms"] = ln.pause_after_ms
    if ln.locked:
        out["locked"] = True
    out.update(ln.extra)
    return out


def scene_to_data(scene: Scene) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "title": scene.title,
        "model": scene.model,
        "stability": scene.stability,
        "language_code": scene.language_code,
        "cast": {name: {"voice": m.voice, **m.extra} for name, m in scene.cast.items()},
        "lines": [_line_data(ln) for ln in scene.lines],
    }
    if scene.gap_ms is not None:
        data["gap_ms"] = scene.gap_ms
    if scene.pronunciations:
        data["pronunciations"] = dict(scene.pronunciations)
    data.update(scene.extra)
    return data


def _clean_out(data: dict[str, Any]) -> dict[str, Any]:
    """What :func:`dumps` writes passes the door: text the door would refuse (a lone
    surrogate, a control character typed or pasted in) is written as U+FFFD, so saving never
    fails and Castline never writes a file it would then refuse to open."""
    def name(v: Any) -> Any:
        return clean_text(v) if isinstance(v, str) else v

    def deep(v: Any) -> Any:
        if isinstance(v, str):
            return clean_text(v, surrogates_only=True)
        if isinstance(v, dict):
            return {deep(k): deep(x) for k, x in v.items()}
        if isinstance(v, list):
            return [deep(x) for x in v]
        return v

    out = {deep(k): deep(v) for k, v in data.items()}
    for key in ("title", "model"):
        out[key] = name(out.get(key))
    out["cast"] = {name(k): {**m, "voice": name(m.get("voice"))} for k, m in out["cast"].items()}
    if "pronunciations" in out and isinstance(out["pronunciations"], dict):
        out["pronunciations"] = {name(k): name(v) for k, v in out["pronunciations"].items()}
    for ln in out["lines"]:
        ln["id"], ln["speaker"] = name(ln["id"]), name(ln["speaker"])
        if isinstance(ln.get("text"), str):
            ln["text"] = clean_text(ln["text"], multiline=True)
    return out


def _needs_cleaning(scene: Scene) -> bool:
    fields = [scene.title, scene.model, *scene.cast, *(m.voice for m in scene.cast.values()),
              *scene.pronunciations, *scene.pronunciations.values()]
    if any(bad_char(f) is not None for f in fields if isinstance(f, str)):
        return True
    for ln in scene.lines:
        if (bad_char(ln.id) is not None or bad_char(ln.speaker) is not None
                or bad_char(ln.text, multiline=True) is not None):
            return True
    return False


def dumps(scene: Scene) -> str:
    # One line per scene line keeps diffs readable while staying plain JSON.
    data = scene_to_data(scene)
    if _needs_cleaning(scene):
        data = _clean_out(data)
    lines = data.pop("lines")
    head = json.dumps(data, ensure_ascii=False, indent=2)
    body = ",\n".join("    " + json.dumps(ln, ensure_ascii=False) for ln in lines)
    listing = "[\n" + body + "\n  ]" if lines else "[]"
    text = head[:-2] + ',\n  "lines": ' + listing + "\n}\n"
    if surrogate_at(text) is not None:  # one hid in an unknown key: never fail to save
        text = json.dumps(_clean_out(json.loads(text)), ensure_ascii=False, indent=2) + "\n"
    return text


def loads(text: str, source: str = "scene", warnings: list[str] | None = None) -> Scene:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise SceneFileError(
            f"{source}: the file is damaged or not a scene (JSON error at text line {e.lineno}, "
            f"column {e.colno}: {e.msg}). If Castline saved it, try {source}.bak.") from None
    except RecursionError:
        raise SceneFileError(f"{source}: the file is nested too deeply to be a scene.") from None
    return scene_from_data(data, source, warnings)


def load(path: Path, warnings: list[str] | None = None) -> Scene:
    """The scene in ``path``; ``warnings`` (if given) collects what is worth a look but not
    refused (bidi controls), each naming the line and field."""
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SceneFileError(f"{name}: {size // (1024 * 1024)} MB is too large for a scene file.")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SceneFileError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise SceneFileError(f"{path}: is a folder, not a scene file.") from None
    except PermissionError:
        raise SceneFileError(f"{path}: permission denied.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SceneFileError(f"{name}: not UTF-8 text (bad byte at offset {e.start}).") from None
    return loads(text, name, warnings)


def save(scene: Scene, path: Path) -> None:
    """Atomic save; the previous file survives as ``NAME.castline.bak``."""
    write_atomic(Path(path), dumps(scene).encode("utf-8"), backup=True)
