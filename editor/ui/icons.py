"""SVG icons from resources/icons (crisp at any scale)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

# Rendered at the sizes a table, toolbar and button use (and their 2x); larger ones only for
# the app icon: a 256 px rendering is most of the cost, and start-up pays for every icon shown.
SIZES = (16, 24, 32, 48)
APP_SIZES = (16, 24, 32, 48, 64, 128, 256)


@cache
def icon(name: str) -> QIcon:
    data = resources.files("editor.resources").joinpath("icons", f"{name}.svg").read_bytes()
    renderer = QSvgRenderer(QByteArray(data))
    result = QIcon()
    for size in APP_SIZES if name == "castline" else SIZES:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        result.addPixmap(pixmap)
    return result
