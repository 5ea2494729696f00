"""Takes: every render of a line is kept, with what was sent, and one is chosen.

A scene's takes live beside it: ``Scene.castline`` and the folder
``Scene.takes/``, which holds

- ``audio/take-N.mp3`` (or .wav/.flac/.ogg, whatever the service sent), and
- ``index.jsonl``: an append-only log, one JSON record per line:
  ``{"op": "add", "take": {...}}``, ``{"op": "active", "line": ID, "take": ID|null}``,
  ``{"op": "delete"|"restore", "take": ID}``.

Appending keeps a render of thousands of lines cheap (no rewrite per take) and
makes a crash harmless: a torn last record is dropped on the next open, and
the audio is in place before its record is written. Paths in the index are
relative, so moving or mailing the pair keeps everything.

A take records, per line it speaks, the *line key*: the hash of what decides
that line's audio (model, voice, spoken text, stability, language). A take is
*usable* for a line while every line it speaks still has the key it was
rendered with; the line's audio is its chosen (active) take when usable, else
its newest usable take. So an edit marks the line changed, and undoing the
edit brings the old take back without paying again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from editor.core.atomic import fsync_dir
from editor.engine.audiocheck import sniff_audio_suffix

log = logging.getLogger(__name__)

FORMAT = "castline-takes"
VERSION = 1
INDEX = "index.jsonl"
SUFFIX = ".takes"


class TakeError(OSError):
    """The takes folder cannot be read or written; the message is for the writer."""


@dataclass(frozen=True, slots=True)
class Take:
    id: str
    lines: dict[str, str]  # line id -> line key when rendered (one entry, or a dialogue's lines)
    texts: dict[str, str]  # line id -> the writer's text when rendered
    request: dict[str, Any]  # the exact body sent
    request_key: str
    file: str  # relative to the takes folder
    sha256: str
    cost: float  # the estimate, in credits
    created: float  # unix time
    sandbox: bool = False  # rendered by the built-in stand-in service, not the real one
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def line_ids(self) -> list[str]:
        return list(self.lines)

    def to_data(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(data.pop("extra"))
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Take:
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        lines = data["lines"]
        if not isinstance(lines, dict) or not lines or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in lines.items()):
            raise ValueError("lines")
        if not isinstance(data["id"], str) or not isinstance(data["file"], str):
            raise TypeError("id/file")
        return cls(id=data["id"], lines=dict(lines), texts=dict(data.get("texts") or {}),
                   request=dict(data.get("request") or {}), request_key=str(data["request_key"]),
                   file=data["file"], sha256=str(data.get("sha256", "")),
                   cost=float(data.get("cost", 0.0)), created=float(data.get("created", 0.0)),
                   sandbox=bool(data.get("sandbox", False)),
                   extra={k: v for k, v in data.items() if k not in known})


def takes_dir_for(scene_path: Path) -> Path:
    """``Scene.castline`` -> ``Scene.takes`` beside it."""
    return Path(scene_path).with_suffix(SUFFIX)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


KeyOf = Callable[[str], "str | None"]  # line id -> its current line key (None: gone or silent)


class TakeStore:
    """One scene's takes. Nothing is written until the first take arrives."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._takes: dict[str, Take] = {}
        self._order: list[str] = []
        self._by_line: dict[str, list[str]] = {}
        self._active: dict[str, str] = {}
        self._deleted: set[str] = set()
        self._next = 1
        self._needs_newline = False
        self._offset = 0  # bytes of the index read so far
        self._torn_at: int | None = None  # where a torn last record starts, once seen
        self.generation = 0  # bumped on every change, for callers' memos
        self.damaged_records = 0
        self._load()

    # --- reading -----------------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return self.root / INDEX

    def _load(self) -> None:
        self._offset = 0
        self._catch_up()

    def _catch_up(self) -> None:
        """Read what was appended since we last looked (the command line may render into the
        same scene while the editor has it open). Records are idempotent, so reading our own
        appends again is harmless."""
        try:
            size = self.index_path.stat().st_size
            if size == self._offset:
                return
            if size < self._offset:  # rewritten (compacted) by another process: start over
                self._reset()
            with open(self.index_path, "rb") as f:
                f.seek(self._offset)
                raw = f.read()
        except FileNotFoundError:
            return
        except OSError as e:
            raise TakeError(f"Cannot read the takes of this scene ({self.index_path}): "
                            f"{e.strerror}.") from None
        complete = raw.rfind(b"\n") + 1
        # A torn last record (a crash while appending) stays unread until a newline closes it;
        # it is counted as damaged once, when first seen.
        self._needs_newline = complete < len(raw)
        if self._needs_newline and self._torn_at != self._offset + complete:
            self._torn_at = self._offset + complete
            self.damaged_records += 1
            log.warning("takes index %s: a torn last record is skipped", self.index_path)
        if not complete:
            return
        pos = self._offset
        for chunk in raw[:complete].split(b"\n"):
            start, pos = pos, pos + len(chunk) + 1
            if not chunk.strip():
                continue
            try:
                record = json.loads(chunk)
                self._apply(record)
            except (ValueError, KeyError, TypeError) as e:
                if start != self._torn_at:  # the torn record, now closed: counted already
                    self.damaged_records += 1
                    log.warning("takes index %s: a record at byte %d skipped (%s)",
                                self.index_path, start, e)
        self._offset += complete
        self.generation += 1

    def _reset(self) -> None:
        self._takes.clear()
        self._order.clear()
        self._by_line.clear()
        self._active.clear()
        self._deleted.clear()
        self._offset = 0

    def _apply(self, record: dict[str, Any]) -> None:
        op = record["op"]
        if op == "header":
            if record.get("format") != FORMAT:
                raise ValueError("not a takes index")
            if int(record.get("version", 0)) > VERSION:
                raise TakeError(f"{self.index_path}: written by a newer Castline; update Castline "
                                "to use these takes.")
        elif op == "add":
            take = Take.from_data(record["take"])
            if take.id in self._takes:
                if self._takes[take.id] == take:
                    return  # read again (our own append, seen on catching up)
                raise ValueError(f"duplicate take {take.id}")
            self._takes[take.id] = take
            self._order.append(take.id)
            for line_id in take.lines:
                self._by_line.setdefault(line_id, []).append(take.id)
            self._bump_next(take.id)
        elif op == "active":
            line_id, take_id = str(record["line"]), record.get("take")
            if take_id is None:
                self._active.pop(line_id, None)
            else:
                self._active[line_id] = str(take_id)
        elif op == "delete":
            self._deleted.add(str(record["take"]))
        elif op == "restore":
            self._deleted.discard(str(record["take"]))
        else:
            raise ValueError(f"unknown op {op!r}")

    def _bump_next(self, take_id: str) -> None:
        head, _, number = take_id.rpartition("-")
        if head == "take" and number.isdigit():
            self._next = max(self._next, int(number) + 1)

    def refresh(self) -> bool:
        """Take in what another process (the command line) added; True if anything changed."""
        before = self.generation
        self._catch_up()
        return self.generation != before

    def __len__(self) -> int:
        return len(self._order) - len(self._deleted & set(self._order))

    def get(self, take_id: str) -> Take | None:
        return self._takes.get(take_id)

    def all_takes(self, *, deleted: bool = False) -> list[Take]:
        return [self._takes[t] for t in self._order if deleted or t not in self._deleted]

    def takes_for(self, line_id: str) -> list[Take]:
        """The line's takes, oldest first (deleted ones left out)."""
        return [self._takes[t] for t in self._by_line.get(line_id, ()) if t not in self._deleted]

    def active_id(self, line_id: str) -> str | None:
        return self._active.get(line_id)

    def is_deleted(self, take_id: str) -> bool:
        return take_id in self._deleted

    def path(self, take: Take) -> Path:
        return self.root / take.file

    def usable(self, take: Take, key_of: KeyOf) -> bool:
        return take.id not in self._deleted and all(
            key_of(line_id) == key for line_id, key in take.lines.items())

    def resolve(self, line_id: str, key_of: KeyOf, *, sandbox: bool) -> Take | None:
        """The take that speaks ``line_id`` now: the active one if usable, else the newest usable."""
        active = self._active.get(line_id)
        if active is not None:
            take = self._takes.get(active)
            if take is not None and take.sandbox == sandbox and self.usable(take, key_of):
                return take
        for take in reversed(self.takes_for(line_id)):
            if take.sandbox == sandbox and self.usable(take, key_of):
                return take
        return None

    # --- writing -------------------------------------------------------------------------

    def _append(self, records: Iterable[dict[str, Any]]) -> None:
        fresh = not self.index_path.exists()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with open(self.index_path, "ab") as f:
                if self._needs_newline:
                    f.write(b"\n")  # close a torn record so the next one stands on its own
                    self._needs_newline = False
                if fresh:
                    f.write(_record({"op": "header", "format": FORMAT, "version": VERSION}))
                for record in records:
                    f.write(_record(record))
                f.flush()
                os.fsync(f.fileno())
            if fresh:
                fsync_dir(self.root)
        except OSError as e:
            raise TakeError(f"Could not record the take in {self.root}: {e.strerror}. "
                            "The audio is still in the cache; free some space and render "
                            "again (it costs nothing).") from None
        self.generation += 1

    def add(self, line_keys: dict[str, str], texts: dict[str, str], request: dict[str, Any],
            request_key: str, audio: Path, *, cost: float, sandbox: bool) -> Take:
        """Keep ``audio`` (copied or hard-linked in) as a new take of the lines, made their
        active take.

        The same audio already kept for the same lines is not kept twice: that take
        is returned (and made active).
        """
        self._catch_up()
        digest = file_sha256(audio)
        for take_id in self._by_line.get(next(iter(line_keys)), ()):
            take = self._takes[take_id]
            if take.sha256 == digest and take.lines == line_keys and take.id not in self._deleted:
                self.set_active_many(list(line_keys), take.id)
                return take
        with open(audio, "rb") as f:
            suffix = sniff_audio_suffix(f.read(16))
        take_id = self._fresh_id()
        rel = f"audio/{take_id}{suffix}"
        self._place(audio, self.root / rel)
        take = Take(take_id, dict(line_keys), dict(texts), dict(request), request_key, rel,
                    digest, float(cost), time.time(), sandbox)
        records: list[dict[str, Any]] = [{"op": "add", "take": take.to_data()}]
        records += [{"op": "active", "line": line_id, "take": take_id} for line_id in line_keys]
        self._append(records)
        for r in records:
            self._apply(r)
        return take

    def _fresh_id(self) -> str:
        """The next take id, never one whose audio is already on disk (another process may
        have just written it)."""
        while self._id_taken(f"take-{self._next}"):
            self._next += 1
        return f"take-{self._next}"

    def _id_taken(self, take_id: str) -> bool:
        audio = self.root / "audio"
        return take_id in self._takes or (audio.is_dir() and any(audio.glob(f"{take_id}.*")))

    def _place(self, src: Path, dest: Path) -> None:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
            try:
                # A hard link costs no space; safe because cache files are only ever replaced
                # (a new file renamed in), never rewritten in place.
                os.link(src, tmp)
            except OSError:
                shutil.copyfile(src, tmp)
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
            os.replace(tmp, dest)
            fsync_dir(dest.parent)
        except OSError as e:
            with contextlib.suppress(OSError, UnboundLocalError):
                tmp.unlink()
            raise TakeError(f"Could not keep the take in {self.root}: {e.strerror}. The audio "
                            "is still in the cache; free some space and render again (it costs "
                            "nothing).") from None

    def set_active(self, line_id: str, take_id: str | None) -> str | None:
        """Choose the line's take (None: automatic); returns the previous choice."""
        return self.set_active_many([line_id], take_id)[0]

    def set_active_many(self, line_ids: list[str], take_id: str | None) -> list[str | None]:
        self._catch_up()
        old = [self._active.get(i) for i in line_ids]
        records = [{"op": "active", "line": i, "take": take_id} for i, o in zip(line_ids, old,
                                                                                 strict=True)
                   if o != take_id]
        if records:
            self._append(records)
            for r in records:
                self._apply(r)
        return old

    def delete(self, take_id: str) -> None:
        self._catch_up()
        if take_id in self._takes and take_id not in self._deleted:
            record = {"op": "delete", "take": take_id}
            self._append([record])
            self._apply(record)

    def restore(self, take_id: str) -> None:
        self._catch_up()
        if take_id in self._deleted:
            record = {"op": "restore", "take": take_id}
            self._append([record])
            self._apply(record)

    # --- whole folders ---------------------------------------------------------------------

    def merge_from(self, other: TakeStore) -> dict[str, str]:
        """Take in every take of ``other`` (audio and choices); returns old id -> new id.

        Used when a scene is saved under a new name: the takes travel with it.
        """
        self._catch_up()
        mapping: dict[str, str] = {}
        records: list[dict[str, Any]] = []
        for take in other.all_takes():
            if not other.path(take).is_file():
                continue
            new_id = self._fresh_id() if self._id_taken(take.id) else take.id
            rel = f"audio/{new_id}{Path(take.file).suffix}"
            self._place(other.path(take), self.root / rel)
            moved = Take(new_id, take.lines, take.texts, take.request, take.request_key, rel,
                         take.sha256, take.cost, take.created, take.sandbox, take.extra)
            record = {"op": "add", "take": moved.to_data()}
            self._apply(record)
            records.append(record)
            mapping[take.id] = new_id
        for line_id, take_id in other._active.items():
            if take_id in mapping:
                record = {"op": "active", "line": line_id, "take": mapping[take_id]}
                self._apply(record)
                records.append(record)
        if records:
            self._append(records)
        return mapping

    def purge_deleted(self) -> int:
        """Remove the audio of deleted takes and rewrite the index without them (and without
        damaged records, so they are reported once).

        Done when a scene is opened (undo cannot reach them any more). Returns
        how many takes were removed.
        """
        self._catch_up()
        gone = [t for t in self._order if t in self._deleted]
        if not gone and not self.damaged_records:
            return 0
        keep = [self._takes[t] for t in self._order if t not in self._deleted]
        lines = [_record({"op": "header", "format": FORMAT, "version": VERSION})]
        lines += [_record({"op": "add", "take": t.to_data()}) for t in keep]
        lines += [_record({"op": "active", "line": line_id, "take": take_id})
                  for line_id, take_id in self._active.items() if take_id not in self._deleted]
        from editor.core.atomic import write_atomic

        data = b"".join(lines)
        try:
            write_atomic(self.index_path, data)
        except OSError as e:
            log.warning("could not compact %s: %s", self.index_path, e)
            return 0
        for take_id in gone:
            with contextlib.suppress(OSError):
                (self.root / self._takes[take_id].file).unlink()
            take = self._takes.pop(take_id)
            self._order.remove(take_id)
            for line_id in take.lines:
                with contextlib.suppress(ValueError):
                    self._by_line[line_id].remove(take_id)
        self._deleted.clear()
        self._active = {k: v for k, v in self._active.items() if v in self._takes}
        self._needs_newline = False
        self._offset = len(data)
        self._torn_at = None
        self.generation += 1
        return len(gone)


def _record(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
