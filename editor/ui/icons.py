"""SVG icons from resources/icons (crisp at any scale).

Each icon is drawn by Qt's SVG icon engine (a plugin Qt loads on the first icon) at the size
it is shown: importing Qt's SVG module for Python and rendering every icon at four sizes up
front cost start-up ~40 ms."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from PySide6.QtGui import QIcon

SIZES = (16, 24, 32, 48)  # sizes rendered when the file is not on disk (see _rendered)


@cache
def icon(name: str) -> QIcon:
    node = resources.files("editor.resources").joinpath("icons", f"{name}.svg")
    path = Path(str(node))
    if path.is_file():  # a checkout, a wheel, an installer's folder
        return QIcon(str(path))
    return _rendered(node.read_bytes())  # inside an archive: drawn here


def _rendered(data: bytes) -> QIcon:
    from PySide6.QtCore import QByteArray, Qt
    from PySide6.QtGui import QPainter, QPixmap
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(data))
    result = QIcon()
    for size in SIZES:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        result.addPixmap(pixmap)
    return result
