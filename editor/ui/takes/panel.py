"""The Takes panel: the current line's takes."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor.core.scene import Line
from editor.engine.takes import Take
from editor.ui.icons import icon


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
