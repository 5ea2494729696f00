"""Render resources/icons/castline.svg to the icon files each system wants.

PNG sizes for Linux's hicolor theme, .ico for Windows and .icns for macOS, all written
with Qt's own image plugins (no other tool needed). Output: build/icons/.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    _app = QGuiApplication(sys.argv[:1])
    out = ROOT / "build" / "icons"
    out.mkdir(parents=True, exist_ok=True)
    renderer = QSvgRenderer(str(ROOT / "resources" / "icons" / "castline.svg"))
    if not renderer.isValid():
        print("castline.svg could not be read", file=sys.stderr)
        return 1
    for size in SIZES:
        if not render(renderer, size).save(str(out / f"castline-{size}.png")):
            return 1
    formats = {bytes(f).decode() for f in QImageWriter.supportedImageFormats()}
    for fmt, size in (("ico", 256), ("icns", 512)):
        if fmt in formats:
            if not render(renderer, size).save(str(out / f"castline.{fmt}"), fmt.upper()):
                print(f"could not write castline.{fmt}", file=sys.stderr)
                return 1
        else:
            print(f"note: this Qt has no {fmt} writer; castline.{fmt} not made", file=sys.stderr)
    print(f"icons in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
