"""The Qt editor. Importing it tells qasync to use PySide6 (it tries PyQt5 first)."""

import os

os.environ.setdefault("QT_API", "pyside6")
