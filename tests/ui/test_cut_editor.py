"""Fix a cut by hand (issue 17, deliverable 3): the Takes panel shows a dialogue take's
waveform and cuts; moving a cut re-cuts the two lines beside it, undoably, in the takes
index, and the export's manifest follows."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from editor.engine.audio import decode
from editor.engine.export import Exporter
from editor.engine.grouptakes import group_cuts, group_pieces
from editor.engine.project import export_layout
from editor.engine.takes import Take, TakeStore
from editor.ui.mainwindow import MainWindow
from editor.ui.takes.panel import CutView
from editor.ui.takes.waveform import CutMark, Envelope
from tests.support.ui_helpers import run

ROWS = [0, 1, 2]


def wait_until(qloop: Any, condition: Callable[[], object], what: str,
               timeout: float = 60.0) -> None:
    """Turn the window's loop until ``condition`` holds, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        qloop.run_until_complete(asyncio.sleep(0.02))


def render_as_dialogue(window: MainWindow, qloop: Any, rows: list[int]) -> Take:
    """Render ``rows`` as one dialogue and wait until every line has its piece; the group."""
    window.mode_combo.setCurrentIndex(window.mode_combo.findData("take"))
    assert window.document.mode == "take"
    task = window.start_render(rows)
    assert task is not None
    run(qloop, task)
    ids = [window.scene.lines[r].id for r in rows]
    store = window.takes

    def pieces_chosen() -> bool:
        chosen = [store.get(store.active_id(i) or "") for i in ids]
        return all(t is not None and t.group is not None for t in chosen)

    wait_until(qloop, pieces_chosen, "the dialogue's pieces")
    group = store.get(store.get(store.active_id(ids[0]) or "").group or "")  # type: ignore[union-attr]
    assert group is not None and group.is_group and group.line_ids == ids
    return group


def seconds(store: TakeStore, take_id: str) -> float:
    take = store.get(take_id)
    assert take is not None
    path = store.path(take)
    assert path is not None
    return decode(path).seconds


def test_moving_a_cut_recuts_both_lines_undoably_and_the_manifest_follows(
        window: MainWindow, qloop: Any, tmp_path: Path) -> None:
    group = render_as_dialogue(window, qloop, ROWS)
    store = window.takes
    a, b = group.line_ids[0], group.line_ids[1]
    old_a, old_b = store.active_id(a), store.active_id(b)
    assert old_a and old_b
    # The panel shows the group's cuts for a line of it, and reads its waveform.
    window.select_rows([1])
    window.takes_room.refresh()
    panel = window.takes_panel
    assert panel.cut_view is not None and panel.cut_view.group == group.id
    assert panel.cut_box.isVisibleTo(panel)
    assert len(panel.cut_view.cuts) == 2 and panel.cut_view.line_index == 1
    wait_until(qloop, lambda: panel.cut_view is not None and panel.cut_view.envelope is not None,
               "the waveform")
    assert panel.cuts.env is not None and panel.cuts.duration > 0
    at = panel.cut_view.cuts[0].at
    assert panel.cut_view.span == (at, pytest.approx(panel.cut_view.cuts[1].at))
    len_a, len_b = seconds(store, old_a), seconds(store, old_b)

    moved = panel.move_cut(0, at + 0.2)  # the public face of a drag
    assert moved == pytest.approx(at + 0.2)
    wait_until(qloop, lambda: store.active_id(a) != old_a and store.active_id(b) != old_b,
               "the new pieces")
    new_a, new_b = store.active_id(a), store.active_id(b)
    assert new_a and new_b
    assert seconds(store, new_a) - len_a == pytest.approx(0.2, abs=0.002)
    assert seconds(store, new_b) - len_b == pytest.approx(-0.2, abs=0.002)
    take_a, take_b = store.get(new_a), store.get(new_b)
    assert take_a is not None and take_b is not None
    assert take_a.group == take_b.group == group.id
    assert take_a.span == (0.0, pytest.approx(at + 0.2, abs=1e-3))
    assert take_b.span is not None and take_b.span[0] == pytest.approx(at + 0.2, abs=1e-3)
    assert take_a.extra["split"] == "hand" and take_a.extra["recut_of"] == old_a
    # The old pieces stay; the moved cut is drawn as moved by hand, no longer uncertain.
    assert store.get(old_a) is not None and not store.is_deleted(old_a)
    window.takes_room.refresh()
    assert panel.cut_view is not None and panel.cut_view.cuts[0].hand
    assert panel.cut_view.cuts[0].at == pytest.approx(at + 0.2, abs=1e-3)
    assert group_cuts(group_pieces(store, group))[0].at == \
        pytest.approx(at + 0.2, abs=1e-3)
    # The third line's piece is untouched.
    assert store.get(store.active_id(group.line_ids[2]) or "").extra.get("split") != "hand"  # type: ignore[union-attr]

    # One undo step puts both back; redo moves it again; the index on disk says so each time.
    assert window.undo.undoText() == "Move cut"
    window.undo.undo()
    assert (store.active_id(a), store.active_id(b)) == (old_a, old_b)
    fresh = TakeStore(store.root)
    assert (fresh.active_id(a), fresh.active_id(b)) == (old_a, old_b)
    assert window.book.take(window.scene.lines[0]).id == old_a  # type: ignore[union-attr]
    window.undo.redo()
    assert (store.active_id(a), store.active_id(b)) == (new_a, new_b)
    fresh = TakeStore(store.root)
    assert (fresh.active_id(a), fresh.active_id(b)) == (new_a, new_b)
    assert fresh.get(new_a) is not None and fresh.get(new_a).span == take_a.span  # type: ignore[union-attr]

    # The export (--what lines,manifest) gives the new spans and files of the new lengths.
    out = tmp_path / "out"
    out.mkdir()
    plan = export_layout(window.scene, window.book)
    Exporter(window.scene, plan, out, what=["lines", "manifest"]).run()
    manifest = json.loads(next(out.glob("*manifest.json")).read_text())
    rows = {r["id"]: r for r in manifest["lines"]}
    assert rows[a]["group_take"] == group.id
    assert rows[a]["group_start"] == 0
    assert rows[a]["group_duration"] == pytest.approx(at + 0.2, abs=0.002)
    assert rows[b]["group_start"] == pytest.approx(at + 0.2, abs=0.002)
    assert rows[b]["group_duration"] == pytest.approx(
        take_b.span[1] - take_b.span[0], abs=0.002)  # type: ignore[index]
    assert decode(out / rows[a]["file"]).seconds == pytest.approx(at + 0.2, abs=0.01)
    assert rows[a]["uncertain"] is False


