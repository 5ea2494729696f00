"""The scene model: every operation the editor needs, and the events it reports."""

from __future__ import annotations

import pytest

from editor.core.scene import (
    CastChanged,
    Line,
    LinesChanged,
    LinesInserted,
    LinesRemoved,
    LinesReordered,
    Scene,
    SceneError,
)


def make(n: int = 5) -> Scene:
    s = Scene(title="T")
    s.insert_lines(0, [s.new_line("A" if i % 2 == 0 else "B", f"text {i}") for i in range(n)])
    return s


def texts(s: Scene) -> list[str]:
    return [ln.text for ln in s.lines]


class Recorder:
    def __init__(self, scene: Scene) -> None:
        self.events: list[tuple[object, str]] = []
        scene.add_listener(lambda e, phase: self.events.append((e, phase)))


def test_insert_reports_before_and_after_and_adds_speaker_to_cast() -> None:
    s = make(2)
    rec = Recorder(s)
    line = s.new_line("NEW", "hello")
    s.insert_lines(1, [line])
    assert texts(s) == ["text 0", "hello", "text 1"]
    assert rec.events[0] == (LinesInserted(1, 1), "before")
    assert rec.events[1] == (LinesInserted(1, 1), "after")
    assert "NEW" in s.cast
    assert any(isinstance(e, CastChanged) for e, _ in rec.events)


def test_ids_are_unique_and_survive_reorder_and_edit() -> None:
    s = make(4)
    ids = [ln.id for ln in s.lines]
    assert len(set(ids)) == 4
    s.move_lines([0], 4)
    s.set_text(0, "changed")
    assert sorted(ln.id for ln in s.lines) == sorted(ids)
    with pytest.raises(SceneError, match="share the id"):
        s.insert_lines(0, [Line(ids[1], "A", "dup")])


def test_delete_non_contiguous_and_restore() -> None:
    s = make(6)
    before = [ln.id for ln in s.lines]
    rec = Recorder(s)
    removed = s.delete_lines([1, 2, 4])
    assert texts(s) == ["text 0", "text 3", "text 5"]
    removes = [e for e, ph in rec.events if ph == "before"]
    assert removes == [LinesRemoved(4, 1), LinesRemoved(1, 2)]  # from the bottom up
    s.restore_lines(removed)
    assert [ln.id for ln in s.lines] == before


@pytest.mark.parametrize(("rows", "dest", "expected", "landed"), [
    ([0], 3, ["text 1", "text 2", "text 0", "text 3", "text 4"], [2]),
    ([3, 4], 0, ["text 3", "text 4", "text 0", "text 1", "text 2"], [0, 1]),
    ([0, 2], 5, ["text 1", "text 3", "text 4", "text 0", "text 2"], [3, 4]),
    ([1, 3], 2, ["text 0", "text 1", "text 3", "text 2", "text 4"], [1, 2]),
])
def test_move_several_rows(rows: list[int], dest: int, expected: list[str],
                           landed: list[int]) -> None:
    s = make(5)
    rec = Recorder(s)
    assert s.move_lines(rows, dest) == landed
    assert texts(s) == expected
    event = rec.events[0][0]
    assert isinstance(event, LinesReordered)
    # The reported order rebuilds the new list from the old one.
    old = [f"text {i}" for i in range(5)]
    assert [old[i] for i in event.order] == expected


def test_move_up_and_down_stop_at_the_edges() -> None:
    s = make(3)
    assert s.move_up([0]) == [0]
    assert s.move_down([2]) == [2]
    assert s.move_down([0]) == [1]
    assert texts(s) == ["text 1", "text 0", "text 2"]
    assert s.move_up([1, 2]) == [0, 1]
    assert texts(s) == ["text 0", "text 2", "text 1"]


def test_duplicate_puts_copies_after_the_selection_with_new_ids() -> None:
    s = make(3)
    s.set_field([0], "stability", 1.0)
    first, count = s.duplicate_lines([0, 1])
    assert (first, count) == (2, 2)
    assert texts(s) == ["text 0", "text 1", "text 0", "text 1", "text 2"]
    assert s.lines[2].stability == 1.0
    assert s.lines[2].id not in {s.lines[0].id, s.lines[1].id}


