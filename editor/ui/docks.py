"""The side panels: cast, live cost, render queue, the current line's takes."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor.core.catalog import voices
from editor.core.pricing import CostTracker, format_credits
from editor.core.scene import Line, Scene
from editor.engine.events import RenderEvent, Stage
from editor.engine.renderplan import Estimate
from editor.engine.takes import Take
from editor.ui.icons import icon


class CastPanel(QWidget):
    """Each speaker: voice (free text, premade names suggested), lines, characters, audition."""

    rename_requested = Signal(str, str)  # old, new
    voice_requested = Signal(str, str)  # speaker, voice
    audition_requested = Signal(str)  # speaker

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scene: Scene | None = None
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Speaker", "Voice", "Lines", "Chars", ""])
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumWidth(320)
        for c in (2, 3, 4):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemChanged.connect(self._on_table_item_changed)
        self.hint = QLabel("Double-click a name to rename it on every line.")
        self.hint.setWordWrap(True)
        self.hint.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table)
        layout.addWidget(self.hint)
        self._timer = QTimer(self, singleShot=True, interval=120)
        self._timer.timeout.connect(self.rebuild)
        self._building = False

    def set_scene(self, scene: Scene) -> None:
        self.scene = scene
        self.rebuild()

    def schedule(self) -> None:
        self._timer.start()

    def rebuild(self) -> None:
        if self.scene is None:
            return
        self._building = True
        stats = self.scene.speaker_stats()
        self.table.setRowCount(len(stats))
        for row, (name, (count, chars)) in enumerate(stats.items()):
            item = QTableWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.table.setItem(row, 0, item)
            combo = QComboBox()
            combo.setEditable(True)
            combo.addItems(list(voices()))
            combo.setCurrentText(self.scene.voice_of(name))
            combo.setToolTip("Any voice name the service accepts; the list holds ElevenLabs' "
                             "premade voices.")
            combo.lineEdit().editingFinished.connect(  # type: ignore[union-attr]
                lambda n=name, c=combo: self.voice_requested.emit(n, c.currentText().strip()))
            combo.activated.connect(
                lambda _i, n=name, c=combo: self.voice_requested.emit(n, c.currentText().strip()))
            self.table.setCellWidget(row, 1, combo)
            for col, value in ((2, count), (3, chars)):
                cell = QTableWidgetItem(str(value))
                cell.setFlags(Qt.ItemFlag.ItemIsEnabled)
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, cell)
            button = QPushButton("Hear")
            button.setIcon(icon("play"))
            button.setToolTip("Render and play a short sample of this voice (cost shown first; "
                              "free once cached)")
            button.clicked.connect(lambda _c=False, n=name: self.audition_requested.emit(n))
            self.table.setCellWidget(row, 4, button)
        self._building = False

    def _on_table_item_changed(self, item: QTableWidgetItem) -> None:
        if self._building or item.column() != 0:
            return
        old = item.data(Qt.ItemDataRole.UserRole)
        new = item.text().strip()
        if new and new != old:
            self.rename_requested.emit(old, new)
        else:
            self._building = True
            item.setText(old)
            self._building = False


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


class TakesPanel(QWidget):
    """The current line's takes: hear one, compare it with the chosen one, choose, delete,
    or ask for a new reading; and the line's lock."""

    play_requested = Signal(str)  # take id
    compare_requested = Signal(str)  # take id: it, then the chosen take
    choose_requested = Signal(str)  # take id
    delete_requested = Signal(str)  # take id
    regenerate_requested = Signal()
    lock_requested = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("No line selected.")
        self.title.setWordWrap(True)
        self.lock = QCheckBox("Locked")
        self.lock.setToolTip("A locked line is never rendered: its chosen take is final (Ctrl+L)")
        self.lock.clicked.connect(self.lock_requested)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Take", "Length", "Made", "Reading of"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        for col in range(3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.tree.itemDoubleClicked.connect(lambda item, _c: self.play_requested.emit(
            item.data(0, Qt.ItemDataRole.UserRole)))
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.play = self._button("Play", "Hear this take", self.play_requested, "play")
        self.compare = self._button("A/B", "Hear this take, then the chosen one",
                                    self.compare_requested)
        self.choose = self._button("Use", "Make this the line's take (what plays and exports)",
                                   self.choose_requested)
        self.delete = self._button("Delete", "Delete this take (Undo brings it back)",
                                   self.delete_requested)
        self.regenerate = QPushButton(icon("render"), "New take")
        self.regenerate.setToolTip("Render the line again: a new, paid reading; the others are "
                                   "kept (Ctrl+Alt+R)")
        self.regenerate.clicked.connect(self.regenerate_requested)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.lock)
        buttons = QHBoxLayout()
        for b in (self.play, self.compare, self.choose, self.delete):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.regenerate)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.tree)
        layout.addLayout(buttons)
        self.chosen: str | None = None
        self._shown: tuple[str | None, tuple[str, ...]] = (None, ())
        self._update_buttons()

    def _button(self, text: str, tip: str, signal: Any, icon_name: str | None = None
                ) -> QPushButton:
        b = QPushButton(icon(icon_name), text) if icon_name else QPushButton(text)
        b.setToolTip(tip)
        b.clicked.connect(lambda _c=False: (take := self.current_take()) and signal.emit(take))
        return b

    def current_take(self) -> str | None:
        item = self.tree.currentItem()
        return None if item is None else str(item.data(0, Qt.ItemDataRole.UserRole))

    def show_line(self, row: int | None, line: Line | None, takes: list[Take],
                  chosen: Take | None, usable: Callable[[Take], bool],
                  seconds: Callable[[Take], float | None]) -> None:
        shown = (line.id if line else None, tuple(t.id for t in takes))
        # The same line with the same takes keeps its selection; otherwise the chosen take is
        # selected (after a new take, that is the new one).
        keep = self.current_take() if shown == self._shown else None
        self._shown = shown
        self.tree.clear()
        self.chosen = chosen.id if chosen else None
        if line is None or row is None:
            self.title.setText("No line selected.")
            self.lock.setEnabled(False)
            self.lock.setChecked(False)
            self.regenerate.setEnabled(False)
            self._update_buttons()
            return
        self.title.setText(f"<b>Line {row + 1}</b> · {html.escape(line.speaker or 'no speaker')}"
                           f" · {len(takes)} take{'s' if len(takes) != 1 else ''}")
        self.lock.setEnabled(True)
        self.lock.setChecked(line.locked)
        self.regenerate.setEnabled(not line.locked and bool(line.text.strip()))
        select = None
        for n, take in enumerate(takes, 1):
            length = seconds(take)
            text = take.texts.get(line.id, "")
            ok = usable(take)
            item = QTreeWidgetItem([
                f"{'● ' if take.id == self.chosen else '   '}{n}",
                f"{length:.1f} s" if length is not None else "?",
                time.strftime("%d %b %H:%M", time.localtime(take.created)),
                text if ok else f"(earlier text) {text}"])
            item.setData(0, Qt.ItemDataRole.UserRole, take.id)
            tip = (f"Take {n}, made {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(take.created))}"
                   f", ≈ {take.cost:.2f} credits" + (", sandbox" if take.sandbox else "")
                   + ("" if ok else ". Rendered from an earlier text or setting: choosing it "
                      "plays it only once the line is back to that."))
            for col in range(4):
                item.setToolTip(col, tip)
            if take.id == self.chosen:
                font = item.font(0)
                font.setBold(True)
                for col in range(4):
                    item.setFont(col, font)
            if not ok:
                for col in range(4):
                    item.setForeground(col, self.palette().placeholderText())
            self.tree.addTopLevelItem(item)
            if take.id == keep or (keep is None and take.id == self.chosen):
                select = item
        if select is not None:
            self.tree.setCurrentItem(select)
        self._update_buttons()

    def _update_buttons(self) -> None:
        take = self.current_take()
        for b in (self.play, self.delete):
            b.setEnabled(take is not None)
        self.choose.setEnabled(take is not None and take != self.chosen)
        self.compare.setEnabled(take is not None and self.chosen is not None
                                and take != self.chosen)
