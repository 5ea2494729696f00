"""Helpers for the editor-window tests."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from editor.core import sceneio
from editor.core.catalog import read_resource_text
from editor.ui.mainwindow import MainWindow
from editor.ui.prompter import ScriptedPrompter
from editor.ui.settings import Settings


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    import qasync

    from editor.ui.app import tune_interpreter

    tune_interpreter()  # as the app runs
    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()  # also ends its executor's QThreads, which must not outlive the app
        asyncio.set_event_loop(None)


def make_settings(tmp_path: Path) -> Settings:
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def window(qtbot: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path) -> Iterator[MainWindow]:
    """The editor on the sample scene, in the sandbox. Its prompter is scripted: a question
    the test did not expect fails the test (set ``window.prompter.answers``)."""
    win = MainWindow(make_settings(tmp_path), sandbox=True, cache_root=tmp_path / "cache")
    win.prompter = ScriptedPrompter()
    qtbot.addWidget(win)
    win.confirm_discard = lambda: True  # type: ignore[method-assign]  # closing at teardown
    win.set_scene(sceneio.loads(read_resource_text("samples/night-ferry.castline")),
                  None)
    win.show()
    try:
        yield win
    finally:
        win.undo.setClean()
        win.document.external_dirty = False
        qloop.run_until_complete(win.shutdown())
        from PySide6.QtCore import QCoreApplication, QEvent

        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def run(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))
