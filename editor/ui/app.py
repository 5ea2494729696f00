"""The application shell: one qasync loop that is the Qt loop, a crash handler first,
one service session for the app's life, closed on quit."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

from editor.engine.cache import default_state_dir

# How long a worker thread may keep Python's lock before the window's thread gets it. The window
# calls into Python hundreds of times a second (timers, cells, the event loop's callbacks); with
# the interpreter's default 5 ms, a busy worker (an episode's plan, the pre-render check, the
# dialogue cutter, the sandbox's voices) made each of those calls wait up to 5 ms: 100+ ms
# between two turns of the loop, measured (a 0.4-0.6 s stall while a 3,000-line plan was built).
# At 1 ms: ~20 ms.
SWITCH_INTERVAL = 0.001


def tune_interpreter() -> None:
    sys.setswitchinterval(SWITCH_INTERVAL)


def run(scene: Path | None, *, sandbox: bool = False) -> int:
    from editor.ui import crash

    tune_interpreter()

    crash.install(default_state_dir() / "logs")  # first: nothing before it can go unlogged
    from editor.core.atomic import private_dir

    for private in ("recovery", "unsaved"):  # recovery copies, an unsaved scene's takes
        private_dir(default_state_dir() / private)

    import qasync  # bound to PySide6 by QT_API (editor/ui/__init__.py)
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setOrganizationName("Castline")
    QCoreApplication.setApplicationName("Castline")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)

    from editor.ui.icons import icon
    from editor.ui.mainwindow import MainWindow
    from editor.ui.settings import Settings

    app.setWindowIcon(icon("castline"))
    settings = Settings()
    window = MainWindow(settings, sandbox=sandbox)
    crash.add_rescuer(lambda: rescue(window))
    crash.set_presenter(lambda m: QTimer.singleShot(
        0, lambda: window.prompter.tell("Unexpected error", m, "error")))

    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtGui import QFileOpenEvent

    class FileOpener(QObject):
        """macOS opens documents (a double-clicked .castline) with an event, not argv."""

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if isinstance(event, QFileOpenEvent) and event.file():
                if window.confirm_discard():
                    window.open_path(Path(event.file()))
                return True
            return False

    opener = FileOpener(app)
    app.installEventFilter(opener)

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(crash.loop_exception_handler)
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)

    def ask(title: str, text: str) -> bool:
        return window.prompter.ask_now(title, text, ["Open", "Discard"], default="Open") == "Open"

    async def main() -> None:
        window.show()
        open_first(window, settings, scene, ask)
        if os.environ.get("CASTLINE_EXIT_WHEN_SHOWN"):  # the start-up benchmark
            QCoreApplication.processEvents()
            print("castline: shown", flush=True)
            window.close()
        if os.environ.get("CASTLINE_SCREENSHOT"):
            await _screenshot(window, Path(os.environ["CASTLINE_SCREENSHOT"]))
            window.close()
        await closed.wait()
        await window.shutdown()

    with loop:
        loop.run_until_complete(main())
    return 0


def rescue(window: object) -> Path | None:
    """The crash handler's rescuer: the scene's recovery copy, or None when it has no unsaved
    edits; raises when the copy could not be written (the dialog then says so, and why)."""
    from editor.ui.mainwindow import MainWindow

    assert isinstance(window, MainWindow)
    if not window.modified:
        return None
    unsaved = window.takes.root if window.path is None else None
    return window.recovery.save(window.scene, unsaved)


async def _screenshot(window: object, path: Path) -> None:
    """Render the sample scene's first lines, then save a picture of the window (for the README)."""
    from editor.ui.mainwindow import MainWindow

    assert isinstance(window, MainWindow)
    window.select_rows([0, 1, 2, 3])
    task = window.start_render([0, 1, 2, 3, 4, 5])
    if task is not None:
        await task
    window.select_rows([2])
    task = window.start_render([2], force=True)  # a second take of line 3, for the Takes panel
    if task is not None:
        await task
    window.scene.set_field([0], "locked", True)
    window.scene.set_field([3], "pause_after_ms", 900)
    window.refresh_takes_panel()
    window.model.set_playing(window.scene.lines[1].id)
    await asyncio.sleep(0.3)
    window.grab().save(str(path))
    window.undo.setClean()


def open_first(window: object, settings: object, scene: Path | None,
               ask: Callable[[str, str], bool]) -> None:
    """What the window shows at start: a recovered scene if the writer wants it, else the
    scene asked for, else the last one, else (the very first start) the sample."""
    from editor.core import sceneio
    from editor.ui.mainwindow import MainWindow
    from editor.ui.recovery import discard, pending
    from editor.ui.settings import Settings

    assert isinstance(window, MainWindow)
    assert isinstance(settings, Settings)
    for rec in pending():
        name = rec.original.name if rec.original else "an unsaved scene"
        if ask("Recover unsaved edits?",
               f"Castline closed without saving {name}. Open the recovered copy?"):
            try:
                window.set_scene(sceneio.load(rec.file), rec.original, dirty=True,
                                 takes=rec.takes)
            except sceneio.SceneFileError as e:
                window.statusBar().showMessage(f"Cannot recover: {e}", 10000)
            else:
                discard(rec)
                return
        discard(rec)
        if rec.takes is not None and rec.original is None:
            window.document.forget_unsaved_takes(rec.takes)  # the writer let that scene go
    if scene is not None:
        if not window.open_path(scene):
            window.open_sample()
        return
    recent = settings.get("files/recent")
    if recent and Path(recent[0]).exists() and window.open_path(Path(recent[0])):
        return
    window.open_sample()
