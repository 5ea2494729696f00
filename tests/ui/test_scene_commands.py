"""The scene room's undo commands over a plain scene, without a window: each edit is the
scene's own method (no re-implementation to drift), one undo step, undone exactly."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QUndoStack

from editor.core.scene import Scene
from editor.ui.scene import commands as cmd


def _scene() -> Scene:
    scene = Scene()
    scene.insert_lines(0, [scene.new_line("MARA", "One."), scene.new_line("JONAS", "Two."),
                           scene.new_line("MARA", "Three.")])
    return scene


def test_duplicating_keeps_the_pause_and_the_unknown_keys(qapp: Any) -> None:
    scene, stack = _scene(), QUndoStack()
    scene.set_field([1], "pause_after_ms", 750)
    scene.lines[1].extra["director"] = {"note": "slower"}  # a key a newer Castline wrote
    source = scene.lines[1]
    stack.push(cmd.DuplicateLinesCommand(scene, [1]))
    copy = scene.lines[2]
    assert [ln.text for ln in scene.lines] == ["One.", "Two.", "Two.", "Three."]
    assert copy.id != source.id
    assert copy.pause_after_ms == 750
    assert copy.extra == {"director": {"note": "slower"}}
    assert copy.extra is not source.extra and copy.extra["director"] is not source.extra["director"]
    assert (copy.stability, copy.language_code, copy.speaker) == (
        source.stability, source.language_code, source.speaker)
    assert stack.undoText() == "Duplicate line"
    stack.undo()
    assert [ln.text for ln in scene.lines] == ["One.", "Two.", "Three."]
    stack.redo()
    assert scene.lines[2] is copy  # the same line comes back: its takes still name its id


def test_moving_uses_the_scene_and_a_no_op_move_leaves_no_undo_step(qapp: Any) -> None:
    scene, stack = _scene(), QUndoStack()
    ids = [ln.id for ln in scene.lines]
    stack.push(cmd.MoveLinesCommand(scene, [2], 0, "Move up"))
    assert [ln.id for ln in scene.lines] == [ids[2], ids[0], ids[1]]
    assert stack.count() == 1
    stack.push(cmd.MoveLinesCommand(scene, [0], 0, "Move up"))  # already first
    assert stack.count() == 1 and [ln.id for ln in scene.lines] == [ids[2], ids[0], ids[1]]
    stack.undo()
    assert [ln.id for ln in scene.lines] == ids
    stack.redo()
    assert [ln.id for ln in scene.lines] == [ids[2], ids[0], ids[1]]
