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

A mailed project is input from strangers: every record passes the gate in
:mod:`editor.engine.projectfs` (plain take ids, files directly inside ``audio/``, no
symbolic links anywhere), and a record that fails it is ignored with one warning in
:attr:`TakeStore.warnings`; its file is never opened, deleted, copied or linked.

A take records, per line it speaks, the *line key*: the hash of what decides
that line's audio (model, voice, spoken text, stability, language). A take is
*usable* for a line while every line it speaks still has the key it was
rendered with; the line's audio is its chosen (active) take when usable, else
its newest usable take. So an edit marks the line changed, and undoing the
edit brings the old take back without paying again.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Concatenate, ParamSpec, TypeVar

from editor.engine.audiocheck import sniff_audio_suffix
from editor.engine.projectfs import (
    AUDIO_DIR,
    MAX_INDEX_BYTES,
    MAX_RECORD_BYTES,
    RefusedPath,
    SafeDir,
    audio_name,
    take_file_problem,
    take_id_problem,
)

log = logging.getLogger(__name__)

FORMAT = "castline-takes"
VERSION = 1
INDEX = "index.jsonl"
SUFFIX = ".takes"
_UNSAVED = re.compile(r"[0-9a-f]{24}\.takes")  # unsaved/<secrets.token_hex(12)>.takes


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

    # A dialogue request's clip is kept whole as a *group* take (never chosen by itself);
    # each of its lines gets a *piece*: its cut of that clip, a take of the line alone.
    @property
    def is_group(self) -> bool:
        return self.extra.get("kind") == "group"

    @property
    def group(self) -> str | None:
        """The group take this piece was cut from (None: not a piece)."""
        value = self.extra.get("group")
        return value if isinstance(value, str) else None

    @property
    def span(self) -> tuple[float, float] | None:
        """A piece's start and end, in seconds, within its group's clip."""
        start, end = self.extra.get("start"), self.extra.get("end")
        if isinstance(start, int | float) and isinstance(end, int | float) and 0 <= start < end:
            return float(start), float(end)
        return None

    @property
    def uncertain(self) -> bool:
        return bool(self.extra.get("uncertain", False))

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


