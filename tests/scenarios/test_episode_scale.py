"""Episode scale (issue 15): a 3,000-line render and its cancel, through the window.

The window renders a generated 3,000-line episode against the in-app sandbox (real HTTP on
loopback, 1 s per task, the window's 8 parallel requests) until some requests have come back,
then the writer cancels. The same stall probe as the fault matrix (a 20 ms timer in the
window's event loop) watches every phase — planning, sending, polling, completing, cancelling —
and the test fails if the loop is ever held up more than 250 ms. It also checks that the first
request leaves within a few seconds, and that after Cancel nothing more is sent once a second
has passed (the sandbox counts every submit it receives).

The speed targets (first request ≤ 1 s, stall ≤ 100 ms, cancel → last request ≤ 1 s) are
measured from outside the process by ``bash packaging/dev bench episode``; the only timing
bound asserted here is the issue's 250 ms.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from PySide6.QtWidgets import QApplication

from editor.engine.errors import NetworkDown
from editor.engine.status import LineState
from editor.ui.mainwindow import MainWindow
from tests.support.engine_helpers import FAST
from tests.support.stall import MAX_STALL, StallMeter
from tests.support.ui_helpers import run
from tests.support.xprobe import episode_scene

LINES = 3000
DONE_BEFORE_CANCEL = 24  # requests back from the service before the writer cancels
FIRST_REQUEST_WITHIN = 5.0  # seconds: "a few"; the bench measures the 1 s target
QUIET_AFTER_CANCEL = 1.0  # seconds after Cancel, nothing more may be sent


async def _until(what: str, done: Any, timeout: float) -> float:
    """Run the loop until ``done()``; the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.01)
    return time.monotonic()


def test_a_3000_line_render_and_its_cancel_never_stall_the_window(
        window: MainWindow, qloop: Any) -> None:
    window.set_scene(episode_scene(LINES), None)  # type: ignore[arg-type]
    window.document.set_mode("lines")  # one request per line: 3,000 requests
    window.resize(1280, 800)
    QApplication.processEvents()
    session = run(qloop, window.render.ensure_service())
    box = session.sandbox
    assert box is not None
    box.latency = 1.0
    session.client.policy = FAST
    queue = window.queue_panel
    stalls: dict[str, float] = {}
    times: dict[str, float] = {}

    async def go() -> None:
        with StallMeter(window) as meter:
            started = time.monotonic()
            task = window.start_render(None)
            assert task is not None
            times["first request"] = await _until(
                "the first request", lambda: box.stats.submits > 0 or task.done(), 60) - started
            assert not task.done(), (task.result(), window.prompter.told)
            stalls["plan"] = meter.worst
            meter.worst = 0.0
            await _until(f"{DONE_BEFORE_CANCEL} requests back",
                         lambda: queue.model.summary().lines_done >= DONE_BEFORE_CANCEL, 60)
            stalls["send, poll, complete"] = meter.worst
            meter.worst = 0.0
            cancelled_at = time.monotonic()
            window.render.cancel_render()  # Ctrl+.
            await _until("the render to end", task.done, 30)
            times["cancel → render ended"] = time.monotonic() - cancelled_at
            await asyncio.sleep(max(0.0, cancelled_at + QUIET_AFTER_CANCEL - time.monotonic()))
            sent_by_then = box.stats.submits
            # A further second of the loop running: a render still sending would show here.
            await asyncio.sleep(QUIET_AFTER_CANCEL)
            times["sent after cancel + 1 s"] = box.stats.submits - sent_by_then
            stalls["cancel"] = meter.worst

    run(qloop, go(), timeout=120)
    print("\nepisode (3,000 lines, in-process): "
          + ", ".join(f"{k} {v:.2f} s" for k, v in times.items() if k != "sent after cancel + 1 s")
          + "; longest stall: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in stalls.items())
          + f"; {box.stats.submits} submits in all")

    assert times["first request"] < FIRST_REQUEST_WITHIN, times
    assert times["sent after cancel + 1 s"] == 0, "the render kept sending after Cancel"
    for phase, worst in stalls.items():
        assert worst < MAX_STALL, f"the window stalled {worst * 1000:.0f} ms while it {phase}"
    # Nothing is left half-way: each line is ready, or back to what it was.
    states = {window.book.status(ln).state for ln in window.scene.lines}
    assert states <= {LineState.READY, LineState.NOT_RENDERED}, states
    summary = queue.model.summary()
    assert summary.lines_done >= DONE_BEFORE_CANCEL
    assert summary.lines_done + summary.lines_cancelled + summary.lines_failed == LINES
    assert window.queue_panel.summary.full_text().startswith("Cancelled.")


