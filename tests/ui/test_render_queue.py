"""The render queue at episode size (editor/ui/render/queue.py): one model, one view, batched.

Speed is printed here (run with -s to see it), never asserted: the benchmarks measure it. What
is asserted is the shape of the work: per flush at most one insert (or reset), and no more
dataChanged signals than rows touched, whatever the number of events.
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMainWindow

from editor.core.planner import PlannedRequest
from editor.engine.errors import ServiceError
from editor.engine.events import RenderEvent, Stage
from editor.ui.render.queue import (
    CACHED_TEXT,
    CANCEL,
    LINES,
    PROGRESS,
    STAGE,
    STAGE_TEXT,
    QueueBatcher,
    QueueModel,
    RenderQueue,
    time_left_text,
)

SPEAKERS = ("ODILE", "BEN", "PURSER", "CAPTAIN")


def requests(n: int, *, per: int = 1, cost: Fraction = Fraction(2)) -> list[PlannedRequest]:
    out = []
    for i in range(n):
        ids = tuple(f"L{i * per + j}" for j in range(per))
        body = {"model": "eleven_v3", "dialogue": [{"text": f"line {x}"} for x in ids]}
        out.append(PlannedRequest(ids, body, 60 * per, cost, hashed=f"k{i:06d}"))
    return out


def where(n_lines: int) -> tuple[dict[str, int], dict[str, str]]:
    rows = {f"L{i}": i for i in range(n_lines)}
    speakers = {f"L{i}": SPEAKERS[i % 4] for i in range(n_lines)}
    return rows, speakers


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Signals:
    """Counts what the model tells its views."""

    def __init__(self, model: QueueModel) -> None:
        self.changed: list[tuple[int, int]] = []
        self.inserts = 0
        self.resets = 0
        self.layouts = 0
        model.dataChanged.connect(lambda a, b, _roles=(): self.changed.append((a.row(), b.row())))
        model.rowsInserted.connect(lambda *_: self._bump("inserts"))
        model.modelReset.connect(lambda: self._bump("resets"))
        model.layoutChanged.connect(lambda *_: self._bump("layouts"))

    def _bump(self, name: str) -> None:
        setattr(self, name, getattr(self, name) + 1)

    def clear(self) -> None:
        self.changed.clear()
        self.inserts = self.resets = self.layouts = 0


def test_model_passes_qt_model_tester(qtmodeltester) -> None:
    rows, speakers = where(120)
    model = QueueModel(rows.__getitem__, speakers.__getitem__)
    reqs = requests(40, per=3)
    model.start(reqs[:30])
    model.apply([RenderEvent(reqs[0], Stage.RUNNING, 0.5),
                 RenderEvent(reqs[1], Stage.READY, 1.0),
                 RenderEvent(reqs[2], Stage.FAILED, error=ServiceError("The service refused it.")),
                 RenderEvent(reqs[35], Stage.QUEUED)])  # an unknown request: appended
    qtmodeltester.check(model)
    assert model.rowCount() == 31
    assert model.data(model.index(0, LINES)) == "1–3  ODILE, BEN, PURSER"
    assert model.data(model.index(1, STAGE)) == STAGE_TEXT[Stage.READY]
    assert model.data(model.index(2, STAGE), Qt.ItemDataRole.ToolTipRole) == "The service refused it."
    assert model.data(model.index(1, PROGRESS)) == 100
    assert not model.flags(model.index(1, CANCEL)) & Qt.ItemFlag.ItemIsEnabled
    assert model.flags(model.index(0, CANCEL)) & Qt.ItemFlag.ItemIsEnabled


def scripted_events(reqs: list[PlannedRequest], n: int) -> list[RenderEvent]:
    """``n`` events as a render sends them: a window of requests moves through the stages."""
    stages = (Stage.SUBMITTING, Stage.WAITING, Stage.RUNNING, Stage.RUNNING, Stage.DOWNLOADING,
              Stage.READY)
    events = []
    i = 0
    while len(events) < n:
        request = reqs[(i // len(stages)) % len(reqs)]
        stage = stages[i % len(stages)]
        events.append(RenderEvent(request, stage, 0.5 if stage is Stage.RUNNING else None))
        i += 1
    return events


@pytest.mark.parametrize("n", [3_000, 10_000])
def test_thousands_of_requests_and_ten_thousand_events(qtbot, n: int) -> None:
    rows, speakers = where(n)
    queue = RenderQueue(rows.__getitem__, speakers.__getitem__)
    qtbot.addWidget(queue)
    queue.resize(900, 400)
    queue.show()
    model, batcher = queue.model, queue.batcher
    seen = Signals(model)
    reqs = requests(n)

    t0 = time.perf_counter()
    queue.start(reqs)
    queue.repaint()
    build = time.perf_counter() - t0
    assert seen.resets == 1 and seen.inserts == 0
    assert model.rowCount() == n

    events = scripted_events(reqs, 10_000)
    # The engine reports every request as queued first, then the stages, in flushes of
    # about 50 ms: here every 500 events (a fast render at 10,000 events/s).
    flushes = []
    t0 = time.perf_counter()
    for start in range(0, len(events), 500):
        seen.clear()
        chunk = events[start:start + 500]
        for e in chunk:
            batcher.feed(e)
        sent = batcher.flush()
        touched = len({(e.request.key, e.line_ids) for e in chunk})
        assert seen.inserts == 0 and seen.resets == 0 and seen.layouts == 0
        assert len(seen.changed) == sent <= touched
        assert sum(b - a + 1 for a, b in seen.changed) >= touched or len(seen.changed) == 1
        flushes.append(len(seen.changed))
    queue.repaint()
    apply = time.perf_counter() - t0
    done = model.summary().lines_done
    print(f"\n  queue of {n:,}: start + paint {build * 1000:.1f} ms; 10,000 events in "
          f"{len(flushes)} flushes applied + painted in {apply * 1000:.1f} ms "
          f"({apply / 10_000 * 1e6:.1f} µs/event); dataChanged per flush ≤ {max(flushes)}; "
          f"{done:,} lines done")
    assert done == sum(1 for e in events if e.stage is Stage.READY)


def test_a_flush_of_unknown_requests_is_one_insert(qtbot) -> None:
    model = QueueModel()
    batcher = QueueBatcher(model)
    seen = Signals(model)
    reqs = requests(5_000)
    model.start(reqs[:10])
    seen.clear()
    for r in reqs:  # the engine's QUEUED burst for requests the model has not seen
        batcher.feed(RenderEvent(r, Stage.QUEUED))
    for r in reqs[::2]:
        batcher.feed(RenderEvent(r, Stage.SUBMITTING))
    assert model.rowCount() == 10  # nothing applied before the flush
    batcher.flush()
    assert seen.inserts == 1 and seen.resets == 0
    assert model.rowCount() == 5_000
    # Every other row of the first ten changed: five one-row ranges; the 4,990 new rows come
    # with their insert, and announce nothing more.
    assert len(seen.changed) <= 5 + 1


def test_the_batcher_flushes_on_its_timer_and_coalesces(qtbot) -> None:
    model = QueueModel()
    batcher = QueueBatcher(model, interval_ms=50)
    reqs = requests(3)
    model.start(reqs)
    seen = Signals(model)
    for p in (0.1, 0.2, 0.3, 0.4):
        batcher.feed(RenderEvent(reqs[1], Stage.RUNNING, p))
    batcher.feed(RenderEvent(reqs[1], Stage.READY, 1.0))
    batcher.feed(RenderEvent(reqs[1], Stage.RUNNING, 0.9))  # late progress never undoes READY
    assert batcher.pending == 1 and batcher.timer.isActive()
    qtbot.waitUntil(lambda: batcher.pending == 0, timeout=2000)
    assert batcher.flushes == 1
    assert seen.changed == [(1, 1)]
    assert model.stage_at(1) is Stage.READY


def test_the_panel_hands_each_flush_to_the_controller_once(qtbot) -> None:
    queue = RenderQueue()
    qtbot.addWidget(queue)
    reqs = requests(4)
    queue.start(reqs)
    flushes: list[list[RenderEvent]] = []
    queue.flushed.connect(flushes.append)
    for r in reqs:
        queue.feed(RenderEvent(r, Stage.SUBMITTING))
        queue.feed(RenderEvent(r, Stage.READY, 1.0, path=Path(f"/tmp/{r.key}.mp3")))
    queue.finish("Done.")
    assert len(flushes) == 1
    assert [(e.request.key, e.stage, e.path) for e in flushes[0]] == [
        (r.key, Stage.READY, Path(f"/tmp/{r.key}.mp3")) for r in reqs]
    assert queue.summary.full_text().startswith("Done. — 4 of 4 lines done")


def test_cancel_one_row_and_cancel_all_emit_the_right_keys(qtbot) -> None:
    rows, speakers = where(20)
    queue = RenderQueue(rows.__getitem__, speakers.__getitem__)
    qtbot.addWidget(queue)
    queue.resize(700, 400)
    queue.show()
    qtbot.waitExposed(queue)
    reqs = requests(6)
    # Two identical requests (same key, other lines) are sent once: one key, two rows.
    twin = PlannedRequest(("L10",), reqs[3].body, 60, Fraction(2), hashed=reqs[3].key)
    queue.start(reqs + [twin])
    queue.batcher.feed(RenderEvent(reqs[0], Stage.READY, 1.0))
    queue.batcher.feed(RenderEvent(reqs[1], Stage.RUNNING, 0.5))
    queue.batcher.flush()
    view = queue.view
    one: list[str] = []
    every: list[list[str]] = []
    queue.cancel_requested.connect(one.append)
    queue.cancel_all_requested.connect(every.append)

    def click(row: int) -> None:
        rect = view.visualRect(queue.model.index(row, CANCEL))
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())

    click(0)  # finished: nothing to cancel
    assert one == []
    click(1)
    assert one == [reqs[1].key]
    assert queue.model.data(queue.model.index(1, STAGE)) == "Stopping…"
    click(1)  # already stopping: not sent twice
    assert one == [reqs[1].key]

    view.selectRow(2)
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert one == [reqs[1].key, reqs[2].key]

    qtbot.mouseClick(queue.cancel_all, Qt.MouseButton.LeftButton)
    assert every == [[r.key for r in reqs[1:]]]  # unfinished, each key once, in queue order
    assert not queue.cancel_all.isEnabled()


def test_summary_figures_for_a_scripted_render() -> None:
    clock = Clock()
    model = QueueModel(clock=clock)
    reqs = requests(10, per=2, cost=Fraction(3, 2))  # 10 requests, 20 lines, 1.5 credits each
    twin = PlannedRequest(("X1",), reqs[0].body, 60, Fraction(3, 2), hashed=reqs[0].key)
    model.start(reqs + [twin])
    s = model.summary()
    assert (s.lines_total, s.lines_done, s.lines_failed, s.credits_spent) == (21, 0, 0, 0)
    assert s.seconds_left is None
    assert s.text == ("0 of 21 lines done · ≈ 0.00 credits spent so far · working out the "
                      "time left…")

    def at(t: float, *events: RenderEvent) -> None:
        clock.now = 1000.0 + t
        model.apply(events)

    at(0.2, *(RenderEvent(r, Stage.SUBMITTING) for r in reqs[:4]))
    at(1.0, RenderEvent(reqs[0], Stage.READY, 1.0), RenderEvent(twin, Stage.READY, 1.0))
    assert model.summary().credits_spent == Fraction(3, 2)  # the twin was not paid again
    at(2.0, RenderEvent(reqs[1], Stage.READY, 1.0, cached=True))  # free
    at(3.0, RenderEvent(reqs[2], Stage.FAILED, error=ServiceError("refused")))
    at(4.0, RenderEvent(reqs[3], Stage.READY, 1.0))
    s = model.summary()
    assert s.lines_done == 2 + 1 + 2 + 2
    assert s.lines_failed == 2
    assert s.credits_spent == Fraction(3)
    # 5 rows finished, the first at t=1: 4 more in 3 s; 6 rows left → 4.5 s.
    assert s.seconds_left == pytest.approx(4.5)
    assert s.text == ("7 of 21 lines done · 2 failed · ≈ 3.00 credits spent so far · "
                      "less than a minute left")
    clock.now += 3  # nothing finished for 3 s: the rate falls, the estimate grows
    assert model.summary().seconds_left == pytest.approx(6 / (4 / 6))
    model.apply([RenderEvent(r, Stage.CANCELLED) for r in reqs[4:]])
    s = model.summary()
    assert s.lines_cancelled == 12 and s.seconds_left == 0
    model.finish()
    assert model.summary().text == ("7 of 21 lines done · 2 failed · 12 cancelled · "
                                    "≈ 3.00 credits spent so far")
    assert model.data(model.index(1, STAGE)) == CACHED_TEXT


def test_time_left_words() -> None:
    assert time_left_text(None) == "working out the time left…"
    assert time_left_text(20) == "less than a minute left"
    assert time_left_text(12 * 60 + 10) == "about 12 min left"
    assert time_left_text(3 * 3600 + 5 * 60) == "about 3 h 05 min left"


def test_sandbox_summary_says_no_credits() -> None:
    model = QueueModel()
    reqs = requests(2)
    model.start(reqs, sandbox=True)
    model.apply([RenderEvent(reqs[0], Stage.READY, 1.0)])
    assert "sandbox: no credits spent" in model.summary().text


def test_a_long_status_elides_and_never_widens_the_window(qtbot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    queue = RenderQueue()
    window.setCentralWidget(queue)
    window.resize(640, 300)
    window.show()
    qtbot.waitExposed(window)
    queue.start(requests(3))
    width = window.width()
    queue.finish("Can't reach API in One — check the connection. " * 20)
    window.layout().activate()
    assert window.width() == width
    assert queue.minimumSizeHint().width() < 400
    shown = queue.summary.text()
    assert shown.endswith("…") and len(shown) < len(queue.summary.full_text())
    assert queue.summary.toolTip() == queue.summary.full_text()


def test_screenshot_of_three_thousand_rows_mid_render(qtbot) -> None:
    clock = Clock()
    rows, speakers = where(3_000)
    window = QMainWindow()
    qtbot.addWidget(window)
    queue = RenderQueue(rows.__getitem__, speakers.__getitem__, clock=clock)
    window.setCentralWidget(queue)
    window.resize(760, 420)
    window.show()
    qtbot.waitExposed(window)
    reqs = requests(3_000, cost=Fraction(42, 25))
    queue.start(reqs)
    # 1,200 done (a few from the cache), 3 failed, 8 in flight, the rest waiting, over 4 min.
    events = []
    for i, r in enumerate(reqs[:1_203]):
        clock.now = 1000.0 + i * 0.2
        if i in (402, 777, 1199):
            events.append(RenderEvent(r, Stage.FAILED, error=ServiceError(
                "The service could not voice this line. Details: 422 unsupported tag")))
        else:
            events.append(RenderEvent(r, Stage.READY, 1.0, cached=i % 97 == 0))
        queue.model.apply(events[-1:])
    flight = (Stage.SUBMITTING, Stage.WAITING, Stage.RUNNING, Stage.RUNNING, Stage.RUNNING,
              Stage.DOWNLOADING, Stage.RUNNING, Stage.WAITING)
    for j, stage in enumerate(flight):
        queue.batcher.feed(RenderEvent(reqs[1_203 + j], stage, 0.15 * j))
    queue.batcher.flush()
    queue.model.mark_stopping([reqs[1_210].key])
    queue.view.scrollTo(queue.model.index(1_196, 0), queue.view.ScrollHint.PositionAtTop)
    queue._show_summary()
    path = Path("/tmp/queue.png")
    assert queue.grab().save(str(path))
    image = QImage(str(path))
    assert image.width() == queue.width() and image.height() == queue.height()
    assert "1,200 of 3,000 lines done · 3 failed" in queue.summary.full_text()
    assert queue.view.indexAt(QPoint(5, 5)) != QModelIndex()
