"""Child process for the key-hygiene test: a full editor session against a service, as the
app runs it (crash handler and log file first, the real settings file, the key from the
environment). Run as ``python -m tests.support.session_child SCENE EXPORT_DIR BASE_URL``."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from editor.engine.cache import default_state_dir


def main() -> None:
    from editor.ui import crash

    crash.install(default_state_dir() / "logs")
    import qasync
    from PySide6.QtWidgets import QApplication

    from editor.ui.export.dialog import ExportOptions
    from editor.ui.mainwindow import MainWindow
    from editor.ui.scene import commands as cmd
    from editor.ui.settings import Settings

    scene, export_dir, base_url = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    from PySide6.QtCore import QCoreApplication

    QCoreApplication.setOrganizationName("Castline")  # as the app does: its real settings file
    QCoreApplication.setApplicationName("Castline")
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)  # as the app does: the session ends it
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(crash.loop_exception_handler)
    settings = Settings()
    settings.set("service/base_url", base_url)
    window = MainWindow(settings)
    crash.add_rescuer(window.document.save_recovery)

    async def session() -> None:
        window.show()
        assert window.open_path(scene)
        window.undo.push(cmd.SetFieldCommand(window.scene, [0], "text", ["An edited line."]))
        window.document.save_recovery()
        task = window.start_render(None)
        assert task is not None
        await task
        window.select_rows([1])
        task = window.start_render([1], force=True)  # a second take
        assert task is not None
        await task
        store = window.takes
        assert store is not None
        window.takes_room.choose_take(store.takes_for(window.scene.lines[1].id)[0].id)
        result = await window.export.export_files(
            ExportOptions(export_dir, ("mix", "lines", "stems", "srt", "vtt", "labels",
                                       "manifest"), "wav", "{index:03}_{speaker}_{id}"),
            ask=False)
        assert result is not None and result.files
        assert window.document.save()
        # An unexpected error whose message carries the key: the crash handler must redact it.
        try:
            raise RuntimeError(f"simulated failure with key {os.environ['APIINONE_API_KEY']}")
        except RuntimeError as e:
            sys.excepthook(type(e), e, e.__traceback__)
        window.close()
        await window.shutdown()
        print("session done", flush=True)

    with loop:
        loop.run_until_complete(session())


if __name__ == "__main__":
    main()
