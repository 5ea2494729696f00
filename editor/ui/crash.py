"""One place for every unexpected error: Qt slots, async tasks, threads.

Installed first thing in ``main``. It logs the traceback (key redacted) to the
log file (private: 0600, in a 0700 folder), lets the window save a recovery copy of the
scene, and shows one dialog that says where the copy is only when it really was written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from editor.core.atomic import private_dir, private_file
from editor.engine.redact import RedactingFilter, redact

log = logging.getLogger("castline.crash")
# A rescuer returns where it saved a copy (a Path), None when there was nothing to save, or
# raises when saving failed: the dialog says exactly that, never more.
_rescuers: list[Callable[[], object]] = []
_show: Callable[[str], None] | None = None
_log_path: Path | None = None


def log_path() -> Path | None:
    return _log_path


def install(log_dir: Path) -> None:
    global _log_path
    private_dir(log_dir)
    _log_path = log_dir / "castline.log"
    with contextlib.suppress(OSError):
        private_file(_log_path)  # the log names scenes and lines: the writer's eyes only
    handler = logging.FileHandler(_log_path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    sys.excepthook = _excepthook
    threading.excepthook = lambda a: _excepthook(a.exc_type, a.exc_value, a.exc_traceback)  # type: ignore[arg-type]


def add_rescuer(fn: Callable[[], object]) -> None:
    """Called on every unexpected error before the dialog: save what can be saved. ``fn``
    returns the Path it wrote (or None if nothing needed saving) and raises if it failed."""
    _rescuers.append(fn)


def set_presenter(fn: Callable[[str], None] | None) -> None:
    global _show
    _show = fn


def loop_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    exc = context.get("exception")
    if isinstance(exc, BaseException):
        _excepthook(type(exc), exc, exc.__traceback__)
    else:
        log.error("event loop: %s", redact(str(context.get("message"))))


def _excepthook(kind: type[BaseException], value: BaseException,
                tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    text = redact("".join(traceback.format_exception(kind, value, tb)))
    log.error("unexpected error:\n%s", text)
    saved: list[str] = []
    failed: list[str] = []
    for rescue in list(_rescuers):
        try:
            where = rescue()
        except Exception as e:
            log.exception("rescue failed")
            failed.append(_reason(e))
        else:
            if isinstance(where, str | os.PathLike) and os.path.exists(where):
                saved.append(os.fspath(where))
    if failed:
        rescued = (f"Your unsaved edits could not be saved to a recovery file "
                   f"({'; '.join(failed)[:300]}): save the scene yourself now, under another "
                   "name if need be.")
    elif saved:
        rescued = (f"A recovery copy of your scene was saved to {', '.join(saved)}; you can "
                   "keep working.")
    else:
        rescued = "There were no unsaved edits to put in a recovery file; you can keep working."
    where_log = f" Details are in {_log_path}." if _log_path else ""
    message = (f"Castline hit an unexpected error ({kind.__name__}: {redact(str(value))[:300]}). "
               f"{rescued}{where_log}")
    if _show is not None:
        try:
            _show(message)
        except Exception:
            log.exception("could not show the error dialog")
    else:
        print(message, file=sys.stderr)


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        where = f" ({e.filename})" if e.filename else ""
        return f"{e.strerror}{where}"
    if isinstance(e, UnicodeError):
        return "the scene holds text that cannot be written as UTF-8"
    return redact(f"{type(e).__name__}: {e}")
