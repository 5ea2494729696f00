"""Scene settings: title, the scene's stability, language and gap, and its pronunciation
dictionary (word -> how to say it; applied to what is sent, never to the writer's text)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor.core.catalog import detents, languages
from editor.core.scene import MAX_PAUSE_MS, Scene, SceneError, check_pronunciations


class SceneSettingsDialog(QDialog):
    def __init__(self, scene: Scene, default_gap_ms: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Scene Settings")
        self.scene = scene
        self.title = QLineEdit(scene.title)
        self.stability = QComboBox()
        for d in detents():
            self.stability.addItem(f"{d.name} ({d.value:g})", d.value)
        index = self.stability.findData(scene.stability)
        if index < 0:
            self.stability.addItem(f"{scene.stability:g}", scene.stability)
            index = self.stability.count() - 1
        self.stability.setCurrentIndex(index)
        self.language = QComboBox()
        for lang in languages():
            self.language.addItem(lang.name, lang.code)
        self.language.setCurrentIndex(max(0, self.language.findData(scene.language_code)))
        self.gap = QSpinBox()
        self.gap.setRange(-50, MAX_PAUSE_MS)
        self.gap.setSingleStep(50)
        self.gap.setSuffix(" ms")
        self.gap.setSpecialValueText(f"App default ({default_gap_ms} ms)")
        self.gap.setValue(self.gap.minimum() if scene.gap_ms is None else scene.gap_ms)
        self.gap.setToolTip("Silence between lines when playing and exporting; a line's own "
                            "'Pause after' overrides it")

        form = QFormLayout()
        form.addRow("&Title", self.title)
        form.addRow("&Stability", self.stability)
        form.addRow("&Language", self.language)
        form.addRow("&Gap between lines", self.gap)

        self.words = QTableWidget(0, 2)
        self.words.setHorizontalHeaderLabels(["Word", "Say it as"])
        self.words.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.words.verticalHeader().hide()
        for word, said in scene.pronunciations.items():
            self._add_row(word, said)
        self.words.itemChanged.connect(lambda _i: self._update_hint())
        add = QPushButton("&Add Word")
        add.clicked.connect(self._on_add_clicked)
        remove = QPushButton("&Remove")
        remove.clicked.connect(self._on_remove_clicked)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addWidget(self.hint, 1)

        self.error = QLabel()
        self.error.setStyleSheet("color: #b91c1c")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        label = QLabel("<b>Pronunciations</b>: how to say names and words the voice gets wrong. "
                       "They change what is sent, never your text; a whole word matches in any "
                       "case, and never inside [tags].")
        label.setWordWrap(True)
        layout.addWidget(label)
        layout.addWidget(self.words)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(520, 520)
        self._update_hint()

    def _add_row(self, word: str = "", said: str = "") -> None:
        r = self.words.rowCount()
        self.words.insertRow(r)
        self.words.setItem(r, 0, QTableWidgetItem(word))
        self.words.setItem(r, 1, QTableWidgetItem(said))

    def _on_add_clicked(self) -> None:
        self._add_row()
        item = self.words.item(self.words.rowCount() - 1, 0)
        self.words.setCurrentItem(item)
        self.words.editItem(item)

    def _on_remove_clicked(self) -> None:
        rows = sorted({i.row() for i in self.words.selectedIndexes()}, reverse=True)
        for r in rows or ([self.words.currentRow()] if self.words.currentRow() >= 0 else []):
            self.words.removeRow(r)
        self._update_hint()

    def pronunciations(self) -> dict[str, str]:
        table: dict[str, str] = {}
        for r in range(self.words.rowCount()):
            word = (self.words.item(r, 0) or QTableWidgetItem()).text().strip()
            said = (self.words.item(r, 1) or QTableWidgetItem()).text().strip()
            if word:
                table[word] = said
        return table

    def _update_hint(self) -> None:
        try:
            table = check_pronunciations(self.pronunciations())
        except SceneError as e:
            self.error.setText(str(e))
            self.ok_button.setEnabled(False)
            return
        self.error.clear()
        self.ok_button.setEnabled(True)
        probe = Scene(pronunciations=table)
        n = sum(1 for ln in self.scene.lines if probe.spoken(ln) != ln.text)
        said = "1 line says" if n == 1 else f"{n} lines say"
        self.hint.setText(f"Changes what {said}." if table else "")

    def changes(self) -> dict[str, Any]:
        """Scene setting -> new value, for the settings that changed."""
        out: dict[str, Any] = {}
        title = self.title.text().strip() or "Untitled scene"
        if title != self.scene.title:
            out["title"] = title
        if self.stability.currentData() != self.scene.stability:
            out["stability"] = float(self.stability.currentData())
        if self.language.currentData() != self.scene.language_code:
            out["language_code"] = self.language.currentData()
        gap = None if self.gap.value() < 0 else self.gap.value()
        if gap != self.scene.gap_ms:
            out["gap_ms"] = gap
        table = self.pronunciations()
        if table != self.scene.pronunciations:
            out["pronunciations"] = table
        return out

    def keyPressEvent(self, e: Any) -> None:
        # Enter in the word table edits the next cell instead of closing the dialog.
        if self.words.hasFocus() and e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.words.editItem(self.words.currentItem())
            return
        super().keyPressEvent(e)
