"""The render room's panels: the live cost and the render queue."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor.core.pricing import CostTracker, format_credits
from editor.engine.events import RenderEvent, Stage
from editor.engine.renderplan import Estimate


class CostPanel(QWidget):
    """Estimates in both modes, the selection's, what is cached, the balance."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.per_line = QLabel()
        self.as_takes = QLabel()
        self.selection = QLabel()
        self.cached = QLabel()
        self.render_now = QLabel()
        self.balance = QLabel("–")
        self.after = QLabel("–")
        for label in (self.per_line, self.as_takes, self.selection, self.cached, self.render_now,
                      self.balance, self.after):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Per line:", self.per_line)
        form.addRow("As dialogue:", self.as_takes)
        form.addRow("Selection:", self.selection)
        form.addRow("Already rendered:", self.cached)
        form.addRow("<b>Render now:</b>", self.render_now)
        form.addRow("Balance:", self.balance)
        form.addRow("After render:", self.after)
        self.note = note = QLabel()
        note.setWordWrap(True)
        note.setEnabled(False)
        form.addRow(note)
        self.set_rounding("")
        self.balance_value: float | None = None

    def set_rounding(self, rounding: str) -> None:
        """What is known of the service's rounding ('' unknown, 'exact', 'per request')."""
        learnt = {"exact": " Your balance showed the service charges exactly that.",
                  "per request": " Your balance showed the service rounds each request up to "
                  "a whole credit: expect the high figure."}.get(rounding, "")
        self.note.setText("Estimates: at least 1 credit a request, 28 per 1,000 characters; "
                          "the range's high end rounds each request up to a whole credit."
                          + learnt)

    def show_figures(self, costs: CostTracker, selection: tuple[Fraction, Fraction] | None,
                     n_selected: int, total: Estimate, now: Estimate, mode: str, *,
                     sandbox: bool = False) -> None:
        """Only presents: every figure comes from the engine (:mod:`editor.engine.renderplan`)."""
        per_line = Estimate(costs.lines_total, costs.lines_high, costs.lines_requests)
        as_takes = Estimate(costs.take_total, costs.take_high, costs.take_requests)
        self.per_line.setText(f"{_requests(per_line.requests)} · {per_line.text()}")
        self.as_takes.setText(f"{_requests(as_takes.requests)} · {as_takes.text()}")
        if selection and n_selected:
            self.selection.setText(f"{format_credits(selection[0 if mode == 'lines' else 1])} "
                                   f"· {n_selected} line{'s' if n_selected != 1 else ''}")
        else:
            self.selection.setText("–")
        free = Estimate(total.low - now.low, total.high - now.high,
                        total.requests - now.requests)
        self.cached.setText(f"{format_credits(free.low)} (free)")
        how = "one request per line" if mode == "lines" else "as dialogue"
        self.render_now.setText(f"<b>{_requests(now.requests)} · {now.text()}</b> ({how})")
        self.render_now.setToolTip(
            "The low figure is 0.028 credits a character (at least 1 a request); the high one "
            "rounds every request up to a whole credit. The service's rounding is not "
            "published, so Castline asks before a render using the high figure.")
        if sandbox:
            self.balance.setText("Sandbox: no credits are spent")
            self.after.setText("–")
        elif self.balance_value is not None:
            self.balance.setText(f"{self.balance_value:,.2f} credits")
            low = self.balance_value - float(now.high)
            high = self.balance_value - float(now.low)
            span = f"{low:,.2f}" if abs(high - low) < 0.005 else f"{low:,.2f}–{high:,.2f}"
            self.after.setText(f"≈ {span} credits" + ("  ⚠ not enough" if low < 0 else ""))


def _requests(n: int) -> str:
    return f"{n} request{'s' if n != 1 else ''}"


class QueuePanel(QWidget):
    """Requests of the current render with their progress; Cancel stops the render."""

    cancel_requested = Signal()
    cancel_item_requested = Signal(str)  # request key

    def __init__(self, row_of: Callable[[str], int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._row_of = row_of
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Lines", "Stage", "Progress", ""])
        self.tree.setRootIsDecorated(False)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.summary = QLabel("Nothing rendering.")
        self.cancel = QPushButton("Cancel render")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self.cancel_requested)
        bar = QHBoxLayout()
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.tree)
        self._items: dict[str, tuple[QTreeWidgetItem, QProgressBar]] = {}

    def start(self, n: int) -> None:
        self.tree.clear()
        self._items.clear()
        self.cancel.setEnabled(True)
        self.summary.setText(f"Rendering {n} request{'s' if n != 1 else ''}…")

    def finish(self, text: str) -> None:
        self.cancel.setEnabled(False)
        self.summary.setText(text)

    def on_event(self, event: RenderEvent) -> None:
        key = event.request.key + ",".join(event.line_ids)
        if key not in self._items:
            rows = []
            for line_id in event.line_ids:
                try:
                    rows.append(self._row_of(line_id) + 1)
                except ValueError:
                    continue
            label = f"Line {rows[0]}" if len(rows) == 1 else \
                f"Lines {rows[0]}–{rows[-1]}" if rows else "?"
            item = QTreeWidgetItem([label, "", ""])
            self.tree.addTopLevelItem(item)
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setTextVisible(False)
            bar.setMaximumHeight(12)
            self.tree.setItemWidget(item, 2, bar)
            stop = QToolButton()
            stop.setText("Cancel")
            stop.setToolTip("Cancel this request (an already sent one is picked up, unpaid, "
                            "by the next render)")
            stop.clicked.connect(lambda _c=False, k=event.request.key:
                                 self.cancel_item_requested.emit(k))
            self.tree.setItemWidget(item, 3, stop)
            self._items[key] = (item, bar)
        item, bar = self._items[key]
        stage = {Stage.READY: "cached" if event.cached else "ready"}.get(event.stage,
                                                                          event.stage.value)
        item.setText(1, stage)
        if event.stage is Stage.FAILED:
            item.setToolTip(1, str(event.error))
        if event.stage in (Stage.READY, Stage.FAILED, Stage.CANCELLED):
            button = self.tree.itemWidget(item, 3)
            if button is not None:
                button.setEnabled(False)
        progress = {Stage.QUEUED: 0, Stage.SUBMITTING: 5, Stage.WAITING: 15,
                    Stage.DOWNLOADING: 90, Stage.READY: 100}.get(event.stage)
        if event.stage is Stage.RUNNING:
            progress = int(20 + 65 * (event.progress or 0.3))
        if progress is not None:
            bar.setValue(progress)
