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
from editor.ui.settings import Settings


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    import qasync

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


class Dialogs:
    """Stands in for modal dialogs (which would block an offscreen test forever).

    Each call is recorded; the answer is ``answer`` (a test sets it), else the test fails.
    """

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.answer: Any = None

    def __call__(self, kind: str) -> Any:
        def show(*args: Any, **kwargs: Any) -> Any:
            text = " ".join(str(a) for a in args[1:3])
            self.seen.append((kind, text))
            if self.answer is None:
                raise AssertionError(f"unexpected {kind} dialog: {text}")
            return self.answer
        return show

    def exec_box(self, box: Any) -> int:
        """A QMessageBox with buttons of its own: ``answer`` names the button to press."""
        self.seen.append(("exec", box.text()))
        if isinstance(self.answer, str):
            for button in box.buttons():
                if button.text().replace("&", "").startswith(self.answer):
                    button.click()
                    return 0
            raise AssertionError(f"no button {self.answer!r} in: {box.text()}")
        if self.answer is None:
            raise AssertionError(f"unexpected message box: {box.text()}")
        return int(self.answer)


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> Dialogs:
    from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

    d = Dialogs()
    for kind in ("question", "warning", "critical", "information", "about"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(d(kind)))
    monkeypatch.setattr(QMessageBox, "exec", lambda self: d.exec_box(self))  # noqa: PLW0108 - bound per box
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(d("getItem")))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(d("getOpenFileName")))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(d("getSaveFileName")))
    return d


@pytest.fixture
def window(qtbot: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path,
           dialogs: Dialogs) -> Iterator[MainWindow]:
    win = MainWindow(make_settings(tmp_path), sandbox=True, cache_root=tmp_path / "cache")
    qtbot.addWidget(win)
    win.confirm_discard = lambda: True  # type: ignore[method-assign]  # closing at teardown
    win.set_scene(sceneio.loads(read_resource_text("samples/night-ferry.castline")),
                  None)
    win.show()
    try:
        yield win
    finally:
        win.undo.setClean()
        win._external_dirty = False
        qloop.run_until_complete(win.shutdown())
        from PySide6.QtCore import QCoreApplication, QEvent

        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def run(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))
