"""One way to run async work from the UI (after Anki's CollectionOp, over qasync coroutines).

``runner.run(coro, label).success(fn).failure(fn)``: the runner keeps a reference to
every task (so none is garbage-collected mid-flight), shows what is running, and
routes failures to one place unless the caller handles them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class Op:
    def __init__(self, runner: AsyncRunner, coro: Coroutine[Any, Any, Any], label: str) -> None:
        self._runner = runner
        self._coro = coro
        self.label = label
        self._success: Callable[[Any], None] | None = None
        self._failure: Callable[[BaseException], None] | None = None
        self.task: asyncio.Task[Any] | None = None

    def success(self, fn: Callable[[Any], None]) -> Op:
        self._success = fn
        return self

    def failure(self, fn: Callable[[BaseException], None]) -> Op:
        self._failure = fn
        return self

    def start(self) -> Op:
        self.task = self._runner._start(self)
        return self


class AsyncRunner(QObject):
    busy_changed = Signal(bool)
    failed = Signal(str, object)  # label, exception: for ops that did not handle it

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: set[asyncio.Task[Any]] = set()

    def run(self, coro: Coroutine[Any, Any, Any], label: str) -> Op:
        return Op(self, coro, label)

    def _start(self, op: Op) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(self._wrap(op))
        self._tasks.add(task)
        if len(self._tasks) == 1:
            self.busy_changed.emit(True)
        task.add_done_callback(self._done)
        return task

    async def _wrap(self, op: Op) -> Any:
        try:
            result = await op._coro
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

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
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