def is_unsaved_takes(root: Path, staging: Path) -> bool:
    """Is ``root`` an unsaved scene's takes folder in ``staging`` (a name Castline made, so a
    recovery file cannot point elsewhere, nor at ``staging/..``)?"""
    return Path(root).parent == Path(staging) and _UNSAVED.fullmatch(Path(root).name) is not None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _exclusive(method: Callable[Concatenate[TakeStore, _P], _R]
               ) -> Callable[Concatenate[TakeStore, _P], _R]:
    """Run a writing method under the takes folder's cross-process lock."""
    @functools.wraps(method)
    def locked(self: TakeStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._writing():
            return method(self, *args, **kwargs)
    return locked


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
        self._files: dict[str, str] = {}  # audio file (casefolded) -> the take that owns it
        self._write_depth = 0  # see _writing
        self.generation = 0  # bumped on every change, for callers' memos
        self.damaged_records = 0
        self.warnings: list[str] = []  # records the gate ignored, each said once, for the writer
        self._load()

    # --- reading -----------------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return self.root / INDEX

    def _load(self) -> None:
        self._offset = 0
        try:  # a link where the folder, the index or audio/ should be is refused at once
            with self._root() as root:
                audio = root.lstat(AUDIO_DIR)
                if audio is not None:
                    root.sub(AUDIO_DIR).close()
        except FileNotFoundError:
            return
        except OSError as e:
            raise self._error("Cannot read the takes of this scene", e) from None
        self._catch_up()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold this takes folder's cross-process lock while reading the latest records and
        appending ours: the editor and ``castline render`` may add takes at once, and two
        processes must never pick the same take id or interleave a record."""
        if self._write_depth:
            self._write_depth += 1
            try:
                yield
            finally:
                self._write_depth -= 1
            return
        from editor.engine import locks
        from editor.engine.cache import default_state_dir

        where = locks.lock_path(default_state_dir() / "locks", "takes",
                                os.path.realpath(self.root))
        with locks.held(where):
            self._write_depth = 1
            try:
                yield
            finally:
                self._write_depth = 0

    @contextlib.contextmanager
    def _root(self, *, create: bool = False) -> Iterator[SafeDir]:
        """The takes folder, opened without following a link (see :mod:`projectfs`)."""
        with SafeDir.open(self.root, create=create) as root:
            yield root

    def _error(self, what: str, e: OSError) -> TakeError:
        if isinstance(e, RefusedPath):
            return TakeError(f"{what}: {e}")
        return TakeError(f"{what} ({self.root}): {e.strerror or e}.")

    def _catch_up(self) -> None:
        """Read what was appended since we last looked (the command line may render into the
        same scene while the editor has it open). Records are idempotent, so reading our own
        appends again is harmless."""
        try:
            with self._root() as root:
                f = root.read_file(INDEX, MAX_INDEX_BYTES)
        except FileNotFoundError:
            return
        except OSError as e:
            raise self._error("Cannot read the takes of this scene", e) from None
        with f:
            size = os.fstat(f.fileno()).st_size
            if size == self._offset:
                return
            if size < self._offset:  # rewritten (compacted) by another process: start over
                self._reset()
            f.seek(self._offset)
            records, end, torn = _read_records(f, self._offset)
        # A torn last record (a crash while appending) stays unread until a newline closes it;
        # it is counted as damaged once, when first seen.
        self._needs_newline = torn
        if torn and self._torn_at != end:
            self._torn_at = end
            self.damaged_records += 1
            log.warning("takes index %s: a torn last record is skipped", self.index_path)
        if end == self._offset:
            return
        for start, chunk in records:
            if chunk is not None and not chunk.strip():
                continue
            try:
                if chunk is None:
                    raise ValueError(f"longer than {MAX_RECORD_BYTES // 2**20} MB")
                record = json.loads(chunk)
                problem = _gate(record)
                if problem is None:
                    problem = self._apply(record)
                if problem is not None:
                    self._refuse(start, record, problem)
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                if start != self._torn_at:  # the torn record, now closed: counted already
                    self.damaged_records += 1
                    log.warning("takes index %s: a record at byte %d skipped (%s)",
                                self.index_path, start, e)
        self._offset = end
        self.generation += 1

    def _refuse(self, start: int, record: dict[str, Any], problem: str) -> None:
        op, take = str(record.get("op"))[:12], record.get("take")
        take_id = take.get("id") if isinstance(take, dict) else take
        shown = repr(take_id) if len(repr(take_id)) <= 48 else repr(take_id)[:45] + "..."
        message = (f"{self.index_path.name}: the {op!r} record of take {shown} at byte {start} "
                   f"is ignored: {problem}.")
        if message not in self.warnings:
            self.warnings.append(message)
            log.warning("takes index %s: %s", self.index_path, message)

    def _reset(self) -> None:
        self._takes.clear()
        self._order.clear()
        self._by_line.clear()
        self._active.clear()
        self._deleted.clear()
        self._files.clear()
        self._offset = 0

    def _apply(self, record: dict[str, Any]) -> str | None:
        """Take in one record that passed the gate; a reason if it must be ignored after all."""
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
                    return None  # read again (our own append, seen on catching up)
                raise ValueError(f"duplicate take {take.id}")
            owner = self._files.setdefault(take.file.casefold(), take.id)
            if owner != take.id:
                return f"its file {take.file!r} belongs to take {owner!r}"
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
        return None

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

    def path(self, take: Take) -> Path | None:
        """Where the take's audio is, for a player; None unless it is a regular file directly
        inside this folder's ``audio/`` with no link on the way (see :meth:`open_audio`)."""
        if take_file_problem(take.file) is not None:
            return None
        try:
            with self._root() as root, root.sub(AUDIO_DIR) as audio:
                st = audio.lstat(audio_name(take.file))
        except OSError:
            return None
        return self.root / take.file if st is not None and stat.S_ISREG(st.st_mode) else None

    def open_audio(self, take: Take) -> BinaryIO:
        """The take's audio, opened so that no link is followed (export reads it this way)."""
        try:
            with self._root() as root, root.sub(AUDIO_DIR) as audio:
                return audio.read_file(audio_name(take.file))
        except OSError as e:
            raise self._error(f"Cannot read the audio of {take.id}", e) from None

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
        try:
            with self._root(create=True) as root:
                fd = root.open_file(INDEX, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                with os.fdopen(fd, "ab") as f:
                    fresh = os.fstat(fd).st_size == 0
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
                    root.fsync()
        except RefusedPath as e:
            raise self._error("Could not record the take", e) from None
        except OSError as e:
            raise TakeError(f"Could not record the take in {self.root}: {e.strerror}. "
                            "The audio is still in the cache; free some space and render "
                            "again (it costs nothing).") from None
        self.generation += 1

    @_exclusive
    def add(self, line_keys: dict[str, str], texts: dict[str, str], request: dict[str, Any],
            request_key: str, audio: Path, *, cost: float, sandbox: bool,
            activate: Callable[[str], bool] | None = None,
            extra: dict[str, Any] | None = None) -> Take:
        """Keep ``audio`` (copied or hard-linked in) as a new take of the lines, made the
        active take of each line for which ``activate`` answers True (default: all).

        The same audio already kept for the same lines is not kept twice: that take
        is returned (and made active where ``activate`` says).
        """
        self._catch_up()
        chosen = [i for i in line_keys if activate is None or activate(i)]
        digest = file_sha256(audio)
        for take_id in self._by_line.get(next(iter(line_keys)), ()):
            take = self._takes[take_id]
            if take.sha256 == digest and take.lines == line_keys and take.id not in self._deleted:
                if chosen:
                    self.set_active_many(chosen, take.id)
                return take
        with open(audio, "rb") as f:
            suffix = sniff_audio_suffix(f.read(16))
        take_id = self._fresh_id()
        rel = f"{AUDIO_DIR}/{take_id}{suffix}"
        self._place(audio, None, rel)
        take = Take(take_id, dict(line_keys), dict(texts), dict(request), request_key, rel,
                    digest, float(cost), time.time(), sandbox, dict(extra or {}))
        records: list[dict[str, Any]] = [{"op": "add", "take": take.to_data()}]
        records += [{"op": "active", "line": line_id, "take": take_id} for line_id in chosen]
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
        if take_id in self._takes:
            return True
        try:
            with self._root() as root, root.sub(AUDIO_DIR) as audio:
                return any(n.startswith(f"{take_id}.") for n in audio.listdir())
        except FileNotFoundError:
            return False
        except OSError as e:
            raise self._error("Cannot read the takes of this scene", e) from None

    def _place(self, src: Path | TakeStore, take: Take | None, rel: str) -> None:
        """Put audio in as ``rel`` (``audio/NAME``): a file of the cache (``src`` a path), or
        ``take``'s audio in another store. A hard link where the disk allows (it costs no space;
        safe because cache files are only ever replaced, never rewritten in place), else a copy.
        Everything is reached through :class:`SafeDir`: no link is followed on either side."""
        name = audio_name(rel)
        tmp = f".{name}.{secrets.token_hex(4)}.part"
        try:
            with self._root(create=True) as root, root.sub(AUDIO_DIR, create=True) as audio:
                try:
                    if isinstance(src, TakeStore):
                        assert take is not None
                        with src._root() as other, other.sub(AUDIO_DIR) as other_audio:
                            try:
                                audio.link_here(other_audio, audio_name(take.file), tmp)
                            except RefusedPath:
                                raise
                            except OSError:
                                with other_audio.read_file(audio_name(take.file)) as f:
                                    audio.write_new(tmp, f)
                    else:
                        try:
                            audio.link_here(src, None, tmp)
                        except RefusedPath:
                            raise
                        except OSError:
                            with open(src, "rb") as f:
                                audio.write_new(tmp, f)
                    audio.replace(tmp, name)
                except BaseException:
                    with contextlib.suppress(OSError):
                        audio.unlink(tmp)
                    raise
                audio.fsync()
        except RefusedPath as e:
            raise self._error("Could not keep the take", e) from None
        except OSError as e:
            raise TakeError(f"Could not keep the take in {self.root}: {e.strerror}. The audio "
                            "is still in the cache; free some space and render again (it costs "
                            "nothing).") from None

    def set_active(self, line_id: str, take_id: str | None) -> str | None:
        """Choose the line's take (None: automatic); returns the previous choice."""
        return self.set_active_many([line_id], take_id)[0]

    @_exclusive
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

    @_exclusive
    def delete(self, take_id: str) -> None:
        self._catch_up()
        if take_id in self._takes and take_id not in self._deleted:
            record = {"op": "delete", "take": take_id}
            self._append([record])
            self._apply(record)

    @_exclusive
    def restore(self, take_id: str) -> None:
        self._catch_up()
        if take_id in self._deleted:
            record = {"op": "restore", "take": take_id}
            self._append([record])
            self._apply(record)

    # --- whole folders ---------------------------------------------------------------------

    @_exclusive
    def merge_from(self, other: TakeStore) -> dict[str, str]:
        """Take in every take of ``other`` (audio and choices); returns old id -> new id.

        Used when a scene is saved under a new name: the takes travel with it.
        """
        self._catch_up()
        mapping: dict[str, str] = {}
        records: list[dict[str, Any]] = []
        for take in other.all_takes():
            if other.path(take) is None:  # gone, or not a regular file of its own: left behind
                continue
            new_id = self._fresh_id() if self._id_taken(take.id) else take.id
            rel = f"{AUDIO_DIR}/{new_id}{Path(take.file).suffix}"
            self._place(other, take, rel)
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

    @_exclusive
    def purge_deleted(self) -> int:
        """Remove the audio of deleted takes and rewrite the index without them (and without
        damaged records, so they are reported once).

        Done when a scene is opened (undo cannot reach them any more). Returns
        how many takes were removed.
        """
        self._catch_up()
        gone = [t for t in self._order if t in self._deleted]
        if not gone and not self.damaged_records and not self.warnings:
            return 0
        keep = [self._takes[t] for t in self._order if t not in self._deleted]
        lines = [_record({"op": "header", "format": FORMAT, "version": VERSION})]
        lines += [_record({"op": "add", "take": t.to_data()}) for t in keep]
        lines += [_record({"op": "active", "line": line_id, "take": take_id})
                  for line_id, take_id in self._active.items() if take_id not in self._deleted]
        data = b"".join(lines)
        try:
            with self._root() as root:
                root.write_atomic(INDEX, data)
                audio = root.sub(AUDIO_DIR) if root.lstat(AUDIO_DIR) is not None else None
                with audio or contextlib.nullcontext():
                    for take_id in gone:
                        # A name directly inside audio/ (the gate saw to it); unlink removes a
                        # link itself, never what it points at.
                        if audio is not None:
                            with contextlib.suppress(OSError):
                                audio.unlink(audio_name(self._takes[take_id].file))
        except RefusedPath as e:
            raise self._error("Cannot tidy the takes of this scene", e) from None
        except OSError as e:
            log.warning("could not compact %s: %s", self.index_path, e)
            return 0
        for take_id in gone:
            take = self._takes.pop(take_id)
            self._files.pop(take.file.casefold(), None)
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


def _gate(record: Any) -> str | None:
    """Why the gate ignores ``record`` (None: it may be applied). Raises for a record that is
    not even the right shape (counted as damaged)."""
    if not isinstance(record, dict):
        raise TypeError("not a JSON object")
    op = record["op"]
    if op == "add":
        take = record["take"]
        if not isinstance(take, dict):
            raise TypeError("take")
        return take_id_problem(take["id"]) or take_file_problem(take["file"])
    if op in ("delete", "restore"):
        return take_id_problem(record["take"])
    if op == "active" and record.get("take") is not None:
        return take_id_problem(record["take"])
    return None


def _read_records(f: BinaryIO, offset: int) -> tuple[list[tuple[int, bytes | None]], int, bool]:
    """The complete records from ``f`` (positioned at ``offset``): each one's start and bytes
    (None: longer than any record Castline writes, skipped without holding it in memory);
    where they end; and whether a torn (unterminated) record follows."""
    records: list[tuple[int, bytes | None]] = []
    pos = offset
    while True:
        line = f.readline(MAX_RECORD_BYTES + 1)
        if not line:
            return records, pos, False
        if line.endswith(b"\n"):
            records.append((pos, line))
            pos += len(line)
            continue
        if len(line) <= MAX_RECORD_BYTES:
            return records, pos, True
        length = len(line)
        while not line.endswith(b"\n"):
            line = f.readline(1 << 20)
            if not line:
                return records, pos, True
            length += len(line)
        records.append((pos, None))
        pos += length
