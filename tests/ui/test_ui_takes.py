"""Takes, locks, pauses, pronunciations and exports in the editor window (sandbox, real HTTP,
real audio to the null sink)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from editor.core import sceneio
from editor.engine.audio import decode
from editor.engine.status import LineState
from editor.engine.takes import TakeStore, file_sha256, takes_dir_for
from editor.ui.mainwindow import MainWindow
from editor.ui.scene.model import COL_PAUSE, COL_STATUS
from tests.support.ui_helpers import run


def render(window: MainWindow, qloop: Any, rows: list[int] | None, *, force: bool = False) -> None:
    task = window.start_render(rows, force=force)
    assert task is not None
    run(qloop, task)


def sandbox_texts(window: MainWindow) -> list[str]:
    assert window.render.session is not None and window.render.session.sandbox is not None
    return [t.body["dialogue"][0]["text"] for t in window.render.session.sandbox.tasks.values()]


def test_a_new_take_keeps_the_old_and_the_choice_is_undoable(
        window: MainWindow, qloop: Any, qtbot: Any) -> None:
    window.select_rows([2])
    render(window, qloop, [2])
    window.render.rerender_line()  # "New take": sent again even though the audio is cached
    run(qloop, window.render.task)  # type: ignore[arg-type]
    line = window.scene.lines[2]
    store = window.takes
    assert store is not None
    first, second = store.takes_for(line.id)
    assert first.sha256 != second.sha256  # two readings, both kept
    assert window.book.take(line) == second  # the newest is chosen
    assert window.takes_panel.tree.topLevelItemCount() == 2
    assert "take 2/2" in window.model.index(2, COL_STATUS).data()

    window.takes_room.choose_take(first.id)
    assert window.book.take(line) == first
    assert window.book.status(line).path == store.path(first)
    # What plays is the chosen take.
    with qtbot.waitSignal(window.player.started, timeout=30000) as blocker:
        window.play_current()
    assert blocker.args == [str(store.path(first))]
    window.stop_playback()
    window.undo.undo()
    assert window.book.take(line) == second
    window.undo.redo()
    assert window.book.take(line) == first
    assert window.render.session is not None and window.render.session.sandbox is not None
    assert window.render.session.sandbox.stats.submits == 2


def test_deleting_a_take_is_undoable(window: MainWindow, qloop: Any) -> None:
    window.select_rows([0])
    render(window, qloop, [0])
    render(window, qloop, [0], force=True)
    store = window.takes
    assert store is not None
    line = window.scene.lines[0]
    newest = store.takes_for(line.id)[-1]
    window.takes_room.delete_take(newest.id)
    assert [t.id for t in store.takes_for(line.id)] != [] and newest not in store.takes_for(line.id)
    assert window.book.take(line) == store.takes_for(line.id)[0]
    window.undo.undo()
    assert window.book.take(line) == newest


def test_takes_travel_with_the_scene_when_saved_and_reopened(
        window: MainWindow, qloop: Any, tmp_path: Path) -> None:
    render(window, qloop, [0, 1, 2])
    staged = window.takes
    assert staged is not None and len(staged) == 3
    path = tmp_path / "Ferry.castline"
    assert window.document.save_to(path)
    assert window.takes is not None and window.takes.root == takes_dir_for(path)
    assert not staged.root.exists()  # the unsaved scene's folder moved beside the scene
    window.select_rows([1])
    window.render.rerender_line()
    run(qloop, window.render.task)  # type: ignore[arg-type]
    line = window.scene.lines[1]
    chosen = window.takes.takes_for(line.id)[0]
    window.takes_room.choose_take(chosen.id)

    window.prompter.answers = ["Discard"]  # choosing a take is an edit: let it go
    window.document.new_scene()
    assert window.open_path(path)
    assert window.takes is not None and len(window.takes) == 4
    status = window.book.status(window.scene.lines[1])
    assert status.state is LineState.READY and status.take == chosen
    assert file_sha256(status.path) == chosen.sha256  # type: ignore[arg-type]


def test_a_locked_line_is_never_submitted_from_the_editor(window: MainWindow, qloop: Any
                                                          ) -> None:
    window.select_rows([1, 3])
    window.editor.toggle_lock()
    assert [ln.locked for ln in window.scene.lines[:4]] == [False, True, False, True]
    assert "locked" in window.model.index(1, COL_STATUS).data()
    render(window, qloop, None)
    sent = sandbox_texts(window)
    assert window.scene.lines[1].text not in sent and window.scene.lines[3].text not in sent
    assert len(sent) == len(window.scene) - 2
    window.select_rows([1])
    window.render.rerender_line()  # refused with a message, nothing sent
    assert window.render.task is None or window.render.task.done()
    assert len(sandbox_texts(window)) == len(window.scene) - 2
    window.undo.undo()
    assert not window.scene.lines[1].locked


def test_a_pronunciation_marks_exactly_its_lines_and_is_undoable(window: MainWindow,
                                                                 qloop: Any) -> None:
    render(window, qloop, None)
    texts = [ln.text for ln in window.scene.lines]
    affected = [r for r, t in enumerate(texts) if "Ben" in t.replace("[", " ").split()
                or "Ben." in t or "Ben," in t]
    assert affected == [0]  # "Ben. Ben, wake up."
    before = window.document.costs.characters
    window.document.apply_scene_settings({"pronunciations": {"Ben": "Benjamin"}})
    states = [window.book.status(ln).state for ln in window.scene.lines]
    assert [r for r, s in enumerate(states) if s is not LineState.READY] == affected
    assert [ln.text for ln in window.scene.lines] == texts
    assert window.document.costs.characters == before + 2 * len("jamin")
    assert window.model.index(0, 2).data(3).startswith("Spoken as: [whispers] Benjamin.")
    render(window, qloop, [0])
    assert "[whispers] Benjamin. Benjamin, wake up. The engines have stopped." in sandbox_texts(window)
    window.undo.undo()  # the render added a take; undo takes the dictionary entry out
    assert window.scene.pronunciations == {}
    assert all(window.book.status(ln).state is LineState.READY for ln in window.scene.lines)


def test_a_pause_after_a_line_is_in_the_mix(window: MainWindow, qloop: Any, tmp_path: Path
                                            ) -> None:
    render(window, qloop, None)
    model = window.model
    assert model.setData(model.index(3, COL_PAUSE), 1200)
    assert window.scene.lines[3].pause_after_ms == 1200
    assert model.index(3, COL_PAUSE).data() == "1200 ms"
    out = run(qloop, window.export.export_to(tmp_path / "mix.wav", ask=False))
    clips = [decode(window.book.status(ln).path) for ln in window.scene.lines]  # type: ignore[arg-type]
    frames = sum(len(c.data) for c in clips)
    rate = clips[0].rate
    gaps = [1200 if r == 3 else 300 for r in range(len(clips) - 1)]
    assert len(decode(out).data) == frames + sum(round(g * rate / 1000) for g in gaps)
    window.undo.undo()
    assert window.scene.lines[3].pause_after_ms is None


def test_insert_pause_tag_goes_in_at_the_cursor(window: MainWindow, qtbot: Any) -> None:
    window.select_rows([6])
    window.editor.insert_tag("long pause")
    editor = window.editor.open_line_editor()
    assert editor is not None
    assert editor.toPlainText() == window.scene.lines[6].text + " [long pause] "


@pytest.mark.parametrize("choice", ["Skip", "Render"])
def test_the_export_dialog_reports_missing_lines_first(
        window: MainWindow, qloop: Any, qtbot: Any, tmp_path: Path,
        choice: str) -> None:
    render(window, qloop, [0, 1, 2])
    window.export.open_dialog()
    dialog = window.export.dialog
    assert dialog is not None
    dialog.folder.setText(str(tmp_path))
    for key, box in dialog.boxes.items():
        box.setChecked(key in ("mix", "lines", "manifest"))
    dialog.fmt.setCurrentIndex(dialog.fmt.findData("flac"))
    window.prompter.answers = [f"{choice} Them"]
    dialog.export_button.click()
    assert dialog.running and window.export.task is not None
    run(qloop, window.export.task)
    assert not dialog.running and "file(s)" in dialog.status.text()
    (question,) = window.prompter.asked
    assert question.title == "Lines without audio" and "7 line(s) have no audio" in question.text
    manifest = json.loads(next(tmp_path.glob("*_manifest.json")).read_text("utf-8"))
    expected = 3 if choice == "Skip" else len(window.scene)
    assert len(manifest["lines"]) == expected
    assert len(list(tmp_path.glob("0*_*.flac"))) == expected
    assert dialog.progress.value() == 100
    assert window.settings.get("export/format") == "flac"


def test_reopening_purges_deleted_takes(window: MainWindow, qloop: Any, tmp_path: Path) -> None:
    path = tmp_path / "Ferry.castline"
    assert window.document.save_to(path)
    window.select_rows([0])
    render(window, qloop, [0])
    render(window, qloop, [0], force=True)
    store = window.takes
    assert store is not None
    old = store.takes_for(window.scene.lines[0].id)[0]
    window.takes_room.delete_take(old.id)
    audio = store.path(old)
    assert audio.exists()  # undo could still bring it back
    window.prompter.answers = ["Discard"]  # deleting a take is an edit: let it go
    window.document.new_scene()
    assert window.open_path(path)
    assert not audio.exists()
    assert len(TakeStore(takes_dir_for(path))) == 1
    assert sceneio.load(path).lines[0].id == window.scene.lines[0].id


def test_scene_settings_dialog_edits_gap_and_dictionary(window: MainWindow) -> None:
    from editor.ui.scene.dialog import SceneSettingsDialog

    dialog = SceneSettingsDialog(window.scene, 300)
    dialog._add_row("Odile", "Oh-deel")
    assert dialog.hint.text() == "Changes what 0 lines say."  # the scene has ODILE only as speaker
    dialog._add_row("ferry", "fairy")
    assert dialog.hint.text() == "Changes what 1 line says."
    dialog.gap.setValue(450)
    changes = dialog.changes()
    assert changes == {"gap_ms": 450, "pronunciations": {"Odile": "Oh-deel", "ferry": "fairy"}}
    dialog._add_row("[bad]", "x")
    assert not dialog.ok_button.isEnabled() and "brackets" in dialog.error.text()
    window.document.apply_scene_settings(changes)
    assert window.scene.gap_ms == 450
    assert window.playback.gap_after(window.scene.lines[0].id) == 450
    window.undo.undo()  # one step for the whole dialog
    assert window.scene.gap_ms is None and window.scene.pronunciations == {}


def test_a_b_plays_the_take_then_the_chosen_one(window: MainWindow, qloop: Any, qtbot: Any
                                                ) -> None:
    window.select_rows([6])
    render(window, qloop, [6])
    render(window, qloop, [6], force=True)
    store = window.takes
    assert store is not None
    first, chosen = store.takes_for(window.scene.lines[6].id)
    assert window.book.take(window.scene.lines[6]) == chosen
    played: list[str] = []
    window.player.started.connect(played.append)
    window.takes_panel.compare_requested.emit(first.id)
    qtbot.waitUntil(lambda: len(played) == 2, timeout=30000)
    assert played == [str(store.path(first)), str(store.path(chosen))]
    window.stop_playback()


def test_takes_the_command_line_adds_show_when_the_window_is_activated(
        window: MainWindow, qloop: Any, tmp_path: Path) -> None:
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    path = tmp_path / "Ferry.castline"
    assert window.document.save_to(path)
    render(window, qloop, [0])
    line = window.scene.lines[0]
    cli = TakeStore(takes_dir_for(path))  # what `castline render` opens
    first = cli.takes_for(line.id)[0]
    copy = tmp_path / "copy.mp3"
    copy.write_bytes(cli.path(first).read_bytes() + b"\0")
    added = cli.add(first.lines, first.texts, first.request, first.request_key, copy,
                    cost=first.cost, sandbox=True)
    assert window.book.take(line) == first  # not seen yet
    QApplication.sendEvent(window, QEvent(QEvent.Type.ActivationChange))
    assert window.book.take(line) == added
    assert window.takes_panel.tree.topLevelItemCount() == 2


def test_a_recovered_unsaved_scene_gets_its_takes_back(
        window: MainWindow, qloop: Any, qtbot: Any, tmp_path: Path) -> None:
    from editor.ui.app import open_first
    from tests.support.ui_helpers import make_settings

    window.select_rows([0])
    render(window, qloop, [0])
    render(window, qloop, [0], force=True)
    store = window.takes
    assert store is not None and window.path is None
    first, second = store.takes_for(window.scene.lines[0].id)
    window.takes_room.choose_take(first.id)
    window.document.save_recovery()  # what autosave does before a crash
    # The next start (as after a kill: this window never closed).
    again = MainWindow(make_settings(tmp_path / "next"), sandbox=True,
                       cache_root=tmp_path / "other-cache")
    qtbot.addWidget(again)
    again.confirm_discard = lambda: True  # type: ignore[method-assign]
    open_first(again, again.settings, None, lambda title, text: True)
    assert again.takes is not None and again.takes.root == store.root
    line = again.scene.lines[0]
    assert [t.id for t in again.takes.takes_for(line.id)] == [first.id, second.id]
    assert again.book.take(line) == first  # the choice too, with a cache that never saw them
    qloop.run_until_complete(again.shutdown())


def test_declining_a_recovery_lets_the_unsaved_takes_go(
        window: MainWindow, qloop: Any, qtbot: Any, tmp_path: Path) -> None:
    from editor.ui.app import open_first
    from tests.support.ui_helpers import make_settings

    render(window, qloop, [0])
    assert window.takes is not None
    root = window.takes.root
    window.document.save_recovery()
    again = MainWindow(make_settings(tmp_path / "next"), sandbox=True,
                       cache_root=tmp_path / "other-cache")
    qtbot.addWidget(again)
    again.confirm_discard = lambda: True  # type: ignore[method-assign]
    open_first(again, again.settings, None, lambda title, text: False)
    assert not root.exists()
    qloop.run_until_complete(again.shutdown())
