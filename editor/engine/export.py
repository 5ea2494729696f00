"""Export a scene's audio in the shapes the next tool expects (Qt-free).

- ``mix``: the scene, chosen takes in order, each followed by its pause (the
  line's own, else the scene's gap); no silence after the last line.
- ``lines``: one file per clip, named by a template (game voice-over practice).
- ``stems``: one file per speaker, as long as the mix, silent where others speak.
- ``srt`` / ``vtt`` / ``labels``: subtitles and an Audacity label track, timed
  from the assembled audio (not estimated).
- ``manifest``: CSV and JSON, one row per line: index, id, speaker, voice,
  text, file, start, duration, take, sha256 of the file.

A line rendered with its neighbours in one request (dialogue mode) is one
clip: it is one cue, one file and one stretch of the timeline.

Every file is written atomically (a temporary file renamed into place), so a
failed or cancelled export never leaves a half file that looks complete.

What a project holds is input from strangers: a take's audio is read through the takes
folder's gate (``Source.opener``, no link followed), other audio never through a link;
every file name is safe on Windows, macOS and Linux (:func:`safe_name`); and no field of a
line can add a subtitle cue or a label (:func:`one_line`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import string
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from editor.core.atomic import write_atomic
from editor.core.scene import DEFAULT_GAP_MS, Line, Scene
from editor.engine.audio import Audio, ExportError, Placement, assemble, write
from editor.engine.audio import Clip as Decoded
from editor.engine.errors import BadAudio
from editor.engine.projectfs import is_device_name, open_regular
from editor.engine.takes import file_sha256

WHAT = ("mix", "lines", "stems", "srt", "vtt", "labels", "manifest")
FORMATS = ("wav", "mp3", "flac")
DEFAULT_NAME = "{index:03}_{speaker}_{id}"
NAME_FIELDS = ("index", "id", "speaker", "voice", "take", "title")

_TAG = re.compile(r"\[[^\]]*\]")
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_ARROW = re.compile(r"--+>")  # a cue's timing line; never inside a field
NAME_BYTES = 255  # per path component, in UTF-8 (Linux and macOS; NTFS counts fewer units)


class ExportCancelled(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Group:
    """The dialogue clip a line's take was cut from: the whole clip, the lines it speaks in
    order, and this line's span in it."""

    source: Source
    lines: tuple[str, ...]
    start: float
    end: float
    uncertain: bool = False


@dataclass(frozen=True, slots=True)
class Source:
    """Where a line's audio is: the file, and the take it belongs to (if any)."""

    path: Path
    take: str | None = None
    # How to open it: a take's audio through its folder's gate (None: a file of the cache's).
    opener: Callable[[], BinaryIO] | None = field(default=None, compare=False)
    group: Group | None = field(default=None, compare=False)  # a piece of a dialogue clip

    def open(self) -> BinaryIO:
        return self.opener() if self.opener is not None else open_regular(self.path)


Resolve = Callable[[Line], Source | None]
Progress = Callable[[int, int, str], None]  # done, total, what is happening


@dataclass(slots=True)
class Clip:
    """One stretch of the timeline: a line, or the lines of one dialogue request."""

    rows: list[int]
    lines: list[Line]
    source: Source
    start: float = 0.0
    duration: float = 0.0
    file: str = ""  # the per-clip file, when lines are exported

    @property
    def first(self) -> Line:
        return self.lines[0]


@dataclass(slots=True)
class ExportPlan:
    clips: list[Clip]
    missing: list[int]  # rows of lines with something to say but no audio


@dataclass(slots=True)
class ExportResult:
    folder: Path
    files: list[Path] = field(default_factory=list)
    duration: float = 0.0
    clips: list[Clip] = field(default_factory=list)


def plan_export(scene: Scene, resolve: Resolve) -> ExportPlan:
    clips: list[Clip] = []
    missing: list[int] = []
    for row, line in enumerate(scene.lines):
        if not scene.spoken(line).strip():
            continue
        source = resolve(line)
        if source is None:
            missing.append(row)
            continue
        if clips and clips[-1].source.path == source.path:
            clips[-1].rows.append(row)  # a dialogue request holds several lines: one clip
            clips[-1].lines.append(line)
        else:
            clips.append(Clip([row], [line], source))
    return ExportPlan(clips, missing)


