"""Importing runs off the GUI thread (issue 13 item 6): a big script never freezes the window,
and a busy bar shows while it imports."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QProgressBar

from editor.ui.mainwindow import MainWindow
from tests.core.test_importers import _fountain
from tests.support.ui_helpers import run

pytestmark = pytest.mark.usefixtures("qloop")


async def _finished(window: MainWindow) -> None:
    op = window.document.import_op
    if op is not None:
        await op.task


def test_a_big_import_keeps_the_window_responsive_and_shows_a_busy_bar(
        window: MainWindow, qloop: asyncio.AbstractEventLoop,
        tmp_path: Path) -> None:
    path = tmp_path / "big.fountain"
    path.write_text(_fountain(800_000), "utf-8")  # 800 KB of unbalanced emphasis
    window.prompter.answers = [str(path)]
    ticks: list[float] = []
    bar_seen: list[bool] = []

    def tick() -> None:
        ticks.append(time.perf_counter())
        bar = window.findChild(QProgressBar, "importProgress")
        bar_seen.append(bar is not None and bar.isVisible())

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    t0 = time.perf_counter()
    window.document.import_dialog()  # before: the whole import ran here, the event loop stopped
    assert not ticks, "the dialog returned only after the import (it ran on the GUI thread)"
    assert window.document.importing
    assert not window.actions["file.import"].isEnabled()  # one import at a time
    run(qloop, _finished(window))
    took = time.perf_counter() - t0
    timer.stop()
    assert len(ticks) >= 3, "the event loop ran timers while the script was imported"
    assert any(bar_seen)
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    print(f"\nimport of 800 KB took {took * 1000:.0f} ms; the window's timer ran {len(ticks)} "
          f"times, longest gap {max(gaps, default=0) * 1000:.0f} ms")
    assert [ln.speaker for ln in window.scene.lines] == ["MARA", "JONAS"]
    assert window.path is None and window.modified
    assert window.actions["file.import"].isEnabled()


def test_an_import_refused_at_the_door_says_why(window: MainWindow,
                                                qloop: asyncio.AbstractEventLoop,
                                                tmp_path: Path) -> None:
    before = [ln.text for ln in window.scene.lines]
    path = tmp_path / "bad.txt"
    path.write_bytes(b"MARA: hello\nJONAS: a\x07b\n")
    window.prompter.answers = [str(path)]
    window.document.import_dialog()
    run(qloop, _finished(window))
    warnings = [n.text for n in window.prompter.told if n.default == "warning"]
    assert warnings and "line 2" in warnings[0] and "U+0007" in warnings[0]
    assert [ln.text for ln in window.scene.lines] == before  # the scene is untouched
    assert window.actions["file.import"].isEnabled()


def test_an_import_with_bidi_controls_shows_the_warning(window: MainWindow,
                                                        qloop: asyncio.AbstractEventLoop,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "rtl.txt"
    path.write_text("MARA: hi\nJONAS: pay \u202e0001\u202c\n", "utf-8")
    window.prompter.answers = [str(path)]
    window.document.import_dialog()
    run(qloop, _finished(window))
    seen: list[Any] = [n.text for n in window.prompter.told if n.default == "warning"]
    assert seen and "U+202E" in seen[0] and "line 2" in seen[0]
    assert len(window.scene.lines) == 2
