"""What a project's takes folder may contain, and the only way into it (Qt-free).

A project is mailed, unzipped and synced between people, so ``Scene.takes/`` is input
from strangers. This module is the one gate:

- A take's id is a plain name: ``[A-Za-z0-9][A-Za-z0-9_-]{0,63}``, not a Windows device
  name (``CON``, ``NUL``, ``COM1`` ...).
- A take's file is ``audio/NAME.EXT``: one plain component directly inside ``audio/`` (no
  ``..``, no absolute path, no backslash or drive, no device name).
- ``Scene.takes``, ``index.jsonl``, ``audio/`` and every audio file must be the real thing,
  not a symbolic link (nor a junction, FIFO or device): refused with :class:`RefusedPath`.

Files are reached through :class:`SafeDir`: each directory is opened with ``O_NOFOLLOW`` and
its children are opened relative to that descriptor (``openat``), again with ``O_NOFOLLOW``
and an ``fstat`` check, so a link swapped in after the project was opened is not followed
either. Where the system lacks descriptor-relative calls (Windows), the same checks are made
with ``lstat`` just before each use.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
from pathlib import Path
from typing import BinaryIO

AUDIO_DIR = "audio"
MAX_INDEX_BYTES = 256 * 1024 * 1024  # far above any real scene's index
MAX_RECORD_BYTES = 1024 * 1024  # one record; real ones are a few KB
MAX_AUDIO_BYTES = 200 * 1024 * 1024  # a take is a download, which the client caps at 100 MB

TAKE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
AUDIO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.[A-Za-z0-9]{1,8}")

_DEVICES = frozenset({"con", "prn", "aux", "nul", "conin$", "conout$", "clock$"}
                     | {f"{d}{n}" for d in ("com", "lpt") for n in "0123456789¹²³"})

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a FIFO for reading must not hang
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)
FD_RELATIVE = bool(_NOFOLLOW and _DIRECTORY) and all(
    f in os.supports_dir_fd for f in (os.open, os.stat, os.unlink, os.mkdir, os.rename, os.link))


class RefusedPath(OSError):
    """A path in a project that Castline will not use; the message is for the writer."""


def is_device_name(name: str) -> bool:
    """``CON``, ``nul.txt``, ``COM1.tar.gz``: names Windows takes for a device, in any case."""
    return name.split(".", 1)[0].rstrip(" ").casefold() in _DEVICES


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 48 else text[:45] + "..."


def take_id_problem(value: object) -> str | None:
    """Why ``value`` cannot be a take id (None: it can)."""
    if not isinstance(value, str):
        return f"its take id {_shown(value)} is not text"
    if not TAKE_ID.fullmatch(value):
        return (f"its take id {_shown(value)} is not a plain name (letters, digits, '-' and "
                "'_', at most 64)")
    if is_device_name(value):
        return f"its take id {_shown(value)} is a Windows device name"
    return None


def take_file_problem(value: object) -> str | None:
    """Why ``value`` cannot be a take's file (None: it is ``audio/NAME.EXT``, safe to use)."""
    if not isinstance(value, str):
        return f"its file {_shown(value)} is not text"
    head, sep, name = value.partition("/")
    if head != AUDIO_DIR or not sep or "/" in name or "\\" in value or ":" in value \
            or name in ("", ".", ".."):
        return (f"its file {_shown(value)} is outside the takes folder's audio/ (such files "
                "are never opened)")
    if not AUDIO_NAME.fullmatch(name) or is_device_name(name):
        return f"its file {_shown(value)} is not a plain file name inside audio/"
    return None


def audio_name(file: str) -> str:
    """``audio/NAME.EXT`` -> ``NAME.EXT`` (``file`` must have passed :func:`take_file_problem`)."""
    if take_file_problem(file) is not None:
        raise RefusedPath(f"{file!r} is not a take's audio file")
    return file.partition("/")[2]


def _refusal(path: Path, st: os.stat_result | None, want_dir: bool) -> RefusedPath | None:
    if st is None:
        return None
    reparse: object = getattr(st, "st_reparse_tag", None)  # Windows: a junction, say
    if stat.S_ISLNK(st.st_mode) or reparse:
        return RefusedPath(f"{path} is a symbolic link; Castline does not follow links in a "
                           "project (replace it with the real folder or file).")
    if want_dir and not stat.S_ISDIR(st.st_mode):
        return RefusedPath(f"{path} is not a folder.")
    if not want_dir and not stat.S_ISREG(st.st_mode):
        return RefusedPath(f"{path} is not a regular file.")
    return None


