"""One path for background work (after Anki's ``CollectionOp``, over qasync coroutines).

Every background job in the window is one chain::

    runner.run(work, "Import big.fountain").busy().success(done).failure(failed).start()

``work`` is a coroutine, or a blocking callable that runs in a worker thread (it may take
a ``progress(done, total, text)`` keyword, called from its thread and delivered on the Qt
side). The runner keeps a reference to every task (none is garbage-collected mid-flight),
says what is running (``started``/``ended``, for one busy bar), routes failures to one
place unless the caller handles them, and cancels: :meth:`Op.cancel` cancels the task and
calls the ``on_cancel`` hook (an exporter's own stop flag, say).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]


class Op:
    """One background job: build it with the chained calls, then :meth:`start` it."""

    def __init__(self, runner: AsyncRunner, work: Coroutine[Any, Any, Any] | Callable[..., Any],
                 label: str) -> None:
        self._runner = runner
        self._work = work
        self.label = label
        self._success: Callable[[Any], None] | None = None
        self._failure: Callable[[BaseException], None] | None = None
        self._progress: Progress | None = None
        self._on_cancel: Callable[[], None] | None = None
        self.shows_busy = False
        self.task: asyncio.Task[Any] | None = None

    def success(self, fn: Callable[[Any], None]) -> Op:
        self._success = fn
        return self

    def failure(self, fn: Callable[[BaseException], None]) -> Op:
        self._failure = fn
        return self

    def progress(self, fn: Progress) -> Op:
        """``fn(done, total, text)`` on the Qt side; a blocking callable is handed a
        thread-safe ``progress=`` keyword that reaches it."""
        self._progress = fn
        return self

    def on_cancel(self, fn: Callable[[], None]) -> Op:
        self._on_cancel = fn
        return self

    def busy(self, show: bool = True) -> Op:
        """Ask the window for a busy bar while this runs (``runner.started``/``ended``)."""
        self.shows_busy = show
        return self

    def start(self) -> Op:
        self.task = self._runner._start(self)
        return self

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def cancel(self) -> None:
        if self._on_cancel is not None:
            self._on_cancel()
        if self.task is not None:
            self.task.cancel()

    async def _call(self) -> Any:
        work = self._work
        if inspect.iscoroutine(work):
            return await work
        assert callable(work)
        if self._progress is None:
            return await asyncio.to_thread(work)
        loop = asyncio.get_running_loop()
        report = self._progress

        def threadsafe(done: int, total: int, text: str) -> None:
            loop.call_soon_threadsafe(report, done, total, text)

        return await asyncio.to_thread(work, progress=threadsafe)


class AsyncRunner(QObject):
    busy_changed = Signal(bool)
    started = Signal(object)  # Op
    ended = Signal(object)  # Op
    failed = Signal(str, object)  # label, exception: for ops that did not handle it

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: set[asyncio.Task[Any]] = set()

    def run(self, work: Coroutine[Any, Any, Any] | Callable[..., Any], label: str) -> Op:
        return Op(self, work, label)

    def _start(self, op: Op) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(self._wrap(op))
        self._tasks.add(task)
        if len(self._tasks) == 1:
            self.busy_changed.emit(True)
        self.started.emit(op)
        task.add_done_callback(lambda t: self._done(t, op))
        return task

    async def _wrap(self, op: Op) -> Any:
        try:
            result = await op._call()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            if op._failure is not None:
                op._failure(e)
            else:
                log.warning("%s failed: %s", op.label, e)
                self.failed.emit(op.label, e)
            return None
        if op._success is not None:
            op._success(result)
        return result

    def _done(self, task: asyncio.Task[Any], op: Op) -> None:
        self._tasks.discard(task)
        self.ended.emit(op)
        if not self._tasks:
            self.busy_changed.emit(False)

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
