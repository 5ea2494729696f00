"""One way to wait in a test: for a condition, with a deadline of its own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def wait_until(predicate: Callable[[], object], timeout: float, what: str = "the condition",
                     step: float = 0.02) -> None:
    """Return as soon as ``predicate()`` is true; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        await asyncio.sleep(step)


def wait_until_sync(predicate: Callable[[], object], timeout: float, what: str = "the condition",
                    step: float = 0.01) -> None:
    """The same, for code that is not on an event loop (a child process, a file)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        time.sleep(step)
