"""The render room's cost panel (the render queue is :mod:`editor.ui.render.queue`)."""

from __future__ import annotations

from fractions import Fraction

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from editor.core.pricing import CostTracker, format_credits
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
            # Wrapped, a long figure asks for height, not width: the panel (and its dock) stays
            # narrow, and the scene's Line column keeps its room.
            label.setWordWrap(True)
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
