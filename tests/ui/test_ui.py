"""The editor window, driven as a writer would, offscreen."""

from __future__ import annotations

import asyncio
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QComboBox

from editor.core import sceneio
from editor.core.planner import plan
from editor.core.pricing import format_credits
from editor.engine.sandbox import Fault
from editor.engine.status import LineState
from editor.ui.mainwindow import MainWindow
from editor.ui.scene.delegates import LineEditor
from editor.ui.scene.model import (
    COL_LANGUAGE,
    COL_SPEAKER,
    COL_STABILITY,
    COL_STATUS,
    COL_TEXT,
    SceneTableModel,
)
from tests.support.ui_helpers import run

pytestmark = pytest.mark.usefixtures("qloop")


def snapshot(win: MainWindow) -> Any:
    return json.loads(json.dumps(sceneio.scene_to_data(win.scene)))


def test_model_passes_qtmodeltester_through_edits(window: MainWindow, qtmodeltester: Any) -> None:
    qtmodeltester.check(window.model, force_py=True)
    window.select_rows([2])
    window.editor.insert_below()
    window.view.closePersistentEditor(window.view.currentIndex())
    window.select_rows([0, 1])
    window.editor.move_rows(1)
    window.editor.delete_rows()
    window.undo.undo()
    window.undo.undo()
    qtmodeltester.check(window.model, force_py=True)


def test_columns_show_scene_defaults_and_status(window: MainWindow) -> None:
    m = window.model
    assert m.index(0, COL_STABILITY).data() == "Scene (Natural)"
    assert m.index(4, COL_STABILITY).data() == "Creative"
    assert m.index(0, COL_LANGUAGE).data() == "Scene (Auto)"
    assert m.index(0, COL_STATUS).data() == "Not rendered"


def commit_editor(window: MainWindow, qtbot: Any, row: int, col: int, set_value: Any) -> None:
    index = window.model.index(row, col)
    window.view.setCurrentIndex(index)
    window.view.edit(index)
    editor = window.view.indexWidget(index)
    assert editor is not None, "no editor opened"
    set_value(editor)
    delegate = window.view.itemDelegateForColumn(col)
    delegate.commitData.emit(editor)
    delegate.closeEditor.emit(editor)


def test_each_delegate_edits_and_commits_one_undo_step(window: MainWindow, qtbot: Any) -> None:
    def set_text(e: Any) -> None:
        assert isinstance(e, LineEditor)
        e.setPlainText("[sighs] A new reading.")

    commit_editor(window, qtbot, 0, COL_TEXT, set_text)
    assert window.scene.lines[0].text == "[sighs] A new reading."

    def set_speaker(e: Any) -> None:
        assert isinstance(e, QComboBox)
        e.setCurrentText("NARRATOR")

    commit_editor(window, qtbot, 1, COL_SPEAKER, set_speaker)
    assert window.scene.lines[1].speaker == "NARRATOR"
    assert "NARRATOR" in window.scene.cast  # a new name joins the cast

    def pick(label: str) -> Any:
        def go(e: Any) -> None:
            assert isinstance(e, QComboBox)
            e.setCurrentIndex(e.findText(label))
        return go

    commit_editor(window, qtbot, 2, COL_STABILITY, pick("Robust (1)"))
    assert window.scene.lines[2].stability == 1.0
    commit_editor(window, qtbot, 2, COL_LANGUAGE, pick("French"))
    assert window.scene.lines[2].language_code == "fr"
    commit_editor(window, qtbot, 4, COL_STABILITY, pick("Scene default"))
    assert window.scene.lines[4].stability is None
    assert window.undo.count() == 5
    assert window.act_undo.text() == "&Undo Edit stability"
    for _ in range(5):
        window.undo.undo()
    assert window.scene.lines[0].text.startswith("[whispers]")
    assert "NARRATOR" not in window.scene.cast


def test_typing_in_one_cell_merges_into_one_step(window: MainWindow) -> None:
    for text in ("B", "Be", "Ben"):
        window.document.commit_cell(3, "text", text)
    assert window.undo.count() == 1
    window.undo.undo()
    assert window.scene.lines[3].text == "[curious] Fine. What do you hear?"


@pytest.mark.parametrize("action", ["insert_below", "insert_above", "delete", "duplicate",
                                    "move_up", "move_down", "merge", "split", "stability",
                                    "speaker", "rename", "voice"])
