"""Child process for the kill tests: open a scene, edit it, let autosave run, then wait
to be killed. Run as ``python -m tests.support.recovery_child SCENE SETTINGS_INI [typing]``; with
``typing`` it keeps editing (a new text every 10 ms) until it is killed."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from editor.ui.mainwindow import MainWindow
from editor.ui.recovery import pending
from editor.ui.scene import commands as cmd
from editor.ui.settings import Settings


def main() -> None:
    app = QApplication(sys.argv[:1])
    scene, ini = Path(sys.argv[1]), sys.argv[2]
    window = MainWindow(Settings(QSettings(ini, QSettings.Format.IniFormat)), sandbox=True)
    window.open_path(scene)
    window.undo.push(cmd.SetFieldCommand(window.scene, [0], "text", ["Recovered words."]))
    window.document.autosave.setInterval(50)
    typing = len(sys.argv) > 3 and sys.argv[3] == "typing"
    edits = [0]

    def type_more() -> None:
        edits[0] += 1
        row = edits[0] % len(window.scene)
        window.undo.push(cmd.SetFieldCommand(window.scene, [row], "text", [f"Edit {edits[0]}"]))

    if typing:
        timer = QTimer(window, interval=10)
        timer.timeout.connect(type_more)
        timer.start()

    def report() -> None:
        if pending():
            print("autosaved", flush=True)
        else:
            QTimer.singleShot(20, report)

    QTimer.singleShot(20, report)
    app.exec()


if __name__ == "__main__":
    main()