def whole_groups(clips: Sequence[Clip]) -> list[tuple[int, int]]:
    """Runs [i, j) of clips that are, in order, every line of one dialogue clip: the mix then
    uses that clip untouched, so nothing is lost at the joins."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(clips):
        group = clips[i].source.group
        if group is not None and len(clips[i].lines) == 1:
            n = len(group.lines)
            run = clips[i:i + n]
            if (len(run) == n and all(len(c.lines) == 1 and c.source.group is not None
                                      and c.source.group.source.path == group.source.path
                                      for c in run)
                    and tuple(c.first.id for c in run) == group.lines):
                runs.append((i, i + n))
                i += n
                continue
        i += 1
    return runs


def assemble_mix(scene: Scene, clips: Sequence[Clip], default_gap_ms: int = DEFAULT_GAP_MS,
                 check: Callable[[], None] | None = None,
                 report: Callable[[Clip], None] | None = None
                 ) -> tuple[Audio, int, list[Placement]]:
    """The scene's timeline: each clip, then the pause of its last line (none after the last).

    Where consecutive lines are every line of one dialogue clip, in order, that clip is
    placed whole (its own gaps, no pauses added inside) and each line sits at its span in it.
    Returns one placement per clip."""
    runs = dict(whole_groups(clips))
    pieces: list[tuple[int, int]] = []  # clip ranges, one per decoded piece
    decoded = []
    i = 0
    while i < len(clips):
        j = runs.get(i, i + 1)
        if check is not None:
            check()
        if i in runs:  # every line of one dialogue clip: the clip, whole
            group = clips[i].source.group
            assert group is not None
            decoded.append(read_clip(Clip(clips[i].rows, clips[i].lines, group.source)))
        else:
            decoded.append(read_clip(clips[i]))
        for c in clips[i:j]:
            if report is not None:
                report(c)
        pieces.append((i, j))
        i = j
    gaps = [scene.pause_after(clips[j - 1].lines[-1], default_gap_ms) for _i, j in pieces]
    mix, rate, placed = assemble(decoded, gaps)
    placements: list[Placement] = []
    for (a, b), p in zip(pieces, placed, strict=True):
        if a not in runs:
            placements.append(p)
            continue
        for k, c in enumerate(clips[a:b]):
            group = c.source.group
            assert group is not None
            start = group.start if k else 0.0
            end = group.end if k < b - a - 1 else p.duration
            frames_start = round((p.start + start) * rate)
            frames_end = round((p.start + min(end, p.duration)) * rate)
            placements.append(Placement(frames_start / rate, (frames_end - frames_start) / rate))
    return mix, rate, placements


def read_clip(clip: Clip) -> Decoded:
    """Decode a clip's audio, opened as its :class:`Source` says (never through a link)."""
    import soundfile

    row = clip.rows[0] + 1
    try:
        with clip.source.open() as f:
            data, rate = soundfile.read(f, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as e:
        raise BadAudio(f"The audio of line {row} ({clip.source.path.name}) cannot be decoded "
                       f"({e}).") from None
    except OSError as e:
        reason = (e.strerror or str(e)).rstrip(".")
        raise ExportError(f"Could not read the audio of line {row}: {reason}. Render the line "
                          "again.") from None
    return Decoded(np.ascontiguousarray(data, dtype=np.float32), int(rate))


def one_line(text: str) -> str:
    """A field as one line of plain text: control characters and line breaks become spaces,
    runs of space one, and no ``-->`` (which would start a cue's timing)."""
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
    return _ARROW.sub("->", " ".join(text.split()))


def subtitle_text(lines: Sequence[Line]) -> str:
    """What a cue shows: the writer's words without [audio tags]; several speakers named, one
    line each (never a blank line, which would end the cue)."""
    texts = [one_line(_TAG.sub(" ", ln.text)) for ln in lines]
    if len(lines) == 1:
        return texts[0]
    return "\n".join(f"{one_line(ln.speaker)}: {t}" if one_line(ln.speaker) else t
                     for ln, t in zip(lines, texts, strict=True) if t)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, on a character boundary."""
    return text.encode("utf-8")[:max(limit, 0)].decode("utf-8", "ignore")


def safe_name(text: str, suffix: str = "", limit: int = NAME_BYTES) -> str:
    """``text`` + ``suffix`` as one file name safe on Windows, macOS and Linux: reserved
    characters and control characters replaced, no leading or trailing dots and spaces, not a
    Windows device name (``CON``, ``nul.txt``, ``COM1``... get a ``_`` in front), at most
    ``limit`` bytes of UTF-8 with ``suffix`` kept whole."""
    name = _UNSAFE.sub("_", unicodedata.normalize("NFC", text)).strip(" .")
    name = _cut_bytes(name, limit - len(suffix.encode("utf-8"))).rstrip(" .") or "scene"
    if is_device_name(name + suffix):
        name = _cut_bytes("_" + name, limit - len(suffix.encode("utf-8")))
    return name + suffix


def check_template(template: str) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as e:
        raise ExportError(f"The name template {template!r} is not valid ({e}).") from None
    for f in fields:
        base = re.split(r"[.\[]", f, maxsplit=1)[0]
        if base not in NAME_FIELDS:
            raise ExportError(f"The name template uses {{{f}}}; the fields are "
                              + ", ".join(f"{{{n}}}" for n in NAME_FIELDS) + ".")
    if not fields:
        raise ExportError("The name template must contain a field such as {index} or {id}, so "
                          "that each line gets its own file.")


def file_name(template: str, fmt: str, **values: object) -> str:
    """A per-line file name: ``template`` filled in with ``values``, made safe, with ``fmt``."""
    try:
        text = template.format(**values)
    except (ValueError, KeyError, IndexError, AttributeError) as e:
        raise ExportError(f"The name template {template!r} cannot be filled in "
                          f"({type(e).__name__}: {e}).") from None
    return safe_name(text, f".{fmt}")


def _timestamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02}:{m:02}:{s:02}{sep}{ms:03}"


def srt(clips: Sequence[Clip]) -> str:
    cues = []
    for n, c in enumerate(clips, 1):
        cues.append(f"{n}\n{_timestamp(c.start, ',')} --> {_timestamp(c.start + c.duration, ',')}\n"
                    f"{subtitle_text(c.lines)}\n")
    return "\n".join(cues)


def vtt(clips: Sequence[Clip]) -> str:
    cues = ["WEBVTT\n"]
    for c in clips:
        speaker = _vtt_escape(one_line(c.first.speaker))
        voice = f"<v {speaker}>" if len(c.lines) == 1 and speaker else ""
        ident = one_line(c.first.id)
        cues.append((f"{ident}\n" if ident else "")
                    + f"{_timestamp(c.start, '.')} --> {_timestamp(c.start + c.duration, '.')}\n"
                    + f"{voice}{_vtt_escape(subtitle_text(c.lines))}\n")
    return "\n".join(cues)


def labels(clips: Sequence[Clip]) -> str:
    out = []
    for c in clips:
        who = "+".join(dict.fromkeys(one_line(ln.speaker) for ln in c.lines))
        text = subtitle_text(c.lines).replace("\n", " / ")
        out.append(f"{c.start:.6f}\t{c.start + c.duration:.6f}\t{who}: {text}")
    return "\n".join(out) + "\n"


class Exporter:
    """Runs one export (in a worker thread: it only touches files and arrays)."""

    def __init__(self, scene: Scene, plan: ExportPlan, folder: Path, *,
                 what: Sequence[str] = WHAT, fmt: str = "wav", name: str = DEFAULT_NAME,
                 base: str | None = None, default_gap_ms: int = DEFAULT_GAP_MS) -> None:
        unknown = [w for w in what if w not in WHAT]
        if unknown:
            raise ExportError(f"Cannot export {', '.join(unknown)}; choose from {', '.join(WHAT)}.")
        if fmt not in FORMATS:
            raise ExportError(f"The audio format must be one of {', '.join(FORMATS)}, not {fmt!r}.")
        if "lines" in what:
            check_template(name)
        self.scene = scene
        self.plan = plan
        self.folder = Path(folder)
        self.what = [w for w in WHAT if w in what]
        self.fmt = fmt
        self.name = name
        self.base = safe_name(base or scene.title or "scene")  # cut again with each suffix
        self.default_gap_ms = default_gap_ms
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    def _check(self) -> None:
        if self.cancel_event.is_set():
            raise ExportCancelled

    def clip_names(self) -> list[str]:
        names = []
        for c in self.plan.clips:
            line = c.first
            names.append(file_name(
                self.name, self.fmt, index=c.rows[0] + 1, id=line.id,
                speaker=line.speaker or "line", voice=self.scene.voice_of(line.speaker) or "default",
                take=c.source.take or "cache", title=self.scene.title))
        seen: dict[str, int] = {}
        for i, n in enumerate(names):
            if n.casefold() in seen:
                raise ExportError(f"The name template gives two lines the same file name ({n}: "
                                  f"lines {self.plan.clips[seen[n.casefold()]].rows[0] + 1} and "
                                  f"{self.plan.clips[i].rows[0] + 1}); add {{index}} or {{id}}.")
            seen[n.casefold()] = i
        return names

    def run(self, progress: Progress | None = None) -> ExportResult:
        report = progress or (lambda done, total, text: None)
        clips = self.plan.clips
        if not clips:
            raise ExportError("Nothing to export: no line has audio yet.")
        if not self.folder.is_dir():
            raise ExportError(f"The folder {self.folder} does not exist.")
        names = self.clip_names() if "lines" in self.what else []
        stems = sorted({self._stem_of(c) for c in clips}) if "stems" in self.what else []
        total = len(clips) + (1 if "mix" in self.what else 0) + len(names) + len(stems) + 4
        position = {id(c): n for n, c in enumerate(clips, 1)}

        def reading(c: Clip) -> None:
            report(position[id(c)], total, f"Reading line {c.rows[0] + 1}")

        mix, rate, placements = assemble_mix(self.scene, clips, self.default_gap_ms,
                                             self._check, reading)
        done = len(clips)
        for c, p in zip(clips, placements, strict=True):
            c.start, c.duration = p.start, p.duration
        result = ExportResult(self.folder, duration=len(mix) / rate, clips=clips)
        # Placements are whole frames divided by the rate: this gets the frames back exactly.
        frames = [(round(p.start * rate), round(p.start * rate) + round(p.duration * rate))
                  for p in placements]

        def out(name: str) -> Path:
            return self.folder / name

        mix_name = safe_name(self.base, f".{self.fmt}")
        if "mix" in self.what:
            self._check()
            write(out(mix_name), mix, rate)
            result.files.append(out(mix_name))
            done += 1
            report(done, total, "Writing the mix")
        for c, (a, b), name in zip(clips, frames, names, strict=False):
            self._check()
            write(out(name), mix[a:b], rate)
            c.file = name
            result.files.append(out(name))
            done += 1
            report(done, total, f"Writing {name}")
        for stem in stems:
            self._check()
            track: Audio = np.zeros_like(mix)
            for c, (a, b) in zip(clips, frames, strict=True):
                if self._stem_of(c) == stem:
                    track[a:b] = mix[a:b]
            name = safe_name(f"{self.base}_{stem}", f".{self.fmt}")
            write(out(name), track, rate)
            result.files.append(out(name))
            del track
            done += 1
            report(done, total, f"Writing the stem of {stem}")
        texts = {"srt": (safe_name(self.base, ".srt"), srt),
                 "vtt": (safe_name(self.base, ".vtt"), vtt),
                 "labels": (safe_name(self.base, "_labels.txt"), labels)}
        for kind, (name, render) in texts.items():
            if kind in self.what:
                self._check()
                self._write_text(out(name), render(clips))
                result.files.append(out(name))
            done += 1
            report(done, total, f"Writing {name}")
        if "manifest" in self.what:
            self._check()
            self._manifest(clips, mix_name if "mix" in self.what else "", result)
        report(total, total, "Done")
        return result

    @staticmethod
    def _stem_of(clip: Clip) -> str:
        return "+".join(dict.fromkeys(ln.speaker or "no speaker" for ln in clip.lines))

    def _write_text(self, path: Path, text: str) -> None:
        try:
            write_atomic(path, text.encode("utf-8"))
        except OSError as e:
            raise ExportError(f"Could not write {path.name}: {e.strerror}. Nothing was written "
                              "there; free some space or choose another folder.") from None

    def _manifest(self, clips: Sequence[Clip], mix_name: str, result: ExportResult) -> None:
        hashes: dict[str, str] = {}

        def digest(name: str) -> str:
            if name and name not in hashes:
                hashes[name] = file_sha256(self.folder / name)
            return hashes.get(name, "")

        rows = []
        for c in clips:
            file = c.file or mix_name
            group = c.source.group
            for row, line in zip(c.rows, c.lines, strict=True):
                rows.append({
                    "index": row + 1, "id": line.id, "speaker": line.speaker,
                    "voice": self.scene.voice_of(line.speaker), "text": line.text, "file": file,
                    "start": round(c.start, 3), "duration": round(c.duration, 3),
                    "take": c.source.take or "", "sha256": digest(file),
                    # A line cut from a dialogue clip: that clip's take, and where the line
                    # sits in it; "uncertain" when the cut may be off (check it by ear).
                    "group_take": (group.source.take or "") if group else "",
                    "group_start": round(group.start, 3) if group else "",
                    "group_duration": round(group.end - group.start, 3) if group else "",
                    "uncertain": bool(group and group.uncertain),
                })
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        csv_path = self.folder / safe_name(self.base, "_manifest.csv")
        json_path = self.folder / safe_name(self.base, "_manifest.json")
        self._write_text(csv_path, buf.getvalue())
        doc = {"format": "castline-export", "version": 1, "title": self.scene.title,
               "audio_format": self.fmt, "mix": mix_name or None,
               "duration": round(result.duration, 3), "lines": rows}
        self._write_text(json_path, json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
        result.files += [csv_path, json_path]
