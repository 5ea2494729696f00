"""The Takes panel: the current line's takes and, for a piece of a dialogue, its cut editor."""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor.core.scene import Line
from editor.engine.takes import Take
from editor.ui.icons import icon
from editor.ui.takes.waveform import CutMark, Envelope, WaveformView


@dataclass(frozen=True, slots=True)
class CutView:
    """What the cut editor shows: a group's clip, its cuts, the current line's span."""

    group: str  # the group take's id
    title: str
    duration: float
    cuts: Sequence[CutMark]
    labels: Sequence[str]  # one per line of the group
    span: tuple[float, float]
    line_index: int  # the current line's place in the group
    envelope: Envelope | None = None
    movable: Sequence[bool] = field(default_factory=tuple)  # per cut: a piece on either side


class TakesPanel(QWidget):
    """The current line's takes: hear one, compare it with the chosen one, choose, delete,
    or ask for a new reading; and the line's lock."""

    play_requested = Signal(str)  # take id
    compare_requested = Signal(str)  # take id: it, then the chosen take
    choose_requested = Signal(str)  # take id
    delete_requested = Signal(str)  # take id
    regenerate_requested = Signal()
    context_requested = Signal()  # a new take of the line with its neighbours, as a dialogue
    lock_requested = Signal(bool)
    cut_moved = Signal(int, float)  # cut index in the shown group, new time (seconds)
    hear_cut_requested = Signal(int)  # cut index: ~1.5 s on either side of it

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
        self.context = QPushButton("New take in context")
        self.context.setToolTip("Render the line again with the lines before and after it, as a "
                                "short dialogue, and keep only this line's part (a new, paid "
                                "reading; the price is shown first) (Ctrl+Alt+Shift+R)")
        self.context.clicked.connect(self.context_requested)
        # The cut editor: shown while the chosen take is a piece of a dialogue.
        self.cut_title = QLabel()
        self.cut_title.setWordWrap(True)
        self.cuts = WaveformView()
        self.cuts.setToolTip("Drag a cut to move it; the two lines' takes follow (Undo "
                             "puts it back)")
        self.cuts.cut_moved.connect(self.cut_moved)
        self.cuts.cut_selected.connect(lambda _i: self._update_cut_buttons())
        self.hear = QPushButton(icon("play"), "Hear both sides")
        self.hear.setToolTip("Play about 1.5 s before the selected cut, a short silence, then "
                             "about 1.5 s after it: what each line keeps")
        self.hear.clicked.connect(lambda _c=False: self.cuts.selected is not None and
                                  self.hear_cut_requested.emit(self.cuts.selected))
        self.cut_hint = QLabel()
        self.cut_hint.setWordWrap(True)
        self.cut_hint.setStyleSheet("color: #9a5b00;")
        self.cut_box = QWidget()
        cut_buttons = QHBoxLayout()
        cut_buttons.addWidget(self.hear)
        cut_buttons.addWidget(self.cut_hint, 1)
        cut_layout = QVBoxLayout(self.cut_box)
        cut_layout.setContentsMargins(0, 0, 0, 0)
        cut_layout.addWidget(self.cut_title)
        cut_layout.addWidget(self.cuts, 1)
        cut_layout.addLayout(cut_buttons)
        self.cut_box.hide()
        self.cut_view: CutView | None = None
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(self.tree)
        self.split.addWidget(self.cut_box)
        self.split.setStretchFactor(0, 2)
        self.split.setStretchFactor(1, 3)
        self.split.setChildrenCollapsible(False)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.lock)
        buttons = QHBoxLayout()
        for b in (self.play, self.compare, self.choose, self.delete):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.regenerate)
        buttons.addWidget(self.context)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.split, 1)
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
            self.context.setEnabled(False)
            self.show_cuts(None)
            self._update_buttons()
            return
        self.title.setText(f"<b>Line {row + 1}</b> · {html.escape(line.speaker or 'no speaker')}"
                           f" · {len(takes)} take{'s' if len(takes) != 1 else ''}")
        self.lock.setEnabled(True)
        self.lock.setChecked(line.locked)
        self.regenerate.setEnabled(not line.locked and bool(line.text.strip()))
        self.context.setEnabled(not line.locked and bool(line.text.strip()))
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
            how = ""
            if take.is_group:
                how = f", the whole dialogue of {len(take.lines)} lines"
            elif take.group is not None and take.extra.get("split") == "hand":
                how = ", cut by hand from a dialogue take"
            elif take.group is not None:
                how = ", cut from a dialogue take" + (" (check the cut by ear)"
                                                       if take.uncertain else "")
            tip = (f"Take {n}{how}, made {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(take.created))}"
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

    # --- the cut editor -----------------------------------------------------------------------

    def show_cuts(self, view: CutView | None) -> None:
        """Show a group's clip and cuts (None: hide the cut editor)."""
        same = view is not None and self.cut_view is not None and \
            view.group == self.cut_view.group and view.span == self.cut_view.span
        self.cut_view = view
        if view is None:
            self.cut_box.hide()
            return
        legend = []
        if any(c.uncertain and not c.hand for c in view.cuts):
            legend.append("<span style='color:#c77700'>dashed ?</span> uncertain")
        if any(c.hand for c in view.cuts):
            legend.append("<span style='color:#2e7d32'>green</span> moved by hand")
        self.cut_title.setText(view.title + (f" <small>({', '.join(legend)})</small>"
                                             if legend else ""))
        self.cuts.set_envelope(view.envelope, view.duration)
        keep = self.cuts.selected if same else None
        if keep is None:  # the cut after the line, else the one before it
            keep = view.line_index if view.line_index < len(view.cuts) else \
                max(0, view.line_index - 1) if view.cuts else None
        self.cuts.set_cuts(view.cuts, view.labels, view.span, keep)
        near = [i for i in (view.line_index - 1, view.line_index)
                if 0 <= i < len(view.cuts) and view.cuts[i].uncertain and not view.cuts[i].hand]
        others = sum(1 for c in view.cuts if c.uncertain and not c.hand) - len(near)
        if near:
            which = " and ".join(str(i + 1) for i in near)
            self.cut_hint.setText(f"⚠ Cut {which} is uncertain: check this cut by ear "
                                  "(Hear both sides) and drag it if a word is clipped.")
        elif others > 0:
            self.cut_hint.setText(f"⚠ {others} other cut(s) of this dialogue are uncertain: "
                                  "check them by ear.")
        else:
            self.cut_hint.setText("")
        if self.cut_box.isHidden():
            self.cut_box.show()
            width = max(self.split.width(), 600)
            self.split.setSizes([width * 2 // 5, width * 3 // 5])
        self._update_cut_buttons()

    def _update_cut_buttons(self) -> None:
        selected = self.cuts.selected
        self.hear.setEnabled(self.cut_view is not None and selected is not None)
        self.hear.setText("Hear both sides" if selected is None else
                          f"Hear both sides of cut {selected + 1}")

    def move_cut(self, index: int, at: float) -> float:
        """Move cut ``index`` of the shown group to ``at`` seconds (as a drag does)."""
        return self.cuts.move_cut(index, at)
