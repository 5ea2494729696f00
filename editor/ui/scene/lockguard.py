"""Locked means locked: a locked line's cells are read-only (the model leaves out
``ItemIsEditable``), and a try at editing one says why instead of doing nothing.

Installed on the scene table by the window; it only explains, it never edits.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent

from editor.ui.scene.model import COL_TEXT, FIELD_OF
from editor.ui.scene.table import SceneEditor

EDIT_KEYS = (Qt.Key.Key_F2, Qt.Key.Key_Return, Qt.Key.Key_Enter)


def locked_message(row: int) -> str:
    return f"Line {row + 1} is locked (Ctrl+L unlocks)."


class LockGuard(QObject):
    def __init__(self, editor: SceneEditor) -> None:
        super().__init__(editor)
        self.editor = editor
        editor.view.installEventFilter(self)
        editor.view.viewport().installEventFilter(self)

    def _locked(self, index: QModelIndex) -> bool:
        scene = self.editor.document.scene
        return index.isValid() and 0 <= index.row() < len(scene.lines) \
            and scene.lines[index.row()].locked

    def _explain(self, row: int) -> None:
        self.editor.message.emit(locked_message(row), 5000)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        view = self.editor.view
        if view.state() == view.State.EditingState:
            return False
        if event.type() == QEvent.Type.MouseButtonDblClick and watched is view.viewport():
            assert isinstance(event, QMouseEvent)
            index = view.indexAt(event.position().toPoint())
            if index.column() in FIELD_OF and self._locked(index):
                self._explain(index.row())
                return True
        elif event.type() == QEvent.Type.KeyPress and watched is view:
            assert isinstance(event, QKeyEvent)
            index = view.currentIndex()
            if not self._locked(index):
                return False
            mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            typing = bool(event.text()) and event.text().isprintable() \
                and event.text() != " " and not mods & ~Qt.KeyboardModifier.ShiftModifier
            column = COL_TEXT if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) \
                else index.column()
            if ((event.key() in EDIT_KEYS and not mods) or typing) and column in FIELD_OF:
                self._explain(index.row())
                return True
        return False
