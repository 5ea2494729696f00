"""The Cast panel picks voices from the library, keeps the writer's own voices, flags free
text that names no voice, never squeezes its Voice column, and Hear plays the voice on the
character's own first line (one voice, or A then B)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from editor.core import voices as V
from editor.ui.mainwindow import MainWindow
from editor.ui.scene.cast import VOICE_MIN_WIDTH, CastPanel
from editor.ui.scene.voicepicker import OwnVoices, VoicePicker
from tests.support.ui_helpers import make_settings, run
from tests.support.waiting import wait_until

pytestmark = pytest.mark.usefixtures("qloop")

OWN_ID = "Gr4ndp4V01ce0000abcd"


def test_the_picker_filters_on_every_column(qtbot: Any, tmp_path: Path) -> None:
    picker = VoicePicker(OwnVoices(make_settings(tmp_path)), speaker="ODILE")
    qtbot.addWidget(picker)
    everything = picker.table.rowCount()
    assert everything == len(V.premade_voices()) >= 50
    picker.search.setText("female british")
    assert 0 < picker.table.rowCount() < everything
    for v in picker.shown:
        assert v.gender.casefold() == "female" and "british" in v.accent.casefold()
    picker.search.setText("charlo")
    assert picker.table.item(0, 0).text() == "Charlotte"
    assert picker.current_voice() is not None and picker.current_voice().name == "Charlotte"
    picker.search.setText("no such voice at all")
    assert picker.table.rowCount() == 0 and not picker.use_button.isEnabled()


def test_picking_sets_the_voice_as_one_undo_step(window: MainWindow, qtbot: Any) -> None:
    picker = window.cast_panel.pick_voice("ODILE")
    assert picker.isVisible() and "ODILE" in picker.windowTitle()
    assert picker.current_voice() is not None and picker.current_voice().name == "Charlotte"
    picker.search.setText("Sarah")
    picker.use_button.click()
    assert window.scene.voice_of("ODILE") == "Sarah"
    assert window.undo.undoText() == "Voice of ODILE"
    window.undo.undo()
    assert window.scene.voice_of("ODILE") == "Charlotte"


def test_an_own_voice_is_added_kept_in_settings_and_cast_by_its_id(window: MainWindow,
                                                                   qtbot: Any) -> None:
    picker = window.cast_panel.pick_voice("BEN")
    picker.own_name.setText("Grandpa")
    picker.own_id.setText("not an id")
    assert not picker.add_own()
    assert "not an ElevenLabs voice id" in picker.own_error.text()
    picker.own_id.setText(OWN_ID)
    assert picker.add_own()
    assert picker.current_voice() is not None and picker.current_voice().own
    assert picker.table.item(0, 6).text() == "yours"
    saved = json.loads(window.settings.get("voices/own"))
    assert saved == [{"name": "Grandpa", "voice_id": OWN_ID, "language": ""}]
    picker.use_button.click()
    assert window.scene.voice_of("BEN") == OWN_ID  # the service knows the id, not the name
    window.cast_panel.rebuild()
    cell = window.cast_panel.cells["BEN"]
    assert cell.text() == "Grandpa" and not cell.flag.isVisibleTo(window.cast_panel)
    # Removed again: the id is now a voice Castline does not know.
    picker = window.cast_panel.pick_voice("BEN")
    picker.search.setText("Grandpa")
    picker.remove_button.click()
    assert json.loads(window.settings.get("voices/own")) == []
    picker.close()
    assert window.cast_panel.flagged() == ["BEN"]


def test_free_text_is_allowed_but_flagged(window: MainWindow, qtbot: Any) -> None:
    panel = window.cast_panel
    assert panel.flagged() == []
    cell = panel.cells["PURSER"]
    cell.combo.setCurrentText("Bobby the robot")
    cell.combo.lineEdit().editingFinished.emit()
    assert window.scene.voice_of("PURSER") == "Bobby the robot"  # still allowed
    panel.rebuild()
    assert panel.flagged() == ["PURSER"]
    cell = panel.cells["PURSER"]
    assert cell.flag.isVisibleTo(panel)
    assert "not a voice Castline knows" in cell.flag.toolTip()
    cell.combo.setCurrentText("charlotte")  # a name in any case is known
    assert not cell.flag.isVisibleTo(panel)


def test_the_voice_column_is_never_squeezed(qtbot: Any, sample_scene: Any) -> None:
    panel = CastPanel()
    qtbot.addWidget(panel)
    sample_scene.rename_speaker("ODILE", "CAPTAIN ODILE DE LA TOUR-SAINT-GERMAIN, RETIRED")
    panel.set_scene(sample_scene)
    panel.show()
    panel.resize(10, 300)  # the dock pushed as narrow as it goes
    qtbot.waitUntil(lambda: panel.width() >= panel.minimumSizeHint().width())
    assert panel.voice_width() >= VOICE_MIN_WIDTH - 4
    assert panel.table.columnWidth(0) <= 150


def _first_line_text(window: MainWindow, speaker: str) -> str:
    line = next(ln for ln in window.scene.lines if ln.speaker == speaker)
    return window.scene.spoken(line)


def test_hear_renders_the_characters_first_line_in_the_sandbox_and_plays_it(
        window: MainWindow, qloop: Any, qtbot: Any) -> None:
    async def go() -> None:
        window.cast_panel.hear("BEN")
        await wait_until(lambda: not window.runner.busy, 60, "the background work")

    with qtbot.waitSignal(window.player.started, timeout=30000) as blocker:
        run(qloop, go())
    (request,) = window.render.auditions.last
    assert request.body["dialogue"] == [{"text": _first_line_text(window, "BEN"),
                                        "voice": "Callum"}]
    assert Path(blocker.args[0]) == window.document.cache().get(request.key)
    assert window.prompter.asked == []  # the sandbox is free: nothing asked
    session = run(qloop, window.render.ensure_service())
    submits = session.sandbox.stats.submits
    window.stop_playback()
    # Rendered once: heard again, it comes from the cache.
    with qtbot.waitSignal(window.player.started, timeout=10000):
        run(qloop, go())
    assert session.sandbox.stats.submits == submits
    window.stop_playback()


def test_compare_plays_two_voices_on_the_same_line(window: MainWindow, qloop: Any,
                                                   qtbot: Any) -> None:
    picker = window.cast_panel.compare_with("ODILE")
    picker.search.setText("George")
    started: list[str] = []
    window.player.started.connect(started.append)
    said: list[str] = []  # the note lasts 6 s; B may start later than that on a busy machine
    window.statusBar().messageChanged.connect(said.append)

    async def go() -> None:
        picker.use_button.click()
        await wait_until(lambda: not window.runner.busy, 60, "the background work")

    run(qloop, go())
    a, b = window.render.auditions.last
    assert [a.body["dialogue"][0]["voice"], b.body["dialogue"][0]["voice"]] == \
        ["Charlotte", "George"]
    assert a.body["dialogue"][0]["text"] == b.body["dialogue"][0]["text"] \
        == _first_line_text(window, "ODILE")
    assert window.scene.voice_of("ODILE") == "Charlotte"  # comparing changes nothing
    qtbot.waitUntil(lambda: len(started) == 2, timeout=30000)
    assert started == [str(window.document.cache().get(a.key)),
                       str(window.document.cache().get(b.key))]
    assert any("A: Charlotte, then B: George" in m for m in said), said
    window.stop_playback()


def test_counts_follow_edits_without_rebuilding_the_voice_cells(window: MainWindow) -> None:
    """A render's progress or an edited line changes only the counts: the voice cells (and a
    voice being typed in one) stay; a new voice or speaker rebuilds the rows."""
    from editor.ui.scene.cast import COL_CHARS, COL_LINES

    panel = window.cast_panel
    panel.rebuild()
    name = window.scene.lines[0].speaker
    row = list(panel.cells).index(name)
    cell = panel.cells[name]
    cell.combo.setEditText("Half-typed")
    chars = int(panel.table.item(row, COL_CHARS).text())
    window.document.commit_cell(0, "text", window.scene.lines[0].text + "12345")
    panel.rebuild()
    assert panel.cells[name] is cell and cell.combo.currentText() == "Half-typed"
    assert int(panel.table.item(row, COL_CHARS).text()) == chars + 5
    assert f"{chars + 5:,} characters" in panel.table.item(row, COL_LINES).toolTip()
    window.editor.set_voice(name, "Grandpa")  # one undoable voice change
    panel.rebuild()
    assert panel.cells[name] is not cell
    assert panel.cells[name].text() == "Grandpa"
