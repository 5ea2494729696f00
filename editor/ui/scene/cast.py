"""The Cast panel: each speaker's voice, lines and characters; rename, pick, audition."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from editor.core.scene import Scene
from editor.core.voices import find
from editor.ui.icons import icon
from editor.ui.scene.voicepicker import OwnVoices, VoicePicker, describe, open_picker
from editor.ui.settings import Settings

COL_SPEAKER, COL_VOICE, COL_LINES, COL_CHARS, COL_HEAR = range(5)
VOICE_MIN_WIDTH = 170  # the Voice column is never squeezed below this (it was ~20 px once)
SPEAKER_MAX_WIDTH = 120  # a long imported name must not eat the Voice column


class VoiceCell(QWidget):
    """The Voice cell: free text (premade names suggested), a flag when the text names no
    voice Castline knows, and "…" to pick from the library."""

    def __init__(self, names: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.addItems(names)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.setMinimumContentsLength(8)
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        line_edit = self.combo.lineEdit()
        assert line_edit is not None
        line_edit.setPlaceholderText("no voice")
        self.flag = QLabel()
        self.flag.setPixmap(icon("warning").pixmap(16, 16))
        self.flag.hide()
        self.pick = QToolButton()
        self.pick.setText("…")
        self.pick.setToolTip("Pick from the voice library: search by name, gender, age, accent "
                             "or style; add your own voices")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 2, 0)
        row.setSpacing(2)
        row.addWidget(self.combo, 1)
        row.addWidget(self.flag)
        row.addWidget(self.pick)

    def text(self) -> str:
        return self.combo.currentText().strip()


class CastPanel(QWidget):
    """Each speaker: voice (free text, picked from the library, flagged when unknown), lines,
    characters, and Hear (this voice on the character's first line; or two voices, A then B)."""

    rename_requested = Signal(str, str)  # old, new
    voice_requested = Signal(str, str)  # speaker, voice
    audition_requested = Signal(str, list)  # speaker, [voice] or [voice A, voice B]

    def __init__(self, settings: Settings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scene: Scene | None = None
        self.own = OwnVoices(settings, self)
        self.own.changed.connect(self.refresh_flags)
        self.picker: VoicePicker | None = None  # the one open, if any
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Speaker", "Voice", "Lines", "Chars", ""])
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(36)
        header.setSectionResizeMode(COL_SPEAKER, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_VOICE, QHeaderView.ResizeMode.Stretch)
        for c in (COL_LINES, COL_CHARS, COL_HEAR):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        # Characters ride in the Lines cell's tooltip: the panel stays narrow enough to leave
        # the scene's Line column room to read.
        self.table.setColumnHidden(COL_CHARS, True)
        self.table.itemChanged.connect(self._on_table_item_changed)
        self.hint = QLabel("Double-click a name to rename it on every line. Hear plays the voice "
                           "on the character's first line.")
        self.hint.setWordWrap(True)
        self.hint.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table)
        layout.addWidget(self.hint)
        self._timer = QTimer(self, singleShot=True, interval=120)
        self._timer.timeout.connect(self.rebuild)
        self._building = False
        self._shape: tuple[object, ...] | None = None  # what the rows were built for
        self.cells: dict[str, VoiceCell] = {}
        self._fit_widths()

    def set_scene(self, scene: Scene) -> None:
        self.scene = scene
        self._shape = None
        self.rebuild()

    def schedule(self) -> None:
        self._timer.start()

    def rebuild(self) -> None:
        if self.scene is None:
            return
        from editor.core.catalog import voices

        own = self.own.load()
        stats = self.scene.speaker_stats()
        shape = (tuple(stats), tuple(self.scene.voice_of(n) for n in stats),
                 tuple(v.name for v in own))
        if shape == self._shape and self.table.rowCount() == len(stats):
            # The same speakers and voices (a render's progress, an edited line): only the
            # counts change; the cells' widgets (and a voice being typed) stay as they are.
            self._update_counts(stats)
            return
        self._shape = shape
        self._building = True
        names = [v.name for v in own] + list(voices())
        self.table.setRowCount(len(stats))
        self.cells = {}
        for row, (name, (count, chars)) in enumerate(stats.items()):
            item = QTableWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(name)
            self.table.setItem(row, COL_SPEAKER, item)
            cell = VoiceCell(names)
            voice_text = self.scene.voice_of(name)
            known = find(voice_text, own)
            # An own voice is kept by its id; the cell says its name.
            cell.combo.setCurrentText(known.name if known is not None and known.own
                                      else voice_text)
            cell.combo.lineEdit().editingFinished.connect(  # type: ignore[union-attr]
                lambda n=name, c=cell: self._commit(n, c))
            cell.combo.activated.connect(lambda _i, n=name, c=cell: self._commit(n, c))
            cell.combo.currentTextChanged.connect(lambda _t, c=cell: self._flag(c))
            cell.pick.clicked.connect(lambda _c=False, n=name: self.pick_voice(n))
            self._flag(cell)
            self.table.setCellWidget(row, COL_VOICE, cell)
            self.cells[name] = cell
            for col, value in ((COL_LINES, count), (COL_CHARS, chars)):
                cell_item = QTableWidgetItem(str(value))
                cell_item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                cell_item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                           | Qt.AlignmentFlag.AlignVCenter)
                if col == COL_LINES:
                    cell_item.setToolTip(f"{count} lines, {chars:,} characters")
                self.table.setItem(row, col, cell_item)
            self.table.setCellWidget(row, COL_HEAR, self._hear_button(name))
        self._building = False
        self._fit_widths()

    def _update_counts(self, stats: dict[str, tuple[int, int]]) -> None:
        for row, (count, chars) in enumerate(stats.values()):
            item = self.table.item(row, COL_LINES)
            if item is not None and item.text() != str(count):
                item.setText(str(count))
            if item is not None:
                item.setToolTip(f"{count} lines, {chars:,} characters")
            chars_item = self.table.item(row, COL_CHARS)
            if chars_item is not None and chars_item.text() != str(chars):
                chars_item.setText(str(chars))

    def _hear_button(self, name: str) -> QToolButton:
        button = QToolButton()
        button.setText("Hear")
        button.setIcon(icon("play"))
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        button.setToolTip(f"Hear this voice speak {name}'s first line (rendered once and kept; "
                          "free in the sandbox, the cost asked first otherwise). The arrow: "
                          "compare with another voice on the same line.")
        menu = QMenu(button)
        menu.addAction("Compare with another voice…", lambda n=name: self.compare_with(n))
        button.setMenu(menu)
        button.clicked.connect(lambda _c=False, n=name: self.hear(n))
        return button

    def _fit_widths(self) -> None:
        """Speaker fits its names up to a cap, Voice keeps at least VOICE_MIN_WIDTH, and the
        panel cannot be made narrower than that (the dock stops there)."""
        header = self.table.horizontalHeader()
        self.table.resizeColumnToContents(COL_SPEAKER)
        speaker = max(70, min(SPEAKER_MAX_WIDTH, self.table.columnWidth(COL_SPEAKER)))
        self.table.setColumnWidth(COL_SPEAKER, speaker)
        others = sum(header.sectionSize(c) for c in (COL_LINES, COL_CHARS, COL_HEAR)
                     if not header.isSectionHidden(c))
        frame = 2 * self.table.frameWidth() + self.table.verticalScrollBar().sizeHint().width()
        self.table.setMinimumWidth(speaker + VOICE_MIN_WIDTH + others + frame)

    def voice_width(self) -> int:
        return self.table.columnWidth(COL_VOICE)

    # --- voices ------------------------------------------------------------------------

    def _cast_text(self, cell: VoiceCell) -> str:
        """What goes into the cast: an own voice named in the cell is kept by its id."""
        text = cell.text()
        voice = find(text, self.own.load())
        return voice.cast_text if voice is not None and voice.own else text

    def _commit(self, speaker: str, cell: VoiceCell) -> None:
        self.voice_requested.emit(speaker, self._cast_text(cell))

    def _flag(self, cell: VoiceCell) -> None:
        known, tip = describe(cell.text(), self.own.load())
        cell.flag.setVisible(not known)
        cell.flag.setToolTip(tip)
        cell.combo.setToolTip(tip)

    def refresh_flags(self) -> None:
        for cell in self.cells.values():
            self._flag(cell)

    def flagged(self) -> list[str]:
        """The speakers whose voice text names no voice Castline knows."""
        return [n for n, c in self.cells.items() if not describe(c.text(), self.own.load())[0]]

    def pick_voice(self, speaker: str, query: str = "") -> VoicePicker:
        """Open the picker for ``speaker``; the pick becomes an undoable voice change."""
        current = self.scene.voice_of(speaker) if self.scene is not None else ""
        self.picker = open_picker(self.own, self.window(), speaker=speaker, current=current,
                                  query=query)
        self.picker.picked.connect(lambda text, n=speaker: self.voice_requested.emit(n, text))
        return self.picker

    # --- hearing -----------------------------------------------------------------------

    def hear(self, speaker: str) -> None:
        cell = self.cells.get(speaker)
        self.audition_requested.emit(speaker, [self._cast_text(cell) if cell else ""])

    def compare_with(self, speaker: str) -> VoicePicker:
        """Pick a second voice; then A (the cast's) and B (the picked one) play on the same
        line."""
        cell = self.cells.get(speaker)
        first = self._cast_text(cell) if cell else ""
        self.picker = open_picker(self.own, self.window(), speaker=speaker, current="",
                                  title=f"Compare {speaker}'s voice ({first or 'none'}) with…")
        self.picker.use_button.setText("Compare")
        self.picker.picked.connect(
            lambda text, n=speaker, a=first: self.audition_requested.emit(n, [a, text]))
        return self.picker

    def _on_table_item_changed(self, item: QTableWidgetItem) -> None:
        if self._building or item.column() != COL_SPEAKER:
            return
        old = item.data(Qt.ItemDataRole.UserRole)
        new = item.text().strip()
        if new and new != old:
            self.rename_requested.emit(old, new)
        else:
            self._building = True
            item.setText(old)
            self._building = False