def test_row_action_undo_and_redo(window: MainWindow, action: str) -> None:
    window.select_rows([2, 3])
    before = snapshot(window)
    if action == "insert_below":
        window.select_rows([2])
        window.editor.insert_below()
        assert window.scene.lines[3].text == "" and window.scene.lines[3].speaker == "BEN"
        assert window.view.state() == window.view.State.EditingState  # straight into typing
    elif action == "insert_above":
        window.select_rows([2])
        window.editor.insert_above()
        assert window.scene.lines[2].text == ""
    elif action == "delete":
        window.editor.delete_rows()
        assert len(window.scene) == 8
    elif action == "duplicate":
        window.editor.duplicate_rows()
        assert [ln.text for ln in window.scene.lines[4:6]] == [ln["text"] for ln in
                                                                 before["lines"][2:4]]
    elif action == "move_up":
        window.editor.move_rows(-1)
        assert window.scene.lines[1].id == "line-3"
        assert window.editor.selected_rows() == [1, 2]  # the selection follows the lines
    elif action == "move_down":
        window.editor.move_rows(1)
        assert window.scene.lines[3].id == "line-3"
    elif action == "merge":
        window.select_rows([2])
        window.editor.merge_line()
        assert window.scene.lines[2].text.endswith("What do you hear?")
    elif action == "split":
        window.select_rows([2])
        window.view.edit(window.model.index(2, COL_TEXT))
        editor = window.editor.open_line_editor()
        cursor = editor.textCursor()
        cursor.setPosition(len("Not in the middle of the Channel,"))
        editor.setTextCursor(cursor)
        window.editor.split_line()
        assert window.scene.lines[2].text == "Not in the middle of the Channel,"
        assert window.scene.lines[3].text == "they don't."
    elif action == "stability":
        window.actions["edit.stability.3"].trigger()  # Robust
        assert [ln.stability for ln in window.scene.lines[2:4]] == [1.0, 1.0]
    elif action == "speaker":
        window.editor.set_selection("speaker", "PURSER")
        assert {ln.speaker for ln in window.scene.lines[2:4]} == {"PURSER"}
    elif action == "rename":
        window.editor.rename_speaker("BEN", "BENEDICT")
        assert "BENEDICT" in window.scene.cast and window.scene.lines[1].speaker == "BENEDICT"
    elif action == "voice":
        window.editor.set_voice("BEN", "Brian")
        assert window.scene.voice_of("BEN") == "Brian"
    after = snapshot(window)
    assert after != before
    window.undo.undo()
    assert snapshot(window) == before
    window.undo.redo()
    assert snapshot(window) == after
    assert window.isWindowModified()


def test_drag_and_drop_moves_lines_as_one_undo_step(window: MainWindow, qtbot: Any) -> None:
    model: SceneTableModel = window.model
    data = model.mimeData([model.index(0, 0), model.index(1, 0)])
    assert model.dropMimeData(data, Qt.DropAction.MoveAction, 5, 0, model.index(-1, -1)) is False
    qtbot.waitUntil(lambda: window.scene.lines[3].id == "line-1")
    assert [ln.id for ln in window.scene.lines[:5]] == ["line-3", "line-4", "line-5", "line-1",
                                                         "line-2"]
    window.undo.undo()
    assert window.scene.lines[0].id == "line-1"


def test_cost_panel_follows_edits_and_selection(window: MainWindow) -> None:
    from editor.engine.renderplan import Estimate

    panel = window.cost_panel
    total = Estimate.of(plan(window.scene, "lines"))
    assert panel.per_line.text() == f"{total.requests} requests · {total.text()}"
    window.document.commit_cell(0, "text", "x" * 1000)
    window.update_costs()
    total = Estimate.of(plan(window.scene, "lines"))
    takes = Estimate.of(plan(window.scene, "take"))
    assert panel.per_line.text() == f"{total.requests} requests · {total.text()}"
    assert panel.as_takes.text() == f"{takes.requests} requests · {takes.text()}"
    window.select_rows([0])
    window.update_costs()
    assert panel.selection.text().startswith(format_credits(Fraction(28)))
    assert "1 line" in panel.selection.text()


