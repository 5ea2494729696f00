"""Durable file writes: never leave a half-written file where a good one was.

Permissions are what people expect of an editor: a new scene, ``.bak`` or export follows the
user's umask (the temporary file is created with mode 0666 and the kernel applies the umask,
as for any ``open``); replacing an existing file keeps its mode. Private state (the journal,
recovery copies, the log, an unsaved scene's takes) is written with ``private=True``: 0600,
in folders made 0700 by :func:`private_dir`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def create_temp(directory: Path, prefix: str, suffix: str, *, private: bool = False,
                like: Path | None = None) -> tuple[int, Path]:
    """A new, empty temporary file in ``directory``: (descriptor, path), opened for writing.

    Its mode is 0600 when ``private``; else that of ``like`` if that file exists (a replaced
    file keeps its mode), else 0666 less the umask (applied by the kernel, so it is never read
    or changed: no race with other threads)."""
    mode = PRIVATE_FILE if private else 0o666
    keep: int | None = None
    if not private and like is not None:
        with contextlib.suppress(OSError):
            st = os.stat(like)
            if stat.S_ISREG(st.st_mode):
                keep = stat.S_IMODE(st.st_mode)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY
    for _ in range(100):
        path = Path(directory) / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            fd = os.open(path, flags, mode)
        except FileExistsError:
            continue
        if keep is not None:
            with contextlib.suppress(OSError, AttributeError):  # no fchmod on Windows
                os.fchmod(fd, keep)
        return fd, path
    raise FileExistsError(f"no free temporary name in {directory}")


def private_dir(path: Path) -> Path:
    """Make ``path`` (and missing parents) a folder only its owner can enter (0700); an
    existing one of ours is tightened to 0700."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    with contextlib.suppress(OSError):
        st = os.lstat(path)
        if stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) != PRIVATE_DIR and (
                not hasattr(os, "getuid") or st.st_uid == os.getuid()):
            os.chmod(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty and 0600 if it does not exist; tighten it to 0600 if it does."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NOFOLLOW, PRIVATE_FILE)
    try:
        _tighten(fd)
    finally:
        os.close(fd)
    return Path(path)


def _tighten(fd: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, PRIVATE_FILE)


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (no-op where directories can't be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, *, backup: bool = False, private: bool = False) -> None:
    """Write ``data`` to ``path`` so that a crash at any moment leaves either the
    old file or the new one, never a mix.

    With ``backup``, the previous file is first copied to ``NAME.bak`` (itself
    written atomically). Any error is raised after the temporary file is removed;
    the previous file is untouched. Mode: see the module's docstring (``private``: 0600).
    """
    path = Path(path)
    directory = path.parent
    fd, tmp = create_temp(directory, f".{path.name}.", ".tmp", private=private, like=path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if backup and path.exists():
            _copy_atomic(path, path.with_name(path.name + ".bak"), private=private)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(directory)


def _copy_atomic(src: Path, dst: Path, *, private: bool = False) -> None:
    # The .bak has the mode of the file it copies (a scene shared with a co-writer stays so).
    fd, tmp = create_temp(dst.parent, f".{dst.name}.", ".tmp", private=private, like=src)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def append_durable(path: Path, data: bytes) -> None:
    """Append and fsync (a journal record is on disk when this returns). The file is private
    state: created 0600, and tightened to 0600 if an older Castline left it wider."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _BINARY, PRIVATE_FILE)
    try:
        _tighten(fd)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
