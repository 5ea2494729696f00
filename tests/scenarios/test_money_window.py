"""Never pay twice, from the window: beside a command-line render, and after a lost answer."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from editor.core import sceneio
from editor.engine.sandbox import Fault
from editor.ui.mainwindow import MainWindow
from editor.ui.prompter import ScriptedPrompter
from tests.conftest import subprocess_env
from tests.scenarios.test_money import scene_file, stats
from tests.support.engine_helpers import running_sandbox
from tests.support.processes import start_sandbox, stop
from tests.support.ui_helpers import make_settings, run


def paid_window(tmp_path: Path, qtbot: Any, scene: Path) -> MainWindow:
    window = MainWindow(make_settings(tmp_path), sandbox=False)
    qtbot.addWidget(window)
    window.confirm_discard = lambda: True  # type: ignore[method-assign]
    window.set_scene(sceneio.load(scene), scene)
    window.settings.set("render/budget", 1000.0)
    assert not window.render.sandbox
    return window


def test_the_window_and_a_cli_render_together_pay_once(
        tmp_path: Path, qtbot: Any, qloop: asyncio.AbstractEventLoop,
        monkeypatch: pytest.MonkeyPatch) -> None:
    box, url, key = start_sandbox(subprocess_env(), "--latency", "1.0")
    try:
        monkeypatch.setenv("APIINONE_BASE_URL", url)
        monkeypatch.setenv("APIINONE_API_KEY", key)
        scene = scene_file(tmp_path / "p", n=6)
        window = paid_window(tmp_path, qtbot, scene)
        cli = subprocess.Popen([sys.executable, "-m", "editor", "render", str(scene), "-o",
                                str(tmp_path / "cli.wav")], env=subprocess_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        async def go() -> Any:
            task = window.start_render(None)
            assert task is not None
            return await task

        outcome = run(qloop, go(), timeout=120)
        _out, err = cli.communicate(timeout=120)
        assert cli.returncode == 0, err
        assert outcome is not None and outcome.ok
        s = stats(url, key)
        assert s["tasks_created"] == 6, s  # each line charged once, by whichever asked first
        assert s["submits"] == 6, s
        run(qloop, window.shutdown())
    finally:
        stop(box)


def test_the_window_asks_once_before_sending_a_maybe_charged_request_again(
        tmp_path: Path, qtbot: Any, qloop: asyncio.AbstractEventLoop,
        monkeypatch: pytest.MonkeyPatch) -> None:
    scene = scene_file(tmp_path / "p", n=3)

    async def go() -> None:
        async with running_sandbox() as box:
            monkeypatch.setenv("APIINONE_BASE_URL", box.base_url)
            monkeypatch.setenv("APIINONE_API_KEY", box.key)
            window = paid_window(tmp_path, qtbot, scene)
            box.faults = [Fault("submit", "drop", times=2)]  # charged, answer lost
            first = window.start_render(None)
            assert first is not None
            outcome = await first
            assert outcome is not None and len(outcome.errors) == 2
            assert box.stats.tasks_created == 3
            # The next render asks once, about both; "Wait" sends nothing.
            window.prompter = prompter = ScriptedPrompter(["Wait"])
            again = window.start_render(None)
            assert again is not None
            await again
            (question,) = prompter.asked
            assert "2 line(s)" in question.text and "may already have been paid" in question.text
            assert box.stats.submits == 3
            # "Send again" sends them, once each.
            prompter.answers = ["Send again"]
            third = window.start_render(None)
            assert third is not None
            outcome = await third
            assert outcome is not None and outcome.ok
            assert box.stats.submits == 5 and box.stats.tasks_created == 5
            await window.shutdown()

    run(qloop, go(), timeout=120)


def test_dropping_a_maybe_charged_request_sends_nothing_and_forgets_it(
        tmp_path: Path, qtbot: Any, qloop: asyncio.AbstractEventLoop,
        monkeypatch: pytest.MonkeyPatch) -> None:
    scene = scene_file(tmp_path / "p", n=1)

    async def go() -> None:
        async with running_sandbox() as box:
            monkeypatch.setenv("APIINONE_BASE_URL", box.base_url)
            monkeypatch.setenv("APIINONE_API_KEY", box.key)
            window = paid_window(tmp_path, qtbot, scene)
            box.faults = [Fault("submit", "drop", times=1)]
            first = window.start_render(None)
            assert first is not None
            await first
            window.prompter = ScriptedPrompter(["Drop"])
            second = window.start_render(None)
            assert second is not None
            await second
            assert box.stats.submits == 1
            # Forgotten: the next render treats the line as new, without asking.
            window.prompter = ScriptedPrompter()
            third = window.start_render(None)
            assert third is not None
            outcome = await third
            assert outcome is not None and outcome.ok and box.stats.submits == 2
            await window.shutdown()

    run(qloop, go(), timeout=120)


def test_a_dialogue_group_with_a_deleted_line_never_exports_the_line_that_is_gone(
        window: MainWindow, qloop: asyncio.AbstractEventLoop, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A dialogue render is cut into per-line takes. Deleting one line of the group leaves
    the others ready (each speaks its own piece); the window's export and the command line's
    then use those pieces, never the whole clip with the deleted line in it."""
    from editor import cli
    from editor.engine.export import plan_export
    from editor.engine.project import resolver
    from editor.engine.status import LineState

    window.mode_combo.setCurrentIndex(window.mode_combo.findData("take"))
    path = tmp_path / "group.castline"
    assert window.document.save_to(path)  # the takes then live beside it, as a writer's would
    task = window.start_render([0, 1, 2])
    assert task is not None
    outcome = run(qloop, task)
    assert outcome is not None and outcome.ok
    lines = window.scene.lines[:3]
    group = [ln.id for ln in lines]

    async def pieces_kept() -> None:  # the cut runs on a worker thread after the render
        for _ in range(600):
            takes = [window.book.take(ln) for ln in lines]
            if all(t is not None and t.group for t in takes):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the dialogue was not cut into per-line takes within 30 s")

    run(qloop, pieces_kept())
    whole = window.book.take(lines[0]).group  # type: ignore[union-attr]
    window.select_rows([1])
    window.editor.delete_rows()
    for line_id in (group[0], group[2]):
        line = window.scene.line_by_id(line_id)
        assert window.book.status(line).state is LineState.READY
        take = window.book.take(line)
        assert take is not None and take.group == whole and not take.is_group
    layout = plan_export(window.scene, resolver(window.book))
    exported = [ln.id for c in layout.clips for ln in c.lines]
    assert group[1] not in exported
    store = window.document.takes
    whole_take = store.get(whole)  # type: ignore[arg-type]
    assert whole_take is not None
    assert all(c.source.path != store.path(whole_take) for c in layout.clips)
    # The same scene on disk, through the command line: the mix is the two pieces and a gap.
    assert window.document.save()
    capsys.readouterr()
    out = tmp_path / "out"
    out.mkdir()
    assert cli.main(["export", str(path), "--to", str(out), "--sandbox", "--what",
                     "mix,manifest", "--missing", "skip"]) == 0  # lines 3– were never rendered
    rows = json.loads(next(out.glob("*_manifest.json")).read_text())["lines"]
    assert group[1] not in [r["id"] for r in rows]
