"""File → Import shows what will come in before anything changes (issue 16, item 5): the
preview of each real script in shared/real-scripts (read in place), a spreadsheet's column
mapping, a preview that follows every choice, and an import that brings in exactly what the
preview showed."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from editor.core import sceneio
from editor.core.importers import ImportOptions, preview
from editor.ui.mainwindow import MainWindow
from editor.ui.scene import importdialog
from editor.ui.scene.document import IMPORT_FILTER
from editor.ui.scene.importdialog import ImportChoice, ImportDialog
from tests.support.ui_helpers import run

pytestmark = pytest.mark.usefixtures("qloop")

REAL = Path("/work/shared/real-scripts")
GUMSHOE, EXTRANORMAL = REAL / "gumshoe.fdx", REAL / "extranormal.fdx"
YARN, RENPY = REAL / "yarn_space_en.csv", REAL / "renpy_sunny_forest_dialogue.tab"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="shared/real-scripts is not here")

SHEET = ("Scene,Character,Dialogue,Emotion\n"
         "Dock,MARA,The ferry is late again.,annoyed\n"
         "Dock,JONAS,It always is on Tuesdays.,(whispering)\n"
         "Deck,MARA,Then we swim.,laughing\n")


def _dialog(window: MainWindow, path: Path, folder: Path, **kw: Any) -> ImportDialog:
    dialog = ImportDialog(path, window.runner, folder, window, **kw)
    dialog.show()
    return dialog


def _table(dialog: ImportDialog) -> list[tuple[str, str]]:
    t = dialog.table
    return [(t.item(r, 1).text(), t.item(r, 2).text()) for r in range(t.rowCount())]


def _wait_import(window: MainWindow, qloop: asyncio.AbstractEventLoop) -> None:
    op = window.document.import_op
    assert op is not None and op.task is not None
    run(qloop, op.task)


def test_the_import_filter_offers_every_format() -> None:
    for pattern in ("*.fountain", "*.fdx", "*.csv", "*.tsv", "*.tab", "*.txt"):
        assert pattern in IMPORT_FILTER.split(";;")[0]


@needs_real
def test_preview_of_gumshoe_fdx(window: MainWindow, tmp_path: Path) -> None:
    dialog = _dialog(window, GUMSHOE, tmp_path)
    p = dialog.result
    assert p is not None and p.error is None
    assert "Final Draft" in dialog.summary.text() and "269 lines" in dialog.summary.text()
    assert dialog.pages.currentIndex() == 1  # the script's choices, not a column mapping
    assert dialog.table.rowCount() == 20
    assert "first 20 of 269" in dialog.tabs.tabText(0)
    assert _table(dialog)[0] == (p.lines[0].speaker, p.lines[0].text)
    counts = dialog.counts.toPlainText()
    assert "UDAXEK" in counts and "44 parentheticals kept as notes" in counts
    assert "210 action paragraphs" in counts
    assert not dialog.tabs.isTabVisible(1)  # no raw table for a script
    assert dialog.import_button.isEnabled()
    assert "nothing is written until you save" in dialog.split_note.text()


@needs_real
def test_preview_of_extranormal_fdx(window: MainWindow, tmp_path: Path) -> None:
    dialog = _dialog(window, EXTRANORMAL, tmp_path)
    assert dialog.result is not None and dialog.result.total_lines == 11
    assert {s for s, _ in _table(dialog)} == {"COLBY", "BRIAN", "WINNIE", "MORGAN"}
    assert "Note: to camera, re: Brian" in dialog.table.item(
        next(r for r in range(dialog.table.rowCount())
             if "to camera" in dialog.table.item(r, 3).text()), 3).text()


@needs_real
def test_preview_of_the_yarn_csv_shows_its_mapping(window: MainWindow, tmp_path: Path) -> None:
    dialog = _dialog(window, YARN, tmp_path)
    assert dialog.pages.currentIndex() == 0
    assert "comma-separated" in dialog.summary.text()
    assert dialog.header.isChecked()
    roles = {r: c.currentData() for r, c in dialog.role_combos.items()}
    assert roles["text"] == "text" and roles["id"] == "id" and roles["notes"] == "comment"
    assert roles["speaker"] is None  # none: speakers come out of the text ("Ship: Hey.")
    assert _table(dialog)[0] == ("Ship", "Hey, friend.")
    assert dialog.tabs.isTabVisible(1) and dialog.source.rowCount() >= 20
    assert "→ text" in dialog.source.horizontalHeaderItem(2).text()
    assert "speakers taken from the text" in dialog.counts.toPlainText()


@needs_real
def test_preview_of_the_renpy_tab_file(window: MainWindow, tmp_path: Path) -> None:
    dialog = _dialog(window, RENPY, tmp_path)
    assert "TSV, tab-separated" in dialog.summary.text()
    assert dialog.delimiter.currentData() == "\t"
    assert dialog.role_combos["speaker"].currentData() == "Character"
    assert dialog.role_combos["text"].currentData() == "Dialogue"
    assert "294 lines" in dialog.summary.text()
    assert "[player_name]" in dialog.counts.toPlainText()  # a warning worth a look


def test_a_scene_character_dialogue_emotion_csv_is_mapped_and_remappable(
        window: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "ferry.csv"
    path.write_text(SHEET, "utf-8")
    dialog = _dialog(window, path, tmp_path)
    roles = {r: c.currentData() for r, c in dialog.role_combos.items()}
    assert (roles["speaker"], roles["text"], roles["emotion"], roles["scene"]) == \
        ("Character", "Dialogue", "Emotion", "Scene")
    assert _table(dialog)[1] == ("JONAS", "[whispers] It always is on Tuesdays.")
    # The writer says the speaker is in the Scene column: the preview follows at once.
    combo = dialog.role_combos["speaker"]
    combo.setCurrentIndex(combo.findData("Scene"))
    dialog.refresh()
    assert [s for s, _ in _table(dialog)] == ["Dock", "Dock", "Deck"]
    assert dialog.options.columns is not None and dialog.options.columns["speaker"] == "Scene"
    # Emotions kept as notes: nothing spoken that the writer did not write.
    dialog.emotion_how.setCurrentIndex(dialog.emotion_how.findData("note"))
    dialog.refresh()
    assert _table(dialog)[1][1] == "It always is on Tuesdays."
    # Split per Scene column: two scene files, said plainly.
    dialog.sheet_scenes.setCurrentIndex(dialog.sheet_scenes.findData("split"))
    dialog.refresh()
    assert dialog.result is not None and dialog.result.scene_count == 2
    assert "2 scenes" in dialog.split_note.text() and "ferry-01.castline" in dialog.split_note.text()


@needs_real
def test_changing_an_option_changes_the_preview_off_the_gui_thread(
        window: MainWindow, qloop: asyncio.AbstractEventLoop, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importdialog, "SYNC_BYTES", 0)  # every preview on the runner
    dialog = _dialog(window, GUMSHOE, tmp_path)
    assert dialog.result is None and not dialog.import_button.isEnabled()  # reading…
    first = run(qloop, dialog.settled())
    assert first is not None and first.total_lines == 269
    dialog.action.setCurrentIndex(dialog.action.findData("narrator"))
    changed = run(qloop, dialog.settled())
    assert changed is not None and changed is not first
    assert changed.total_lines == 479
    assert "NARRATOR" in changed.speakers
    assert dialog.options.action == "narrator"
    dialog.parentheticals.setCurrentIndex(dialog.parentheticals.findData("spoken"))
    spoken = run(qloop, dialog.settled())
    assert spoken is not None and "parentheticals as audio tags" in " ".join(spoken.stats)


@needs_real
@pytest.mark.parametrize("path", [GUMSHOE, YARN, RENPY], ids=lambda p: p.name)
def test_the_import_is_what_the_preview_showed(window: MainWindow,
                                                qloop: asyncio.AbstractEventLoop,
                                                tmp_path: Path, path: Path) -> None:
    dialog = _dialog(window, path, tmp_path)
    if dialog.pages.currentIndex() == 1:  # a script: not the defaults, to be sure they travel
        dialog.action.setCurrentIndex(dialog.action.findData("narrator"))
        dialog.headings.setCurrentIndex(dialog.headings.findData("line"))
        dialog.refresh()
    shown = dialog.result
    assert shown is not None
    choice = dialog.choice()
    window.prompter.import_choice = choice
    window.prompter.answers = [str(path)]
    window.document.import_dialog()
    _wait_import(window, qloop)
    scene = window.scene
    assert len(scene) == shown.total_lines
    got = [(ln.id, ln.speaker, ln.text, dict(ln.extra)) for ln in scene.lines[:len(shown.lines)]]
    assert got == [(ln.id, ln.speaker, ln.text, ln.extra) for ln in shown.lines]
    assert window.path is None and window.modified  # one unsaved scene: nothing written
    assert not window.prompter.told or all(q.title != "Imported, with warnings"
                                           for q in window.prompter.told)


@needs_real
def test_split_writes_every_scene_beside_each_other_and_opens_the_first(
        window: MainWindow, qloop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    out = tmp_path / "episode"
    dialog = _dialog(window, GUMSHOE, out)
    dialog.scenes.setCurrentIndex(dialog.scenes.findData("split"))
    dialog.refresh()
    assert not dialog.headings.isEnabled()  # headings are the scenes' titles now
    note = dialog.split_note.text()
    assert "18 scenes" in note and "gumshoe-01.castline" in note and "gumshoe-18.castline" in note
    assert "will be created" in note
    choice = dialog.choice()
    assert choice.split_folder == out
    window.document.import_path(GUMSHOE, choice.options, split_to=choice.split_folder)
    _wait_import(window, qloop)
    files = sorted(out.glob("*.castline"))
    assert [f.name for f in files] == [f"gumshoe-{k:02d}.castline" for k in range(1, 19)]
    assert window.path == files[0] and not window.modified
    assert window.scene.title == sceneio.load(files[0]).title
    # Again: the files are there, so the dialog refuses to write over them.
    again = _dialog(window, GUMSHOE, out, options=dataclasses.replace(ImportOptions(),
                                                                      scenes="split"))
    assert not again.import_button.isEnabled()
    assert "already exists" in again.split_note.text()


def test_a_file_that_cannot_be_imported_says_why_and_keeps_the_choices(
        window: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "numbers.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6\n", "utf-8")
    dialog = _dialog(window, path, tmp_path)
    assert dialog.error.isVisible() and "Cannot import" in dialog.error.text()
    assert not dialog.import_button.isEnabled()
    assert dialog.pages.currentIndex() == 0  # the mapping stays open to fix it
    assert "stability" in dialog.error.text()  # read as speaker, text, stability: "c"
    dialog.header.setChecked(True)  # the first row names the columns
    dialog.refresh()
    assert dialog.result is not None and "which column holds the lines" in dialog.error.text()
    for role, column in (("speaker", "a"), ("text", "c")):
        combo = dialog.role_combos[role]
        combo.setCurrentIndex(combo.findData(column))
    dialog.refresh()
    assert dialog.result.error is None and not dialog.error.isVisible()
    assert _table(dialog) == [("1", "3"), ("4", "6")]
    assert dialog.import_button.isEnabled()


def test_import_choice_defaults_match_the_core(tmp_path: Path) -> None:
    path = tmp_path / "ferry.csv"
    path.write_text(SHEET, "utf-8")
    assert preview(path).columns == {"speaker": "Character", "text": "Dialogue",
                                     "emotion": "Emotion", "scene": "Scene"}
    assert ImportChoice(ImportOptions()).split_folder is None
