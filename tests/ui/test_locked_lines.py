"""Locked means locked: read-only cells with a lock icon, an edit attempt says why, no cost,
and a locked line with no audio in this mode says so (the lock is the scene file's)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from editor.core import sceneio
from editor.ui.mainwindow import MainWindow
from editor.ui.scene.model import COL_CREDITS, COL_STATUS, COL_TEXT, FIELD_OF
from tests.support.ui_helpers import run

pytestmark = pytest.mark.usefixtures("qloop")


def _lock(window: MainWindow, row: int) -> None:
    window.select_rows([row])
    window.editor.toggle_lock()
    assert window.scene.lines[row].locked


def test_locked_rows_are_not_editable(window: MainWindow) -> None:
    _lock(window, 2)
    model = window.model
    for col in FIELD_OF:
        assert not model.flags(model.index(2, col)) & Qt.ItemFlag.ItemIsEditable
        assert model.flags(model.index(3, col)) & Qt.ItemFlag.ItemIsEditable
    assert not model.index(2, COL_STATUS).data(Qt.ItemDataRole.DecorationRole).isNull()
    assert model.index(2, COL_STATUS).data() == "locked · no audio here"
    assert "Locked: read-only" in model.index(2, COL_STATUS).data(Qt.ItemDataRole.ToolTipRole)
    assert "no sandbox audio" in model.index(2, COL_STATUS).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(2, COL_CREDITS).data() == "–"  # no cost figure counts it
    assert model.index(3, COL_CREDITS).data() != "–"
    window.editor.toggle_lock()  # Ctrl+L again: editable again
    assert model.flags(model.index(2, COL_TEXT)) & Qt.ItemFlag.ItemIsEditable


def test_an_edit_attempt_on_a_locked_line_says_why(window: MainWindow, qtbot: Any) -> None:
    _lock(window, 2)
    view = window.view
    index = window.model.index(2, COL_TEXT)
    view.setCurrentIndex(index)
    rect = view.visualRect(index)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.state() != view.State.EditingState
    assert window.statusBar().currentMessage() == "Line 3 is locked (Ctrl+L unlocks)."
    window.statusBar().clearMessage()
    qtbot.keyClick(view, Qt.Key.Key_F2)
    qtbot.keyClick(view, Qt.Key.Key_A)
    assert view.state() != view.State.EditingState
    assert window.scene.lines[2].text == "Not in the middle of the Channel, they don't."
    assert window.statusBar().currentMessage() == "Line 3 is locked (Ctrl+L unlocks)."


def test_a_locked_line_is_not_rendered_and_the_lock_is_kept_in_the_file(
        window: MainWindow, qloop: Any) -> None:
    _lock(window, 2)
    task = window.start_render(None)
    assert task is not None
    outcome = run(qloop, task)
    assert outcome is not None and outcome.ok
    assert window.model.index(2, COL_STATUS).data() == "locked · no audio here"
    assert window.model.index(3, COL_STATUS).data().startswith("Ready")
    saved = sceneio.loads(sceneio.dumps(window.scene))
    assert saved.lines[2].locked and not saved.lines[3].locked


def test_commands_over_a_selection_leave_locked_lines_as_they_are(window: MainWindow) -> None:
    """Set Speaker, Set Language and a stability over a selection used to change a locked
    line too (its chosen take then no longer spoke it); Split and Merge did the same. Now the
    locked lines are left as they are and the status bar says how many."""
    _lock(window, 2)
    before = sceneio.scene_to_data(window.scene)["lines"][2]
    window.select_rows([1, 2, 3])
    window.actions["edit.stability.3"].trigger()
    assert window.statusBar().currentMessage() == "1 locked line left as it is (Ctrl+L unlocks)."
    window.prompter.answers = ["PURSER"]
    window.actions["edit.set_speaker"].trigger()
    assert window.scene.lines[1].speaker == "PURSER" and window.scene.lines[3].speaker == "PURSER"
    assert sceneio.scene_to_data(window.scene)["lines"][2] == before
    window.undo.undo()
    window.undo.undo()
    assert window.scene.lines[2].locked
    window.select_rows([2])  # only the locked line: no question is asked, nothing changes
    window.actions["edit.set_language"].trigger()
    assert window.statusBar().currentMessage() == "The line is locked: nothing changed (Ctrl+L unlocks)."
    window.actions["edit.merge"].trigger()  # line 3 with line 4
    assert "locked: nothing merged" in window.statusBar().currentMessage()
    window.select_rows([1])  # line 2 with the locked line 3
    window.actions["edit.merge"].trigger()
    assert "Line 3 is locked" in window.statusBar().currentMessage()
    assert sceneio.scene_to_data(window.scene)["lines"][2] == before
    assert len(window.scene) == 10
