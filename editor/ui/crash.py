"""One place for every unexpected error: Qt slots, async tasks, threads.

Installed first thing in ``main``. It logs the traceback (key redacted) to the
log file, lets the window save a recovery copy of the scene, and shows one dialog.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from editor.engine.redact import RedactingFilter, redact

log = logging.getLogger("castline.crash")
_rescuers: list[Callable[[], None]] = []
_show: Callable[[str], None] | None = None
_log_path: Path | None = None


def log_path() -> Path | None:
    return _log_path


def install(log_dir: Path) -> None:
    global _log_path
    log_dir.mkdir(parents=True, exist_ok=True)
    _log_path = log_dir / "castline.log"
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


def add_rescuer(fn: Callable[[], None]) -> None:
    """Called on every unexpected error before the dialog: save what can be saved."""
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
    for rescue in list(_rescuers):
        try:
            rescue()
        except Exception:
            log.exception("rescue failed")
    message = (f"Castline hit an unexpected error ({kind.__name__}: {redact(str(value))[:300]}). "
               "Your scene was saved to a recovery file; you can keep working. Details are in "
               f"{_log_path}.")
    if _show is not None:
        try:
            _show(message)
        except Exception:
            log.exception("could not show the error dialog")
    else:
        print(message, file=sys.stderr)
