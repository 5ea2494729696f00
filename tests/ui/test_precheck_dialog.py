"""The check before paying, in the window: a render with a problem waits for the writer
("Render anyway", "Cancel" or "Fix"), and nothing is sent while the dialog is open."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from editor.ui.mainwindow import MainWindow
from editor.ui.prompter import Prompter, ScriptedPrompter
from editor.ui.render.precheck import PrecheckDialog
from tests.support.ui_helpers import run

pytestmark = pytest.mark.usefixtures("qloop")

PURSER_ROW = 5  # line 6 of the sample scene


async def _open_dialog(window: MainWindow, prompter: Prompter,
                       rows: list[int] | None) -> tuple[asyncio.Task[Any], PrecheckDialog]:
    task = window.start_render(rows)
    assert task is not None
    deadline = asyncio.get_running_loop().time() + 10
    while not prompter.open_dialogs:
        assert not task.done(), task
        assert asyncio.get_running_loop().time() < deadline, "the check never asked"
        await asyncio.sleep(0.01)
    (dialog,) = prompter.open_dialogs
    assert isinstance(dialog, PrecheckDialog)
    return task, dialog


def test_a_voiceless_character_blocks_the_render_until_render_anyway(
        window: MainWindow, qloop: Any) -> None:
    window.prompter = prompter = Prompter(window)
    window.editor.set_voice("PURSER", "")

    async def go() -> None:
        session = await window.render.ensure_service()
        assert session.sandbox is not None
        task, dialog = await _open_dialog(window, prompter, [PURSER_ROW, PURSER_ROW + 2])
        assert dialog.isVisible() and dialog.windowModality().name == "WindowModal"
        assert "no voice" in dialog.summary() and "PURSER" in dialog.summary()
        for _ in range(20):  # the loop turns freely; the render waits for the writer
            await asyncio.sleep(0.01)
        assert not task.done() and session.sandbox.stats.submits == 0
        assert dialog.render_button.text() == "Render anyway"
        dialog.render_button.click()
        outcome = await task
        assert outcome is not None and outcome.ok
        assert session.sandbox.stats.submits == 2
        assert prompter.open_dialogs == []

    run(qloop, go())


def test_cancel_sends_nothing(window: MainWindow, qloop: Any) -> None:
    window.prompter = prompter = ScriptedPrompter(["Cancel"])
    window.editor.set_voice("PURSER", "")

    async def go() -> None:
        session = await window.render.ensure_service()
        task = window.start_render(None)
        assert task is not None
        assert await task is None
        assert session.sandbox is not None and session.sandbox.stats.submits == 0

    run(qloop, go())
    (question,) = prompter.asked
    assert question.title == "Before rendering"
    assert question.choices == ("Render anyway", "Cancel")
    assert "Lines 6, 8, 10 (PURSER): no voice" in question.text
    assert "cancelled before sending anything" in window.statusBar().currentMessage()


def test_fix_opens_the_picker_and_the_pick_clears_the_problem(window: MainWindow,
                                                              qloop: Any) -> None:
    window.prompter = prompter = Prompter(window)
    window.editor.set_voice("PURSER", "Bobby the robot")

    async def go() -> None:
        session = await window.render.ensure_service()
        task, dialog = await _open_dialog(window, prompter, [PURSER_ROW])
        assert "'Bobby the robot' is not a voice Castline knows" in dialog.summary()
        dialog.fix_buttons[0].click()
        picker = dialog.picker
        assert picker is not None and picker.isVisible()
        assert picker.search.text() == "Bobby the robot"  # searching what was typed
        picker.search.setText("Bill")
        picker.use_button.click()
        assert window.scene.voice_of("PURSER") == "Bill"
        assert dialog.fix_buttons[0].text().startswith("✓")
        assert dialog.render_button.text() == "Render"
        assert session.sandbox is not None and session.sandbox.stats.submits == 0
        dialog.render_button.click()
        outcome = await task
        assert outcome is not None and outcome.ok and session.sandbox.stats.submits == 1

    run(qloop, go())


def test_fix_on_an_empty_line_stops_and_selects_it(window: MainWindow, qloop: Any) -> None:
    window.prompter = prompter = Prompter(window)
    window.document.commit_cell(2, "text", "   ")

    async def go() -> None:
        session = await window.render.ensure_service()
        task, dialog = await _open_dialog(window, prompter, None)
        (index,) = [i for i, p in enumerate(dialog.problems) if p.rows == (2,)]
        assert dialog.fix_buttons[index].text() == "Go to line"
        dialog.fix_buttons[index].click()
        assert await task is None
        assert session.sandbox is not None and session.sandbox.stats.submits == 0

    run(qloop, go())
    assert window.editor.selected_rows() == [2]
    assert "Line 3 is selected" in window.statusBar().currentMessage()


def test_a_scene_without_problems_renders_without_asking(window: MainWindow,
                                                         qloop: Any) -> None:
    assert isinstance(window.prompter, ScriptedPrompter)  # any question would fail the test
    task = window.start_render([0])
    assert task is not None
    outcome = run(qloop, task)
    assert outcome is not None and outcome.ok


def test_the_check_of_3000_lines_runs_off_the_window_thread(window: MainWindow,
                                                            qloop: Any) -> None:
    from editor.ui.render import precheck

    scene = window.scene
    base = [(ln.speaker, ln.text) for ln in scene.lines]
    scene.insert_lines(len(scene.lines), [scene.new_line(s, t) for _ in range(300)
                                          for s, t in base][:3000 - len(scene.lines)])
    assert len(scene.lines) == 3000 > precheck.THREAD_ABOVE
    threads: list[str] = []
    real = precheck.check

    def spy(*args: Any, **kwargs: Any) -> Any:
        import threading

        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    precheck.check = spy  # type: ignore[assignment]
    try:
        problems = run(qloop, precheck.find_problems(window.render, None, False))
    finally:
        precheck.check = real  # type: ignore[assignment]
    assert problems == [] and threads and threads[0] != "MainThread"
