"""The voice picker: search ElevenLabs' premade voices and the writer's own, pick one.

The library itself (what a voice is, search, find) is ``editor.core.voices``; this is
only its face. The writer's own voices (a name and a voice id) are kept in the
``voices/own`` setting through :class:`OwnVoices`, and added or removed here.

The picker is a window-modal dialog opened with ``open()`` (never ``exec()``): the Cast
panel and the pre-render check connect to :attr:`VoicePicker.picked`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor.core import voices as V
from editor.ui.settings import Settings

COLUMNS = ("Name", "Gender", "Age", "Accent", "Description", "Use case", "Kind")
KIND_TEXT = {V.PREMADE: "premade", V.LEGACY: "legacy", V.OWN: "yours"}


class OwnVoices(QObject):
    """The writer's own voices, kept in settings (``voices/own``, JSON)."""

    changed = Signal()

    def __init__(self, settings: Settings | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._memory: tuple[V.Voice, ...] = ()  # without settings (a bare panel in a test)

    def load(self) -> tuple[V.Voice, ...]:
        if self.settings is None:
            return self._memory
        try:
            data = json.loads(str(self.settings.get("voices/own")) or "[]")
        except ValueError:
            return ()
        return V.own_voices_from_data(data)

    def save(self, voices: Sequence[V.Voice]) -> None:
        if self.settings is None:
            self._memory = tuple(voices)
        else:
            self.settings.set("voices/own", json.dumps(V.own_voices_to_data(voices)))
        self.changed.emit()

    def add(self, voice: V.Voice) -> None:
        kept = [v for v in self.load() if v.voice_id != voice.voice_id
                and v.name.casefold() != voice.name.casefold()]
        self.save([voice, *kept])

    def remove(self, voice_id: str) -> None:
        self.save([v for v in self.load() if v.voice_id != voice_id])


def unknown_voice_tip(text: str) -> str:
    return (f"“{text}” is not a voice Castline knows (ElevenLabs' premade voices or your own). "
            "The service may refuse it or speak in another voice. Click … to pick one, or add "
            "it to your own voices there.")


def describe(text: str, own: Sequence[V.Voice]) -> tuple[bool, str]:
    """(known, tooltip) for what a voice cell holds."""
    text = text.strip()
    if not text:
        return True, "No voice: the service would use its default voice. Click … to pick one."
    voice = V.find(text, own)
    if voice is None:
        return False, unknown_voice_tip(text)
    kind = KIND_TEXT.get(voice.category, voice.category)
    return True, f"{voice.label()}\n{kind} voice · id {voice.voice_id}"


class VoicePicker(QDialog):
    """Search, pick, and keep one's own voices. :attr:`picked` carries the text to put in the
    cast (a premade voice's name, an own voice's id: ``Voice.cast_text``)."""

    picked = Signal(str)

    def __init__(self, own: OwnVoices, *, speaker: str = "", current: str = "", query: str = "",
                 title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.own = own
        self.setWindowTitle(title or (f"Voice for {speaker}" if speaker else "Pick a voice"))
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.resize(860, 520)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search: a name, or words like “female british calm” or "
                                       "“narration”")
        self.search.setClearButtonEnabled(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(48)
        for col, width in enumerate((150, 66, 96, 100, 0, 130, 64)):
            if width:
                header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
                self.table.setColumnWidth(col, width)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.count = QLabel()
        self.count.setEnabled(False)

        # Own voices: a name and an id, added in place (no dialog over the dialog).
        self.own_name = QLineEdit()
        self.own_name.setPlaceholderText("Name, e.g. Grandpa (clone)")
        self.own_id = QLineEdit()
        self.own_id.setPlaceholderText("Voice id, e.g. JBFqnCBsd6RMkjVDRZzb")
        self.own_id.setToolTip("ElevenLabs shows a voice's id in its Voices page (20 letters and "
                               "digits).")
        self.add_button = QPushButton("Add to my voices")
        self.remove_button = QPushButton("Remove from my voices")
        self.remove_button.setEnabled(False)
        self.own_error = QLabel()
        self.own_error.setStyleSheet("color: #b91c1c;")
        self.own_error.setWordWrap(True)
        self.own_error.hide()
        own_row = QHBoxLayout()
        own_row.addWidget(QLabel("My voice:"))
        own_row.addWidget(self.own_name, 2)
        own_row.addWidget(self.own_id, 3)
        own_row.addWidget(self.add_button)
        own_row.addWidget(self.remove_button)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.use_button = self.buttons.addButton("Use this voice",
                                                 QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button.setEnabled(False)
        self.use_button.setDefault(True)
        layout = QVBoxLayout(self)
        if speaker:
            intro = QLabel(f"Pick a voice for <b>{speaker}</b>"
                           + (f" (now: {current})." if current.strip() else "."))
            layout.addWidget(intro)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count)
        layout.addLayout(own_row)
        layout.addWidget(self.own_error)
        layout.addWidget(self.buttons)

        self.search.textChanged.connect(self.refilter)
        self.search.returnPressed.connect(self._on_search_return_pressed)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.table.itemDoubleClicked.connect(lambda _i: self.accept())
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.add_button.clicked.connect(self.add_own)
        self.remove_button.clicked.connect(self.remove_own)
        self.shown: list[V.Voice] = []
        self.search.setText(query)
        self.refilter()
        found = V.find(current, self.own.load()) if current.strip() and not query else None
        if found is not None:
            self.select_voice(found)

    # --- the list ----------------------------------------------------------------------

    def refilter(self) -> None:
        own = self.own.load()
        pool = V.all_voices(own)
        self.shown = V.search(self.search.text(), pool)
        self.table.setRowCount(len(self.shown))
        for row, voice in enumerate(self.shown):
            description = voice.description or (
                f"your voice · id {voice.voice_id}" if voice.own else "")
            age = voice.age.replace("middle aged", "middle-aged")  # the source writes both
            values = (voice.name, voice.gender, age, voice.accent, description,
                      voice.use_case, KIND_TEXT.get(voice.category, voice.category))
            tip = f"{voice.label()}\nVoice id: {voice.voice_id}"
            if voice.own and voice.language:
                tip += f"\nLanguage: {voice.language}"
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(tip)
                if col == 0:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, col, item)
        n, total = len(self.shown), len(pool)
        self.count.setText(f"{n} of {total} voices" if self.search.text().strip()
                           else f"{total} voices: {len(own)} of yours, "
                                f"{total - len(own)} ElevenLabs premade (current first, then "
                                "legacy)")
        if self.shown:
            self.table.selectRow(0)
        self._on_selection_changed()

    def select_voice(self, voice: V.Voice) -> None:
        for row, v in enumerate(self.shown):
            if v.voice_id == voice.voice_id and v.name == voice.name:
                self.table.selectRow(row)
                self.table.scrollToItem(self.table.item(row, 0))
                return

    def current_voice(self) -> V.Voice | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        return self.shown[min(rows)] if rows and min(rows) < len(self.shown) else None

    def _on_selection_changed(self) -> None:
        voice = self.current_voice()
        self.use_button.setEnabled(voice is not None)
        self.remove_button.setEnabled(voice is not None and voice.own)

    def _on_search_return_pressed(self) -> None:
        if self.current_voice() is not None:
            self.accept()

    # --- own voices --------------------------------------------------------------------

    def add_own(self) -> bool:
        try:
            voice = V.own_voice(self.own_name.text(), self.own_id.text())
        except V.OwnVoiceError as e:
            self.own_error.setText(str(e))
            self.own_error.show()
            return False
        self.own_error.hide()
        self.own.add(voice)
        self.own_name.clear()
        self.own_id.clear()
        self.search.setText("")
        self.refilter()
        self.select_voice(voice)
        return True

    def remove_own(self) -> None:
        voice = self.current_voice()
        if voice is not None and voice.own:
            self.own.remove(voice.voice_id)
            self.refilter()

    # --- the answer --------------------------------------------------------------------

    def accept(self) -> None:
        voice = self.current_voice()
        if voice is None:
            return
        super().accept()
        self.picked.emit(voice.cast_text)


def open_picker(own: OwnVoices, parent: QWidget | None, *, speaker: str = "", current: str = "",
                query: str = "", title: str = "") -> VoicePicker:
    """Open a picker window-modal (``open()``, not ``exec()``); it deletes itself when closed."""
    picker = VoicePicker(own, speaker=speaker, current=current, query=query, title=title,
                         parent=parent)
    picker.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    picker.open()
    return picker
