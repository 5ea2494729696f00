"""How long the window's event loop was held up, measured from inside: a 20 ms timer that
records its own lateness (the fault matrix and the episode-scale test use it)."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QTimer

MAX_STALL = 0.25  # seconds


class StallMeter:
    """The longest the window's event loop went without running a 20 ms timer."""

    def __init__(self, parent: Any) -> None:
        self.timer = QTimer(parent, interval=20)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.last = time.monotonic()
        self.worst = 0.0

    def _on_timer_timeout(self) -> None:
        now = time.monotonic()
        self.worst = max(self.worst, now - self.last)
        self.last = now

    def __enter__(self) -> StallMeter:
        self.last = time.monotonic()
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.stop()