def test_render_flips_statuses_to_ready_and_shows_progress(window: MainWindow, qloop: Any) -> None:
    stages: list[str] = []
    original = window.queue_panel.feed
    window.queue_panel.feed = lambda e: (stages.append(e.stage.value), original(e))  # type: ignore[method-assign]
    task = window.start_render([0, 1, 2])
    assert task is not None
    outcome = run(qloop, task)
    assert outcome.ok
    states = [window.book.status(ln).state for ln in window.scene.lines]
    assert states[:3] == [LineState.READY] * 3
    assert states[3] is LineState.NOT_RENDERED
    assert window.model.index(0, COL_STATUS).data() == "Ready"
    assert {"queued", "submitting", "ready"} <= set(stages)
    assert window.queue_panel.model.rowCount() == 3
    assert window.queue_panel.model.summary().lines_done == 3
    # An edit after the render flips the row to "changed".
    window.document.commit_cell(0, "text", "Something else entirely.")
    assert window.model.index(0, COL_STATUS).data() == "Changed since render"
    window.undo.undo()
    assert window.model.index(0, COL_STATUS).data() == "Ready"


def test_a_failed_line_shows_its_reason(window: MainWindow, qloop: Any) -> None:
    session = run(qloop, window.render.ensure_service())
    assert session.sandbox is not None
    session.sandbox.faults = [Fault("task", "fail", times=1)]
    task = window.start_render([5])
    assert task is not None
    run(qloop, task)
    status = window.book.status(window.scene.lines[5])
    assert status.state is LineState.FAILED
    tooltip = window.model.index(5, COL_STATUS).data(Qt.ItemDataRole.ToolTipRole)
    assert "could not synthesise" in tooltip
    assert "could not synthesise" in window.statusBar().currentMessage()
    assert "Line 6 failed" in window.statusBar().currentMessage()


def test_playback_reaches_playing_and_end_of_media(window: MainWindow, qloop: Any, qtbot: Any,
                                                   null_audio_sink: str | None) -> None:
    assert null_audio_sink is not None, "pulseaudio is needed for the playback tests " \
        "(bash packaging/dev test installs it)"
    assert window.player.available, window.player.unavailable_reason
    task = window.start_render([3])
    assert task is not None
    run(qloop, task)
    window.select_rows([3])
    with qtbot.waitSignal(window.player.started, timeout=5000):
        window.play_current()
    player = window.player.media_player
    assert player is not None
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState,
                    timeout=5000)
    assert window.model.playing_id == "line-4"
    with qtbot.waitSignal(window.player.finished, timeout=30000):
        pass
    assert player.mediaStatus() == QMediaPlayer.MediaStatus.EndOfMedia


def test_click_to_preview_renders_first_then_plays(window: MainWindow, qloop: Any,
                                                   qtbot: Any) -> None:
    window.select_rows([6])
    window.play_current()  # not rendered yet: renders, then plays
    assert window.render.task is not None
    with qtbot.waitSignal(window.player.started, timeout=30000):
        run(qloop, window.render.task)
    assert window.model.playing_id == "line-7"
    window.stop_playback()
    assert window.model.playing_id is None


def test_save_and_unsaved_mark(window: MainWindow, tmp_path: Path) -> None:
    window.document.commit_cell(0, "text", "Edited.")
    assert window.isWindowModified()
    assert window.document.save_to(tmp_path / "ferry.castline")
    assert not window.isWindowModified()
    assert "ferry.castline" in window.windowTitle()
    assert sceneio.load(tmp_path / "ferry.castline").lines[0].text == "Edited."


def test_export_writes_the_mix(window: MainWindow, qloop: Any, tmp_path: Path) -> None:
    from editor.engine.audio import decode

    task = window.start_render(None)
    assert task is not None
    run(qloop, task)
    out = run(qloop, window.export.export_to(tmp_path / "mix.flac", ask=False))
    clips = [decode(window.book.status(ln).path) for ln in window.scene.lines]  # type: ignore[arg-type]
    expected = sum(c.seconds for c in clips) + 0.3 * (len(clips) - 1)
    assert abs(decode(out).seconds - expected) < 0.01


def test_empty_scene_shows_a_hint(window: MainWindow) -> None:
    window.document.new_scene()
    assert window.editor.stack.currentWidget() is window.editor.empty_hint
    window.editor.insert_below()
    assert window.editor.stack.currentWidget() is window.view
    assert asyncio.get_event_loop() is not None