def test_hear_both_sides_plays_a_second_and_a_half_each_side_through_playback(
        window: MainWindow, qloop: Any, qtbot: Any) -> None:
    group = render_as_dialogue(window, qloop, ROWS)
    window.select_rows([0])
    window.takes_room.refresh()
    panel = window.takes_panel
    assert panel.cut_view is not None and panel.cut_view.group == group.id
    assert panel.cuts.selected == 0  # the cut after the line
    heard: list[str] = []
    window.takes_room.play_requested.connect(heard.append)
    panel.hear.click()
    wait_until(qloop, lambda: heard, "the excerpt to play")
    clip = decode(Path(heard[0]))
    at = panel.cut_view.cuts[0].at
    assert clip.seconds == pytest.approx(min(at, 1.5) + 0.25 + 1.5, abs=0.01)
    # the silence where the cut falls
    gap_start = round(min(at, 1.5) * clip.rate)
    assert abs(clip.data[gap_start + 10:gap_start + round(0.2 * clip.rate)]).max() == 0


def test_uncertain_cuts_are_drawn_apart_and_say_check_by_ear(window: MainWindow) -> None:
    panel = window.takes_panel
    import numpy as np

    env = Envelope(4.0, -np.abs(np.sin(np.linspace(0, 40, 400))).astype(np.float32),
                   np.abs(np.sin(np.linspace(0, 40, 400))).astype(np.float32))
    view = CutView("take-9", "A dialogue", 4.0, [CutMark(1.2), CutMark(2.6, uncertain=True)],
                   ["1 ANA", "2 BO", "3 ANA"], (1.2, 2.6), 1, env)
    panel.show_cuts(view)
    assert "check this cut by ear" in panel.cut_hint.text()
    assert "Cut 2" in panel.cut_hint.text()
    panel.show_cuts(CutView("take-9", "A dialogue", 4.0, [CutMark(1.2), CutMark(2.6)],
                            ["1 ANA", "2 BO", "3 ANA"], (0.0, 1.2), 0, env))
    assert panel.cut_hint.text() == ""
    panel.show_cuts(None)
    assert not panel.cut_box.isVisibleTo(panel)


def test_a_line_rendered_alone_shows_no_cut_editor(window: MainWindow, qloop: Any) -> None:
    window.select_rows([0])
    task = window.start_render([0])
    assert task is not None
    run(qloop, task)
    window.takes_room.refresh()
    assert window.takes_panel.cut_view is None
    assert not window.takes_panel.cut_box.isVisibleTo(window.takes_panel)