class SafeDir:
    """A directory reached without following a link; its children are used through it."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self.fd = fd

    # --- opening ------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, create: bool = False) -> SafeDir:
        """``path`` itself must not be a link (the folders above it are the writer's own)."""
        path = Path(path)
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.mkdir(path)
        return cls._open(None, str(path), path)

    def sub(self, name: str, *, create: bool = False) -> SafeDir:
        if create:
            with contextlib.suppress(FileExistsError):
                if self.fd is not None:
                    os.mkdir(name, dir_fd=self.fd)
                else:
                    os.mkdir(self.path / name)
        return self._open(self.fd, name, self.path / name)

    @classmethod
    def _open(cls, dir_fd: int | None, name: str, shown: Path) -> SafeDir:
        if FD_RELATIVE:
            try:
                fd = os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC,
                             dir_fd=dir_fd)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    refused = _refusal(shown, _lstat(dir_fd, name), True)
                    if refused is not None:
                        raise refused from None
                raise
            return cls(shown, fd)
        refused = _refusal(shown, os.lstat(shown), True)
        if refused is not None:
            raise refused
        return cls(shown, None)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> SafeDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- children -------------------------------------------------------------------------

    def lstat(self, name: str) -> os.stat_result | None:
        """The entry itself (a link is not followed); None if there is none."""
        try:
            return _lstat(self.fd, name) if self.fd is not None else os.lstat(self.path / name)
        except FileNotFoundError:
            return None

    def open_file(self, name: str, flags: int, mode: int = 0o666) -> int:
        """A descriptor on the regular file ``name`` in this folder, never through a link."""
        shown = self.path / name
        before = None
        if self.fd is None:  # no openat: check just before opening, and compare after
            before = self.lstat(name)
            refused = _refusal(shown, before, False)
            if refused is not None:
                raise refused
        try:
            fd = os.open(name if self.fd is not None else shown,
                         flags | _NOFOLLOW | _CLOEXEC | _BINARY, mode, dir_fd=self.fd)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.EMLINK, errno.ENXIO, errno.EISDIR):
                refused = _refusal(shown, self.lstat(name), False)
                if refused is not None:
                    raise refused from None
            raise
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (
                before is not None and (before.st_ino, before.st_dev) != (st.st_ino, st.st_dev)):
            os.close(fd)
            raise RefusedPath(f"{shown} is not a regular file.")
        return fd

    def read_file(self, name: str, limit: int = MAX_AUDIO_BYTES) -> BinaryIO:
        fd = self.open_file(name, os.O_RDONLY | _NONBLOCK)
        if os.fstat(fd).st_size > limit:
            os.close(fd)
            raise RefusedPath(f"{self.path / name} is larger than {limit // 2**20} MB.")
        return os.fdopen(fd, "rb")

    def listdir(self) -> list[str]:
        return os.listdir(self.fd if self.fd is not None else self.path)

    def unlink(self, name: str) -> None:
        """Remove the entry ``name`` (a link is removed, never what it points at)."""
        if self.fd is not None:
            os.unlink(name, dir_fd=self.fd)
        else:
            os.unlink(self.path / name)

    def replace(self, src: str, dst: str) -> None:
        if self.fd is not None:
            os.replace(src, dst, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        else:
            os.replace(self.path / src, self.path / dst)

    def link_here(self, source: SafeDir | Path, src_name: str | None, name: str) -> None:
        """Hard-link a regular file in as ``name``: ``source`` a checked folder and the name in
        it, or a path of Castline's own (the cache). Refused (and undone) unless the new entry
        is a regular file."""
        if isinstance(source, SafeDir):
            assert src_name is not None
            before = source.lstat(src_name)
            refused = _refusal(source.path / src_name, before, False)
            if refused is not None:
                raise refused
            if source.fd is not None and self.fd is not None:
                os.link(src_name, name, src_dir_fd=source.fd, dst_dir_fd=self.fd,
                        follow_symlinks=False)
            else:
                os.link(source.path / src_name, self.path / name, follow_symlinks=False)
        else:
            before = None
            os.link(source, name if self.fd is not None else self.path / name,
                    dst_dir_fd=self.fd, follow_symlinks=False)
        after = self.lstat(name)
        if after is None or not stat.S_ISREG(after.st_mode) or (
                before is not None and (before.st_ino, before.st_dev)
                != (after.st_ino, after.st_dev)):
            with contextlib.suppress(OSError):
                self.unlink(name)
            raise RefusedPath(f"{self.path / name}: the file changed while it was linked in.")

    def write_new(self, name: str, chunks: BinaryIO, mode: int = 0o666) -> None:
        """Create ``name`` (it must not exist) with what ``chunks`` holds, fsync'd."""
        fd = self.open_file(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as out:
            for block in iter(lambda: chunks.read(1 << 20), b""):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())

    def write_atomic(self, name: str, data: bytes) -> None:
        """Replace ``name`` with ``data``: a crash leaves the old file or the new, whole."""
        tmp = f".{name}.{secrets.token_hex(4)}.tmp"
        fd = self.open_file(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            self.replace(tmp, name)
        except BaseException:
            with contextlib.suppress(OSError):
                self.unlink(tmp)
            raise
        self.fsync()

    def fsync(self) -> None:
        """Make renames in this folder durable (where folders can be fsync'd)."""
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.fsync(self.fd)


def _lstat(dir_fd: int | None, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def open_regular(path: Path, limit: int = MAX_AUDIO_BYTES) -> BinaryIO:
    """Open a file of Castline's own (the cache) for reading: not through a link at its last
    component, a regular file, at most ``limit`` bytes."""
    path = Path(path)
    if not FD_RELATIVE:
        refused = _refusal(path, os.lstat(path), False)
        if refused is not None:
            raise refused
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _NOFOLLOW | _CLOEXEC | _BINARY)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.EMLINK):
            raise RefusedPath(f"{path} is a symbolic link; it is not read.") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
        os.close(fd)
        raise RefusedPath(f"{path} is not a regular audio file of at most "
                          f"{limit // 2**20} MB.")
    return os.fdopen(fd, "rb")