def test_split_and_merge_are_inverse_in_text() -> None:
    s = make(2)
    s.set_text(0, "Hello there. General Kenobi.")
    new = s.split_line(0, 12)
    assert texts(s)[:2] == ["Hello there.", "General Kenobi."]
    assert new.speaker == s.lines[0].speaker
    old_text, removed = s.merge_with_next(0)
    assert old_text == "Hello there."
    assert removed.id == new.id
    assert texts(s) == ["Hello there. General Kenobi.", "text 1"]
    with pytest.raises(SceneError, match="cursor inside"):
        s.split_line(0, 0)
    with pytest.raises(SceneError, match="no next line"):
        s.merge_with_next(1)


def test_set_field_on_many_returns_old_values_and_reports_only_changes() -> None:
    s = make(4)
    rec = Recorder(s)
    old = s.set_field([0, 1, 3], "language_code", "fr")
    assert old == [None, None, None]
    assert [ln.language_code for ln in s.lines] == ["fr", "fr", None, "fr"]
    assert rec.events[0] == (LinesChanged((0, 1, 3), frozenset({"language_code"})), "before")
    rec.events.clear()
    s.set_field([0], "language_code", "fr")  # no change: no event
    assert rec.events == []
    with pytest.raises(SceneError):
        s.set_field([0], "stability", 1.5)
    with pytest.raises(SceneError):
        s.set_field([0], "language_code", "not a code")


def test_rename_speaker_everywhere_keeps_cast_order_and_voice() -> None:
    s = make(4)
    s.set_voice("A", "Sarah")
    rows = s.rename_speaker("A", "MARA")
    assert rows == [0, 2]
    assert list(s.cast) == ["MARA", "B"]
    assert s.cast["MARA"].voice == "Sarah"
    assert {ln.speaker for ln in s.lines} == {"MARA", "B"}


def test_rename_onto_existing_member_merges() -> None:
    s = make(4)
    s.set_voice("B", "George")
    s.rename_speaker("A", "B")
    assert list(s.cast) == ["B"]
    assert all(ln.speaker == "B" for ln in s.lines)
    assert s.cast["B"].voice == "George"


def test_cast_add_remove_restore() -> None:
    s = make(2)
    s.add_cast("NARRATOR", "Brian", index=0)
    assert list(s.cast) == ["NARRATOR", "A", "B"]
    with pytest.raises(SceneError, match="already"):
        s.add_cast("A")
    with pytest.raises(SceneError, match="still speaks"):
        s.remove_cast("A")
    index, member = s.remove_cast("NARRATOR")
    assert list(s.cast) == ["A", "B"]
    s.restore_cast("NARRATOR", index, member)
    assert list(s.cast) == ["NARRATOR", "A", "B"]
    assert s.cast["NARRATOR"].voice == "Brian"


def test_effective_settings_follow_the_scene_until_overridden() -> None:
    s = make(2)
    line = s.lines[0]
    assert s.effective_stability(line) == 0.5
    s.set_setting("stability", 1.0)
    assert s.effective_stability(line) == 1.0
    s.set_field([0], "stability", 0.0)
    assert s.effective_stability(line) == 0.0
    assert s.effective_language(line) == "auto"
    with pytest.raises(SceneError):
        s.set_setting("stability", None)


def test_a_snapshot_is_an_independent_equal_scene() -> None:
    """The copy a render plans from (taken without re-checking every line) has every attribute
    a scene built the usual way has, equal data, working lookups, and shares nothing mutable."""
    from editor.core import sceneio

    scene = Scene(title="T", gap_ms=250, pronunciations={"Odile": "Oh-deel"})
    scene.insert_lines(0, [scene.new_line("ODILE", "[sighs] Odile is here."),
                           scene.new_line("BEN", "Hello.")])
    scene.lines[1].extra["mood"] = {"x": 1}
    scene.set_voice("BEN", "Grandpa")
    copy = scene.snapshot()
    assert set(vars(copy)) == set(vars(Scene()))
    assert sceneio.scene_to_data(copy) == sceneio.scene_to_data(scene)
    assert copy.spoken(copy.lines[0]) == scene.spoken(scene.lines[0])
    assert copy.line_by_id(scene.lines[1].id) is copy.lines[1]
    copy.lines[0].text = "changed"
    copy.lines[1].extra["other"] = 2
    copy.set_voice("BEN", "Rachel")
    copy.insert_lines(2, [copy.new_line("ODILE", "More.")])
    assert scene.lines[0].text == "[sighs] Odile is here."
    assert "other" not in scene.lines[1].extra
    assert scene.voice_of("BEN") == "Grandpa" and len(scene) == 2
    assert copy.lines[2].id not in {ln.id for ln in scene.lines[:2]}
