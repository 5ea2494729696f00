"""The running time is kept line by line (never a pass over an episode per change); after
every kind of change it equals the sum worked out from scratch."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from editor.ui.mainwindow import MainWindow
from tests.support.ui_helpers import run

pytestmark = pytest.mark.usefixtures("qloop")


def from_scratch(window: MainWindow, rows: list[int] | None = None) -> tuple[float, int, int]:
    doc = window.document
    gap = int(window.settings.get("render/gap_ms"))
    rows = list(range(len(doc.scene))) if rows is None else rows
    total, rendered = 0, 0
    for row in rows:
        seconds = doc.line_seconds(row)
        if seconds is not None:
            rendered += 1
            total += round(seconds * 1000) + doc.scene.pause_after(doc.scene.lines[row], gap)
    return total / 1000, rendered, len(rows)


def same(window: MainWindow) -> None:
    window.document.settle()  # a structural change is counted again in slices: caught up
    assert window.document.running_time() == pytest.approx(from_scratch(window))
    assert window.document.running_time([0, 2, 3]) == pytest.approx(
        from_scratch(window, [0, 2, 3]))


def test_running_time_follows_every_change(window: MainWindow, qloop: Any) -> None:
    same(window)
    task = window.start_render([0, 1, 2, 3])
    assert task is not None
    run(qloop, task)
    seconds, rendered, _count = window.document.running_time()
    assert rendered == 4 and seconds > 0
    same(window)
    doc = window.document
    doc.commit_cell(1, "text", doc.scene.lines[1].text + " Changed.")  # no longer rendered
    assert doc.running_time()[1] == 3
    same(window)
    doc.commit_cell(2, "pause_after_ms", 1500)  # its own pause
    same(window)
    window.settings.set("render/gap_ms", 900)  # the app's gap for the others
    doc.settings_changed()
    same(window)
    window.select_rows([0])
    window.editor.delete_rows()
    same(window)
    window.undo.undo()  # the line back
    window.undo.undo()  # its pause
    window.undo.undo()  # the text back: its audio is good again
    same(window)
    assert doc.running_time()[1] == 4


def test_a_render_keeps_full_garbage_collections_off_the_episode(window: MainWindow,
                                                                 qloop: Any) -> None:
    """A full collection in the middle of a 3,000-line render stalled the window 0.3-0.6 s;
    while a render runs, the collector leaves alone what existed before it, and gets it back
    after."""
    import gc

    assert gc.get_freeze_count() == 0
    task = window.start_render([0, 1])
    assert task is not None
    assert gc.get_freeze_count() > 0
    run(qloop, task)
    run(qloop, asyncio.sleep(0))  # the render's done callbacks
    assert gc.get_freeze_count() == 0


def test_a_render_started_during_the_warm_up_waits_for_it_off_the_window(
        window: MainWindow, qloop: Any) -> None:
    """The warm-up imports the network and audio libraries on a worker thread; a render
    started meanwhile waits for it without holding the window (its own imports would wait on
    Python's import lock, on the window's thread)."""
    import threading

    from editor.ui.render import controller
    from tests.support.stall import MAX_STALL, StallMeter

    release = threading.Event()
    warming = threading.Thread(target=release.wait, daemon=True)
    warming.start()
    saved = controller._warm_thread
    controller._warm_thread = warming
    try:
        async def go() -> tuple[bool, float]:
            with StallMeter(window) as meter:
                task = window.start_render([0])
                assert task is not None
                await asyncio.sleep(0.3)
                waiting = not task.done()
                release.set()
                await task
            return waiting, meter.worst

        waiting, worst = run(qloop, go())
    finally:
        controller._warm_thread = saved
        release.set()
    assert waiting, "the render went on while the warm-up was still loading"
    assert worst < MAX_STALL
    assert window.book.status(window.scene.lines[0]).state.name == "READY"