def counts_from_scratch(window: MainWindow) -> tuple[Any, ...]:
    doc = window.document
    before = (dict(doc.state_counts), dict(doc.line_state), doc.running_time(), doc.ready)
    doc.recompute()
    after = (dict(doc.state_counts), dict(doc.line_state), doc.running_time(), doc.ready)
    return before, after


def test_editing_an_episode_never_stalls_the_window(window: MainWindow, qloop: Any) -> None:
    """Everything a writer does to a whole episode, through the window's actions, with the
    same stall probe: Select All (Qt's header asked the model about every cell: 0.4-0.7 s),
    a stability, a speaker and a lock for all 3,000 lines and their undos (each counted
    every line again at once: 0.5-0.9 s), and one-line moves, inserts and duplicates (a full
    re-pricing and re-count each: 0.1-0.2 s). The counts kept along the way equal a count
    from scratch once the window has caught up."""
    window.set_scene(episode_scene(LINES), None)  # type: ignore[arg-type]
    window.resize(1280, 800)
    QApplication.processEvents()
    window.prompter.answers = ["BEN"]
    acts = window.actions
    steps: list[tuple[str, Any]] = [
        ("select all", window.view.selectAll),
        ("a stability for every line", acts["edit.stability.3"].trigger),
        ("undo it", window.undo.undo),
        ("a speaker for every line", acts["edit.set_speaker"].trigger),
        ("undo it", window.undo.undo),
        ("lock every line", acts["edit.lock"].trigger),
        ("unlock every line", acts["edit.lock"].trigger),
        ("one line selected", lambda: window.select_rows([1])),
        ("move it down", acts["edit.move_down"].trigger),
        ("duplicate it", acts["edit.duplicate"].trigger),
        ("undo the duplicate", window.undo.undo),
        ("insert a line below", acts["edit.insert_below"].trigger),
    ]
    worst: dict[str, float] = {}

    async def go() -> None:
        for name, step in steps:
            with StallMeter(window) as meter:
                step()
                await asyncio.sleep(0.3)  # the loop turns: sliced work and repaints happen
                while window.document._stale_order:  # until every line is counted again
                    await asyncio.sleep(0.02)
                await asyncio.sleep(0.05)
            worst[name] = max(worst.get(name, 0.0), meter.worst)

    run(qloop, go(), timeout=120)
    print("\nediting an episode, longest stall: "
          + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in worst.items()))
    for name, stall in worst.items():
        assert stall < MAX_STALL, f"the window stalled {stall * 1000:.0f} ms: {name}"
    assert window.prompter.asked and window.prompter.asked[0].title == "Set speaker"
    before, after = counts_from_scratch(window)
    assert before == after
    assert len(window.scene) == LINES + 1


def test_a_500_character_error_never_widens_the_window(window: MainWindow, qloop: Any) -> None:
    """The old one-line error label widened the window from 1280 to 1492 px, pushing the docks
    off-screen. Every status text now elides: the queue's summary, its offline strip (the
    technical detail too, behind Details), the status bar's labels and its messages."""
    window.resize(1280, 800)
    QApplication.processEvents()
    width, minimum = window.width(), window.minimumSizeHint().width()
    error = "Can't reach the speech service: " + "connection refused by 127.0.0.1:9 " * 15
    assert len(error) > 500
    queue = window.queue_panel
    queue.finish(f"Lines 1, 2, 3 … failed: {error}")
    window.render._on_offline(NetworkDown(error))
    queue.offline.details.setChecked(True)  # the writer opens Details
    window.status_label.setText(error)
    window.target_label.setText(error)
    window.time_label.setText(error)
    window.statusBar().showMessage(error)
    window.render.message.emit(error, 15000)
    for _ in range(3):
        QApplication.processEvents()
    assert queue.offline.isVisible()
    assert queue.offline.text.full_text().startswith("Can't reach API in One — check the "
                                                     "connection.")
    assert queue.offline.detail.full_text() == NetworkDown(error).detail
    assert window.width() == width, f"the window widened from {width} to {window.width()} px"
    assert window.minimumSizeHint().width() <= max(minimum, 1280)
    assert queue.summary.text().endswith("…")  # elided, the whole text in its tooltip
    assert error.strip() in queue.summary.toolTip()
    queue.offline.retry.click()  # no render running: nothing to retry, and no error
