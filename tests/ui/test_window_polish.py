"""A window that explains itself (issue 16, item 6)."""

from __future__ import annotations

import asyncio
import json
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QComboBox, QDockWidget

from editor.core import sceneio
from editor.core.catalog import read_resource_text
from editor.ui.export.dialog import ExportOptions
from editor.ui.mainwindow import MainWindow
from editor.ui.prompter import ScriptedPrompter, start_folder
from editor.ui.scene.delegates import LineEditor
from editor.ui.scene.model import COL_LENGTH, COL_NUMBER, COL_STABILITY, COL_TEXT
from editor.ui.settings import Settings
from tests.support.ui_helpers import run

pytestmark = pytest.mark.usefixtures("qloop")


def test_length_shows_seconds_once_rendered(window: MainWindow, qloop: Any) -> None:
    index = window.model.index(0, COL_LENGTH)
    assert index.data().endswith(" ch")
    task = window.start_render([0])
    assert task is not None
    run(qloop, task)
    seconds = window.document.line_seconds(0)
    assert seconds is not None and seconds > 0
    assert index.data() == f"{seconds:.1f} s"
    tip = index.data(Qt.ItemDataRole.ToolTipRole)
    assert f"{len(window.scene.lines[0].text):,} characters" in tip
    window.document.changed.emit()
    QApplication.processEvents()
    assert "Running time 0:" in window.time_label.text()
    assert f"(1 of {len(window.scene)} lines rendered)" in window.time_label.text()


def test_the_number_column_fits_five_digits(window: MainWindow) -> None:
    view = window.view
    fm = view.fontMetrics()
    needed = fm.horizontalAdvance("10000") + view.iconSize().width() + 8
    assert view.columnWidth(COL_NUMBER) >= needed
    view.setColumnWidth(COL_NUMBER, 10)  # the writer drags it narrow: it stops at five digits
    assert view.columnWidth(COL_NUMBER) >= needed


def test_enter_and_tab_accept_a_tag_completion(window: MainWindow, qtbot: Any) -> None:
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Tab):
        window.view.setCurrentIndex(window.model.index(0, COL_TEXT))
        window.view.edit(window.model.index(0, COL_TEXT))
        editor = window.editor.open_line_editor()
        assert isinstance(editor, LineEditor)
        editor.setPlainText("Oh ")
        editor.moveCursor(editor.textCursor().MoveOperation.End)
        qtbot.keyClicks(editor, "[whisp")
        popup = editor.completer.popup()
        assert popup.isVisible()
        qtbot.keyClick(popup, key)
        assert editor.toPlainText() == "Oh [whispers] ", key
        window.editor.line_delegate.closeEditor.emit(editor)


def test_alt_down_moves_the_line_while_the_stability_combo_has_focus(
        window: MainWindow, qtbot: Any) -> None:
    first = window.scene.lines[0].id
    index = window.model.index(0, COL_STABILITY)
    window.view.setCurrentIndex(index)
    window.view.edit(index)
    combo = window.view.indexWidget(index)
    assert isinstance(combo, QComboBox)
    combo.setFocus()
    QApplication.processEvents()
    qtbot.keyClick(combo, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    QApplication.processEvents()
    assert window.scene.lines[1].id == first
    assert not combo.view().isVisible()  # its list did not open instead


def test_stability_choices_explain_themselves(window: MainWindow) -> None:
    tip = window.model.headerData(COL_STABILITY, Qt.Orientation.Horizontal,
                                  Qt.ItemDataRole.ToolTipRole)
    for name in ("Creative", "Natural", "Robust"):
        assert f"{name}:" in tip
    assert window.actions["edit.stability.1"].statusTip().startswith("Creative (0): ")


def test_help_lists_every_shortcut(window: MainWindow) -> None:
    rows = window.actions.shortcuts()
    listed = {title for _menu, title, _keys in rows}
    for id_, action in window.actions.actions.items():
        if not action.shortcut().isEmpty():
            assert action.text().replace("&", "") in listed, id_
    assert {"Undo", "Redo"} <= listed


def test_layout_is_restored_in_the_next_window(qtbot: Any, qloop: asyncio.AbstractEventLoop,
                                               tmp_path: Path) -> None:
    def open_window() -> MainWindow:
        settings = Settings(QSettings(str(tmp_path / "shared.ini"), QSettings.Format.IniFormat))
        win = MainWindow(settings, sandbox=True, cache_root=tmp_path / "cache")
        win.prompter = ScriptedPrompter()
        qtbot.addWidget(win)
        win.set_scene(sceneio.loads(read_resource_text("samples/night-ferry.castline")), None)
        win.undo.setClean()
        win.document.external_dirty = False
        win.show()
        QApplication.processEvents()
        return win

    first = open_window()
    first.resize(1100, 760)
    first.removeDockWidget(first.docks["cost"])
    first.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, first.docks["cost"])
    first.docks["cost"].show()
    first.docks["takes"].hide()
    first.view.setColumnWidth(COL_LENGTH, 111)
    QApplication.processEvents()
    first_size = first.size()
    assert first.close()
    run(qloop, first.shutdown())
    assert json.loads(first.settings.get("window/columns"))["Length"] == 111

    second = open_window()
    try:
        assert second.dockWidgetArea(second.docks["cost"]) == Qt.DockWidgetArea.LeftDockWidgetArea
        assert not second.docks["takes"].isVisible()
        assert second.size() == first_size
        assert second.view.columnWidth(COL_LENGTH) == 111
        assert isinstance(second.docks["cast"], QDockWidget)
    finally:
        run(qloop, second.shutdown())


