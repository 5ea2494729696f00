"""The Cast panel: each speaker's voice, lines and characters; rename, audition."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor.core.catalog import voices
from editor.core.scene import Scene
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
