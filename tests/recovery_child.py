"""Child process for the kill test: open a scene, edit it, let autosave run, then wait
to be killed. Run as ``python -m tests.recovery_child SCENE SETTINGS_INI``."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from editor.ui import commands as cmd
from editor.ui.mainwindow import MainWindow
from editor.ui.recovery import pending
from editor.ui.settings import Settings


def main() -> None:
    app = QApplication(sys.argv[:1])
    scene, ini = Path(sys.argv[1]), sys.argv[2]
    window = MainWindow(Settings(QSettings(ini, QSettings.Format.IniFormat)), sandbox=True)
    window.open_path(scene)
    window.undo.push(cmd.SetFieldCommand(window.scene, [0], "text", ["Recovered words."]))
    window.autosave.setInterval(50)

    def report() -> None:
        if pending():
            print("autosaved", flush=True)
        else:
            QTimer.singleShot(20, report)

    QTimer.singleShot(20, report)
    app.exec()


if __name__ == "__main__":
    main()