def test_the_welcome_shows_once(qtbot: Any, qloop: asyncio.AbstractEventLoop,
                                tmp_path: Path) -> None:
    seen = []
    for _ in range(2):
        settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
        win = MainWindow(settings, sandbox=True, cache_root=tmp_path / "cache")
        prompter = win.prompter = ScriptedPrompter()
        qtbot.addWidget(win)
        win.show()
        qtbot.waitUntil(lambda w=win: bool(w.settings.get("ui/welcomed")), timeout=5000)
        QApplication.processEvents()
        seen.append([q for q in prompter.told if q.title == "Welcome to Castline"])
        run(qloop, win.shutdown())
    assert len(seen[0]) == 1 and not seen[1]
    text = seen[0][0].text
    assert "sandbox" in text and "no credits" in text and "Settings" in text
    assert "keyring" in text and seen[0][0].choices == ("Add API Key…",)


def test_export_creates_a_missing_folder(window: MainWindow, qloop: Any, tmp_path: Path) -> None:
    task = window.start_render([0, 1])
    assert task is not None
    run(qloop, task)
    out = tmp_path / "not" / "there" / "yet"
    result = run(qloop, window.export.export_files(ExportOptions(out, ("srt",), "wav", ""),
                                                   ask=False))
    assert result is not None and out.is_dir() and any(out.iterdir())


def test_file_dialogs_start_in_the_scenes_folder_else_documents(
        window: MainWindow, tmp_path: Path) -> None:
    assert window.document.last_dir() == start_folder(window.document.last_dir())
    assert window.document.last_dir() != Path("/")
    scene_path = tmp_path / "act1" / "ferry.castline"
    scene_path.parent.mkdir()
    window.document.save_to(scene_path)
    assert window.document.last_dir() == scene_path.parent
    assert start_folder(tmp_path / "gone" / "deeper") == tmp_path


def test_the_settings_dialog_holds_still(window: MainWindow) -> None:
    from editor.ui.settingsdialog import SettingsDialog

    dialog = SettingsDialog(window.settings, window.runner, window)
    dialog.show()
    QApplication.processEvents()
    size, geometry = dialog.size(), dialog.jobs.geometry()
    dialog.key_state.setText("The service did not accept the key (401): check that you copied "
                             "all of it from your API in One dashboard. " * 2)
    QApplication.processEvents()
    assert dialog.size() == size and dialog.jobs.geometry() == geometry
    dialog.reject()


def test_a_big_selection_shows_its_cost(window: Any) -> None:
    """Selecting more than 2,000 lines used to show "Selection: –"."""
    from editor.core.pricing import format_credits
    from editor.core.scene import Scene

    scene = Scene(title="Episode")
    scene.insert_lines(0, [scene.new_line("ANA" if i % 2 else "BO", f"Line {i} of the episode.")
                           for i in range(2500)])
    window.set_scene(scene, None)
    window.editor.view.selectAll()  # everything: the totals
    window.render.update_costs()
    assert window.cost_panel.selection.text().startswith(format_credits(window.document.costs.lines_total))
    assert "2500 lines" in window.cost_panel.selection.text()
    window.editor.select_rows(list(range(2100)))  # most of it: each line's own request
    window.render.update_costs()
    assert window.cost_panel.selection.text().startswith(
        format_credits(sum((window.document.costs.line_cost(r) for r in range(2100)), Fraction(0))))


def test_icons_draw_at_the_size_shown(qapp: Any) -> None:
    """Icons come from their SVG through Qt's icon engine (no Python SVG module at start-up);
    the app icon is sharp at 256 px, a status icon at 16."""
    from editor.ui.icons import _rendered, icon

    for name, size in (("castline", 256), ("status-ready", 16), ("play", 24)):
        image = icon(name).pixmap(size, size).toImage()
        assert image.width() == size and not image.isNull()
        assert any(image.pixelColor(x, size // 2).alpha() > 0 for x in range(size)), name
    from importlib import resources

    data = resources.files("editor.resources").joinpath("icons", "play.svg").read_bytes()
    fallback = _rendered(data).pixmap(16, 16).toImage()
    assert any(fallback.pixelColor(x, 8).alpha() > 0 for x in range(16))


def test_the_window_loads_no_heavy_library_before_it_shows() -> None:
    """Start-up: numpy (150 ms here; the waveform and the dialogue cutter need it), the
    network stack, the audio libraries and Qt's SVG module load after the window shows (the
    warm-up) or on first use, not with the window's code."""
    import subprocess
    import sys

    heavy = ("numpy", "httpx", "soundfile", "PySide6.QtSvg", "PySide6.QtMultimedia")
    code = ("import sys, editor.ui.mainwindow, editor.ui.app; "
            f"print([m for m in {heavy!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.stdout.strip() == "[]", out.stdout

