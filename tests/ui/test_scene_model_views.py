"""The scene table's cached row views (what a repaint reads) never show anything stale."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtWidgets import QApplication

from editor.engine.status import LineState, LineStatus
from editor.ui.mainwindow import MainWindow
from editor.ui.scene.model import COL_NUMBER, COL_STATUS, HEADERS
from tests.support.xprobe import episode_scene

pytestmark = pytest.mark.usefixtures("qloop")

PAINTED = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.DecorationRole,
           Qt.ItemDataRole.FontRole, Qt.ItemDataRole.TextAlignmentRole,
           Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole,
           Qt.ItemDataRole.CheckStateRole)


def painted(window: MainWindow, row: int) -> list[Any]:
    m = window.model
    out = []
    for col in range(len(HEADERS)):
        for role in PAINTED:
            value = m.index(row, col).data(role)
            # Brushes, fonts and icons compare by what they show.
            if hasattr(value, "color"):
                value = value.color().name(), value.color().alpha()
            elif hasattr(value, "italic"):
                value = value.italic()
            elif hasattr(value, "cacheKey"):
                value = value.cacheKey()
            out.append(value)
    return out


def fresh(window: MainWindow, row: int) -> list[Any]:
    window.model._forget_views()
    return painted(window, row)


def test_a_take_kept_without_a_signal_still_shows(window: MainWindow, tmp_path: Path) -> None:
    """Another process (or a store refresh) adds a take: no table signal comes, but the next
    repaint must show the line ready, not the row's earlier cached view."""
    m = window.model
    line = window.scene.lines[1]
    assert m.index(1, COL_STATUS).data() == "Not rendered"  # cached now
    audio = tmp_path / "take.wav"
    with wave.open(str(audio), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * 800)
    key = window.book.line_key(line)
    assert key is not None
    window.document.takes.add({line.id: key}, {line.id: line.text}, {}, key, audio, cost=0.0,
                              sandbox=True)
    assert m.index(1, COL_STATUS).data().startswith("Ready")
    assert painted(window, 1) == fresh(window, 1)


def test_the_playing_row_is_marked_and_nothing_else_leaks(window: MainWindow) -> None:
    m = window.model
    assert m.index(2, COL_NUMBER).data(Qt.ItemDataRole.BackgroundRole) is None
    window.model.set_playing(window.scene.lines[2].id)
    assert m.index(2, COL_NUMBER).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert m.index(2, COL_NUMBER).data(Qt.ItemDataRole.CheckStateRole) is None
    assert m.index(3, COL_NUMBER).data(Qt.ItemDataRole.BackgroundRole) is None
    window.model.set_playing(None)
    assert m.index(2, COL_NUMBER).data(Qt.ItemDataRole.BackgroundRole) is None


def test_a_lock_shows_at_once(window: MainWindow) -> None:
    m = window.model
    status = m.index(0, COL_STATUS).data()
    window.select_rows([0])
    window.editor.toggle_lock()
    assert m.index(0, COL_STATUS).data() != status
    assert "locked" in m.index(0, COL_STATUS).data()
    assert painted(window, 0) == fresh(window, 0)


class PaintRegions(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.rects: list[QRect] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.rects.append(event.region().boundingRect())  # type: ignore[attr-defined]
        return False


def test_a_change_far_off_screen_repaints_nothing_and_shows_when_scrolled_to(
        window: MainWindow) -> None:
    """A render's progress over thousands of lines used to repaint the whole table each
    flush. Only the changed rows on screen are repainted; a row changed off screen shows its
    new state when scrolled to."""
    window.set_scene(episode_scene(400), None)  # type: ignore[arg-type]
    window.resize(1280, 800)
    QApplication.processEvents()
    view, model = window.view, window.model
    regions = PaintRegions()
    view.viewport().installEventFilter(regions)
    for _ in range(50):  # until what the new scene had to paint is painted
        regions.rects.clear()
        QApplication.processEvents()
        if not regions.rects:
            break
    assert regions.rects == []
    far = 350
    line = window.scene.lines[far]
    assert model.index(far, COL_STATUS).data() == "Not rendered"  # cached
    window.book._live[line.id] = (window.book.fingerprint(line), LineStatus(LineState.QUEUED))
    model.dataChanged.emit(model.index(300, 0), model.index(399, len(HEADERS) - 1))
    QApplication.processEvents()
    assert regions.rects == []
    model.dataChanged.emit(model.index(1, 0), model.index(399, len(HEADERS) - 1))
    QApplication.processEvents()
    assert len(regions.rects) == 1
    assert regions.rects[0].top() >= view.rowViewportPosition(1) > 0
    view.scrollTo(model.index(far, COL_STATUS))
    QApplication.processEvents()
    assert model.index(far, COL_STATUS).data() == "Queued"


def test_rows_are_sized_as_they_come_on_screen(window: MainWindow) -> None:
    """Opening an episode measures only the rows on screen (Qt's resizeRowsToContents measured
    all of them: 1.3 s frozen at 500 lines); a long line far down gets its height when
    scrolled to, and a line being typed grows its row at once."""
    scene = episode_scene(3000)
    long_text = "A long speech that wraps. " * 30
    scene.lines[2500].text = long_text  # type: ignore[attr-defined]
    window.set_scene(scene, None)  # type: ignore[arg-type]
    window.resize(1280, 800)
    QApplication.processEvents()
    QApplication.processEvents()
    view, editor = window.view, window.editor
    short = view.rowHeight(0)
    assert 0 < len(editor._measured) <= 100  # the screen and a margin, not 3,000 rows
    view.scrollTo(window.model.index(2500, COL_STATUS))
    QApplication.processEvents()
    QApplication.processEvents()
    assert view.rowHeight(2500) > 2 * short
    view.scrollToTop()
    QApplication.processEvents()
    window.document.commit_cell(1, "text", long_text)
    assert view.rowHeight(1) > 2 * short
