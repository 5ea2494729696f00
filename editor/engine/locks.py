"""Advisory file locks shared by every Castline process on this computer.

Two renders of one scene (two ``castline render``, or the editor and a CLI)
must never both send the same request. Each request key has a lock file; the
process holding it is the only one allowed to move that request from *intent*
to *submitted*. The operating system drops a lock when its process dies, so a
killed render never leaves a request locked.

POSIX uses ``flock`` (per open file, so two opens in one process exclude each
other too); Windows uses ``msvcrt.locking`` on the first byte (exclusive only).
Waiting never blocks the event loop: a non-blocking attempt is retried with a
short asynchronous sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

if sys.platform == "win32":  # pragma: no cover - exercised by the Windows build only
    import msvcrt

    def _try(fd: int, shared: bool) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _release(fd: int) -> None:
        with contextlib.suppress(OSError):
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try(fd: int, shared: bool) -> bool:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _release(fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)


def _open(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    return os.open(path, flags, 0o600)


def lock_path(directory: Path, *parts: str) -> Path:
    """The lock file for ``parts`` (e.g. a service and a request key) in ``directory``."""
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:40]
    return directory / f"{digest}.lock"


@contextlib.contextmanager
def held(path: Path, *, shared: bool = False, timeout: float = 30.0) -> Iterator[bool]:
    """Hold the lock (blocking up to ``timeout`` s, for short critical sections off the
    event loop). Yields False when it could not be had in time."""
    fd = _open(path)
    try:
        deadline = time.monotonic() + timeout
        got = _try(fd, shared)
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
            got = _try(fd, shared)
        try:
            yield got
        finally:
            if got:
                _release(fd)
    finally:
        os.close(fd)


@contextlib.asynccontextmanager
async def claimed(path: Path, *, poll: float = 0.05) -> AsyncIterator[None]:
    """Hold the lock exclusively, waiting for it without blocking the event loop."""
    fd = _open(path)
    try:
        while not _try(fd, False):
            await asyncio.sleep(poll)
        try:
            yield
        finally:
            _release(fd)
    finally:
        os.close(fd)


def is_held(path: Path) -> bool:
    """True while another process (or another open in this one) holds the lock."""
    if not path.exists():
        return False
    fd = _open(path)
    try:
        if _try(fd, False):
            _release(fd)
            return False
        return True
    finally:
        os.close(fd)
