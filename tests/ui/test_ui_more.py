"""More of the editor: the crash handler, tag completion, the budget, settings and layout."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from editor.engine.redact import register
from editor.ui import crash
from editor.ui.mainwindow import MainWindow
from editor.ui.scene.delegates import LineEditor
from editor.ui.scene.model import COL_TEXT
from tests.support.engine_helpers import running_sandbox
from tests.support.ui_helpers import make_settings, run
from tests.support.waiting import wait_until

pytestmark = pytest.mark.usefixtures("qloop")


def test_crash_handler_logs_redacted_saves_the_scene_and_tells_the_writer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "aio_crashkey_5Gf8Hj2Kl9Qw"
    register(key)
    shown: list[str] = []
    rescued: list[bool] = []
    monkeypatch.setattr(crash, "_rescuers", [lambda: rescued.append(True)])
    monkeypatch.setattr(crash, "_show", shown.append)
    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        crash.install(tmp_path / "logs")
        try:
            raise RuntimeError(f"boom with Bearer {key}")
        except RuntimeError as e:
            crash._excepthook(type(e), e, e.__traceback__)
    finally:
        for h in root.handlers[len(handlers):]:
            h.close()
            root.removeHandler(h)
        import sys
        sys.excepthook = sys.__excepthook__
    text = (tmp_path / "logs" / "castline.log").read_text()
    assert "RuntimeError" in text and key not in text and "[redacted]" in text
    assert rescued == [True]
    assert shown and key not in shown[0] and "recovery file" in shown[0]


def test_typing_a_bracket_offers_the_v3_tags(window: MainWindow, qtbot: Any) -> None:
    index = window.model.index(0, COL_TEXT)
    window.view.setCurrentIndex(index)
    window.view.edit(index)
    editor = window.view.indexWidget(index)
    assert isinstance(editor, LineEditor)
    editor.setPlainText("")
    qtbot.keyClicks(editor, "[whi")
    assert editor.completer.completionPrefix() == "[whi"
    assert editor.completer.currentCompletion() == "[whispers]"
    editor._on_completer_activated("[whispers]")
    assert editor.toPlainText() == "[whispers] "
    assert editor.highlighter is not None


def test_a_render_over_budget_asks_first(window: MainWindow, qloop: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from editor.ui.prompter import ScriptedPrompter

    async def go() -> None:
        async with running_sandbox() as box:
            monkeypatch.setenv("APIINONE_API_KEY", box.key)
            monkeypatch.setenv("APIINONE_BASE_URL", box.base_url)
            window.render.force_sandbox = False
            window.settings.set("render/budget", 2.0)
            window.prompter = prompter = ScriptedPrompter(["Cancel"])
            task = window.start_render(None)
            assert task is not None
            assert await task is None
            assert box.stats.submits == 0
            (question,) = prompter.asked
            assert "above your budget" in question.text and "–" in question.text
            # Three lines: ≈ 4.65 credits, up to 6 if each request is rounded up; over 2.
            prompter.answers = ["Render"]
            task = window.start_render([0, 1, 2])
            assert task is not None
            outcome = await task
            assert outcome is not None and outcome.ok
            assert box.stats.tasks_created == 3
            from editor.core.planner import plan
            from editor.engine.renderplan import Estimate

            expected = Estimate.of(plan(window.scene, "lines", [0, 1, 2]))
            assert expected.high == 6 and expected.low < expected.high
            assert f"3 request(s): {expected.text()}" in prompter.asked[-1].text
            assert window.cost_panel.balance.text().startswith("9,99")
            await window.shutdown()

    run(qloop, go())


def test_window_layout_is_restored(tmp_path: Path, qtbot: Any, qloop: Any) -> None:
    settings = make_settings(tmp_path)
    first = MainWindow(settings, sandbox=True, cache_root=tmp_path / "c")
    qtbot.addWidget(first)
    first.confirm_discard = lambda: True  # type: ignore[method-assign]
    first.show()
    first.docks["queue"].hide()
    first.resize(1100, 700)
    size = first.size()
    first.close()
    second = MainWindow(settings, sandbox=True, cache_root=tmp_path / "c")
    qtbot.addWidget(second)
    second.confirm_discard = lambda: True  # type: ignore[method-assign]
    second.show()
    assert second.docks["queue"].isHidden()
    assert settings.q.value("window/geometry") is not None
    del size  # the offscreen platform has no window manager to honour a restored size
    assert settings.q.value("window/state") is not None
    for w in (first, second):
        qloop.run_until_complete(w.shutdown())
    assert Qt.DockWidgetArea.RightDockWidgetArea == second.dockWidgetArea(second.docks["cast"])


def test_queue_cancel_button_cancels_one_request(window: MainWindow, qloop: Any,
                                                 qtbot: Any) -> None:

    from editor.engine.events import Stage
    from editor.engine.status import LineState
    from editor.ui.render.queue import CANCEL

    async def go() -> None:
        session = await window.render.ensure_service()
        assert session.sandbox is not None
        session.sandbox.latency = 1.0
        task = window.start_render([0, 1])
        assert task is not None
        queue = window.queue_panel
        await wait_until(lambda: queue.model.rowCount() >= 2
                         and queue.model.stage_at(1) is not Stage.QUEUED, 30, "the second request")
        assert queue.model.can_cancel(1)
        view = queue.view
        view.clicked.emit(view.model().index(1, CANCEL))  # its ✕
        outcome = await task
        assert len(outcome.cancelled) == 1 and len(outcome.paths) == 1

    run(qloop, go())
    assert window.book.status(window.scene.lines[0]).state is LineState.READY
    assert window.book.status(window.scene.lines[1]).state is LineState.NOT_RENDERED


def test_voice_audition_renders_a_sample_and_plays_it(window: MainWindow, qloop: Any,
                                                      qtbot: Any) -> None:

    async def go() -> None:
        window.render.audition("ODILE")
        await wait_until(lambda: not window.runner.busy, 60, "the background work")

    with qtbot.waitSignal(window.player.started, timeout=30000) as blocker:
        run(qloop, go())
    assert "sandbox" in blocker.args[0]  # from the sandbox's own cache
    window.stop_playback()


def test_settings_dialog_saves_settings_and_explains_a_missing_keyring(
        window: MainWindow, qloop: Any) -> None:

    from editor.ui.settingsdialog import SettingsDialog

    dialog = SettingsDialog(window.settings, window.runner, window)
    dialog.jobs.setValue(7)
    dialog.sandbox.setChecked(True)
    dialog.key.setText("aio_typed_in_dialog_1234567")

    async def go() -> None:
        dialog._on_accepted()
        await wait_until(lambda: not window.runner.busy, 60, "the background work")

    run(qloop, go())
    assert window.settings.get("render/jobs") == 7
    assert window.settings.get("service/sandbox") is True
    assert "no secure keyring" in dialog.key_state.text()
    assert dialog.result() == 0  # not closed: the writer must see why the key was not kept
    ini = Path(window.settings.q.fileName()).read_text()
    assert "aio_typed_in_dialog" not in ini
