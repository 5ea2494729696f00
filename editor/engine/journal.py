"""The render journal: what was sent, so that no render ever pays twice.

Before a submit is sent, an *intent* record is made durable; the moment the
submit answers, a *submitted* record with the task id. The next run resumes
polling submitted tasks instead of sending them again, and treats a bare
intent as "this request may already have been charged": it is never sent
again without the writer saying so (the editor asks, the CLI needs
``--resend-unknown``).

The journal is shared by every Castline process of this user: appends take a
shared lock on ``journal.lock`` and compaction an exclusive one, so a compaction
never drops another process's record; each request key has its own lock (see
:meth:`Journal.claim`) held from the intent to the submitted record, so two
renders of the same lines never both send. :meth:`Journal.refresh` reads what
other processes appended since.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from editor.core.atomic import append_durable, write_atomic
from editor.engine import locks

log = logging.getLogger(__name__)


def service_id(base_url: object) -> str:
    """The journal's name for a service: its base address, without a trailing slash."""
    return str(base_url).rstrip("/")


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    service: str
    state: str  # "intent" | "submitted"
    task_id: str | None
    time: float


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock_dir = self.path.parent / "locks"
        self._journal_lock = self.path.with_name(self.path.name + ".lock")
        self._open: dict[tuple[str, str], Entry] = {}
        self._records = 0
        self._offset = 0
        self._inode: int | None = None
        self.refresh()
        if self._records > 4 * max(16, len(self._open)):
            self._compact()

    # --- reading ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read what was appended since we last looked (by this or another process)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._reset()
            return
        if self._inode is not None and (st.st_ino != self._inode or st.st_size < self._offset):
            self._reset()  # compacted (replaced) by another process: read it whole again
        if st.st_size == self._offset:
            return
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                raw = f.read()
                self._inode = os.fstat(f.fileno()).st_ino
        except FileNotFoundError:
            self._reset()
            return
        complete = raw.rfind(b"\n") + 1  # a torn last line stays unread until it is closed
        for line in raw[:complete].split(b"\n"):
            if line.strip():
                self._apply(line)
        self._offset += complete

    def _reset(self) -> None:
        self._open.clear()
        self._records = 0
        self._offset = 0
        self._inode = None

    def _apply(self, line: bytes) -> None:
        try:
            rec: Any = json.loads(line)
            key, service, state = rec["key"], rec["service"], rec["state"]
        except (ValueError, KeyError, TypeError):
            return  # a torn line after a crash: ignore it
        self._records += 1
        if state in ("done", "cleared"):
            self._open.pop((service, key), None)
        elif state in ("intent", "submitted"):
            self._open[(service, key)] = Entry(key, service, state, rec.get("task_id"),
                                               float(rec.get("time", 0)))

    def _compact(self) -> None:
        # Only when no other process is appending (it would append to the replaced file).
        with locks.held(self._journal_lock, timeout=0) as got:
            if not got:
                return
            self.refresh()
            lines = [self._line(e.key, e.service, e.state, e.task_id, e.time)
                     for e in self._open.values()]
            data = b"".join(lines)
            try:
                write_atomic(self.path, data, private=True)
            except OSError as e:
                log.warning("could not compact the render journal: %s", e)
                return
            self._records = len(lines)
            self._offset = len(data)
            with contextlib.suppress(OSError):
                self._inode = self.path.stat().st_ino

    @staticmethod
    def _line(key: str, service: str, state: str, task_id: str | None, t: float) -> bytes:
        rec = {"key": key, "service": service, "state": state, "time": t}
        if task_id:
            rec["task_id"] = task_id
        return (json.dumps(rec) + "\n").encode()

    def _write(self, key: str, service: str, state: str, task_id: str | None = None) -> None:
        t = time.time()
        with locks.held(self._journal_lock, shared=True):
            append_durable(self.path, self._line(key, service, state, task_id, t))
        self.refresh()

    def get(self, service: str, key: str) -> Entry | None:
        return self._open.get((service, key))

    def open_entries(self) -> list[Entry]:
        return list(self._open.values())

    # --- one request at a time, across processes ----------------------------------------------

    def lock_of(self, service: str, key: str) -> Path:
        return locks.lock_path(self.lock_dir, service, key)

    @contextlib.asynccontextmanager
    async def claim(self, service: str, key: str) -> AsyncIterator[Entry | None]:
        """Hold the request's cross-process lock; yields its entry as of now (re-read)."""
        async with locks.claimed(self.lock_of(service, key)):
            self.refresh()
            yield self.get(service, key)

    def in_flight(self, service: str, key: str) -> bool:
        """Another render (this process or another) is sending this request right now."""
        return locks.is_held(self.lock_of(service, key))

    def maybe_charged(self, service: str, key: str) -> bool:
        """Sent once, its answer lost (or the sender killed mid-send): it may have been
        charged, and nobody is sending it now."""
        entry = self.get(service, key)
        return entry is not None and entry.state == "intent" and not self.in_flight(service, key)

    # --- writing --------------------------------------------------------------------------------

    def intent(self, service: str, key: str) -> None:
        self._write(key, service, "intent")

    def submitted(self, service: str, key: str, task_id: str) -> None:
        self._write(key, service, "submitted", task_id)

    def done(self, service: str, key: str) -> None:
        self._write(key, service, "done")

    def clear(self, service: str, key: str) -> None:
        """Forget the request: provably not charged (refused, never sent), or the writer
        chose to drop it."""
        with contextlib.suppress(OSError):
            self._write(key, service, "cleared")
