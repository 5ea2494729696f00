"""The render journal: what was sent, so that a killed render never pays twice.

Before a submit is sent, an *intent* record is made durable; the moment the
submit answers, a *submitted* record with the task id. The next run resumes
polling submitted tasks instead of sending them again, and treats a bare
intent as "this request may already have been charged" (the editor asks, the
CLI warns).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from editor.core.atomic import append_durable, write_atomic


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
        self._open: dict[tuple[str, str], Entry] = {}
        self._records = 0
        self._load()

    def _load(self) -> None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        for line in raw.split(b"\n"):
            if not line.strip():
                continue
            try:
                rec: Any = json.loads(line)
                key, service, state = rec["key"], rec["service"], rec["state"]
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line after a crash: ignore it
            self._records += 1
            if state in ("done", "cleared"):
                self._open.pop((service, key), None)
            elif state in ("intent", "submitted"):
                self._open[(service, key)] = Entry(key, service, state, rec.get("task_id"),
                                                   float(rec.get("time", 0)))
        if self._records > 4 * max(16, len(self._open)):
            self._compact()

    def _compact(self) -> None:
        lines = [self._line(e.key, e.service, e.state, e.task_id, e.time) for e in self._open.values()]
        write_atomic(self.path, b"".join(lines))
        self._records = len(lines)

    @staticmethod
    def _line(key: str, service: str, state: str, task_id: str | None, t: float) -> bytes:
        rec = {"key": key, "service": service, "state": state, "time": t}
        if task_id:
            rec["task_id"] = task_id
        return (json.dumps(rec) + "\n").encode()

    def _write(self, key: str, service: str, state: str, task_id: str | None = None) -> None:
        t = time.time()
        append_durable(self.path, self._line(key, service, state, task_id, t))
        self._records += 1
        if state in ("done", "cleared"):
            self._open.pop((service, key), None)
        else:
            self._open[(service, key)] = Entry(key, service, state, task_id, t)

    def get(self, service: str, key: str) -> Entry | None:
        return self._open.get((service, key))

    def open_entries(self) -> list[Entry]:
        return list(self._open.values())

    def intent(self, service: str, key: str) -> None:
        self._write(key, service, "intent")

    def submitted(self, service: str, key: str, task_id: str) -> None:
        self._write(key, service, "submitted", task_id)

    def done(self, service: str, key: str) -> None:
        self._write(key, service, "done")

    def clear(self, service: str, key: str) -> None:
        """The request was provably not charged (refused, never sent): forget the intent."""
        with contextlib.suppress(OSError):
            self._write(key, service, "cleared")
