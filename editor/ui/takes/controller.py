"""The takes room: the current line's takes, chosen, deleted, heard, compared.

:class:`TakesController` fills the Takes panel from the document and turns its buttons
into undo commands; hearing a take, comparing two or asking for a new one leave as
signals for the playback and render rooms.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from editor.ui.scene import commands as cmd
from editor.ui.scene.document import SceneDocument
from editor.ui.scene.table import SceneEditor
from editor.ui.takes.panel import TakesPanel


class TakesController(QObject):
    play_requested = Signal(str)  # a take's file
    compare_requested = Signal(object, object)  # Path, Path: this take, then the chosen one
    new_take_requested = Signal()
    message = Signal(str, int)

    def __init__(self, document: SceneDocument, editor: SceneEditor, panel: TakesPanel,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.editor = editor
        self.panel = panel
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.refresh)
        panel.play_requested.connect(self._on_panel_play_requested)
        panel.compare_requested.connect(self._on_panel_compare_requested)
        panel.choose_requested.connect(self.choose_take)
        panel.delete_requested.connect(self.delete_take)
        panel.regenerate_requested.connect(self.new_take_requested)
        panel.lock_requested.connect(editor.set_locked)

    def schedule(self) -> None:
        self._timer.start()

    def refresh(self) -> None:
        doc = self.document
        row = self.editor.current_row()
        if row is None or row >= len(doc.scene):
            self.panel.show_line(None, None, [], None, lambda _t: False, lambda _t: None)
            return
        line = doc.scene.lines[row]
        store, key_of = doc.takes, doc.book.key_of
        self.panel.show_line(row, line, doc.book.takes_of(line), doc.book.take(line),
                             lambda t: store.usable(t, key_of), doc.take_seconds)

    def choose_take(self, take_id: str) -> None:
        doc = self.document
        if (take := doc.takes.get(take_id)) is None:
            return
        row = self.editor.current_row()
        line_ids = take.line_ids if len(take.lines) > 1 or row is None else \
            [doc.scene.lines[row].id]
        doc.undo.push(cmd.ChooseTakeCommand(doc.takes, line_ids, take_id, doc.lines_changed))

    def delete_take(self, take_id: str) -> None:
        doc = self.document
        if doc.takes.get(take_id) is not None:
            doc.undo.push(cmd.DeleteTakeCommand(doc.takes, take_id, doc.lines_changed))

    def _on_panel_play_requested(self, take_id: str) -> None:
        take = self.document.takes.get(take_id)
        path = self.document.takes.path(take) if take is not None else None
        if path is not None:
            self.play_requested.emit(str(path))

    def _on_panel_compare_requested(self, take_id: str) -> None:
        """A/B: this take, then the chosen one."""
        doc = self.document
        row = self.editor.current_row()
        if row is None:
            return
        take, chosen = doc.takes.get(take_id), doc.book.take(doc.scene.lines[row])
        if take is None or chosen is None:
            return
        first, then = doc.takes.path(take), doc.takes.path(chosen)
        if first is not None and then is not None:
            self.compare_requested.emit(first, then)
