"""Every edit is one undoable step: small QUndoCommands over the plain scene.

Commands name lines by id, not row, so undo and redo stay right after reorders.
Typing in one cell merges into one step.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QUndoCommand

from editor.core.scene import CastMember, Line, Scene
from editor.engine.takes import TakeStore

TEXT_MERGE_ID = 1001
FIELD_LABELS = {"speaker": "speaker", "text": "line", "stability": "stability",
                "language_code": "language", "pause_after_ms": "pause", "locked": "lock"}


class SetFieldCommand(QUndoCommand):
    def __init__(self, scene: Scene, rows: list[int], field: str, values: list[Any],
                 label: str | None = None) -> None:
        n = len(rows)
        what = FIELD_LABELS.get(field, field)
        super().__init__(label or (f"Edit {what}" if n == 1 else f"Set {what} of {n} lines"))
        self.scene = scene
        self.ids = [scene.lines[r].id for r in rows]  # paired with values, in the order given
        self.field = field
        self.new = list(values)
        self.old = [getattr(scene.lines[r], field) for r in rows]
        self._cast_before: dict[str, CastMember] | None = None

    def _rows(self) -> list[int]:
        return [self.scene.row_of(i) for i in self.ids]

    def redo(self) -> None:
        if self.field == "speaker":
            self._cast_before = dict(self.scene.cast)
        self.scene.set_fields(self._rows(), self.field, self.new)

    def undo(self) -> None:
        self.scene.set_fields(self._rows(), self.field, self.old)
        if self._cast_before is not None:
            self.scene.set_cast(self._cast_before)

    def id(self) -> int:
        return TEXT_MERGE_ID if self.field == "text" and len(self.ids) == 1 else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetFieldCommand) or other.ids != self.ids or \
                other.field != "text" or self.field != "text":
            return False
        self.new = other.new
        return True


class InsertLinesCommand(QUndoCommand):
    def __init__(self, scene: Scene, row: int, lines: list[Line], label: str = "Insert line") -> None:
        super().__init__(label)
        self.scene, self.row, self.lines = scene, row, lines
        self._cast_before = dict(scene.cast)

    def redo(self) -> None:
        self.scene.insert_lines(self.row, self.lines)

    def undo(self) -> None:
        self.scene.delete_lines([self.scene.row_of(ln.id) for ln in self.lines])
        self.scene.set_cast(self._cast_before)


class DeleteLinesCommand(QUndoCommand):
    def __init__(self, scene: Scene, rows: list[int]) -> None:
        n = len(set(rows))
        super().__init__("Delete line" if n == 1 else f"Delete {n} lines")
        self.scene = scene
        self.ids = [scene.lines[r].id for r in sorted(set(rows))]
        self.removed: list[tuple[int, Line]] = []

    def redo(self) -> None:
        self.removed = self.scene.delete_lines([self.scene.row_of(i) for i in self.ids])

    def undo(self) -> None:
        self.scene.restore_lines(self.removed)


class MoveLinesCommand(QUndoCommand):
    """Moves lines with :meth:`Scene.move_lines`; obsolete (dropped from the stack) when the
    move changes nothing."""

    def __init__(self, scene: Scene, rows: list[int], dest: int, label: str) -> None:
        super().__init__(label)
        self.scene = scene
        self.rows, self.dest = sorted(set(rows)), dest
        self.before = [ln.id for ln in scene.lines]
        self.after: list[str] | None = None

    def _apply(self, ids: list[str]) -> None:
        self.scene.reorder([self.scene.row_of(i) for i in ids])

    def redo(self) -> None:
        if self.after is None:
            self.scene.move_lines(self.rows, self.dest)
            self.after = [ln.id for ln in self.scene.lines]
            self.setObsolete(self.after == self.before)
        else:
            self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)


class DuplicateLinesCommand(QUndoCommand):
    """Copies of lines after the last of them, made by :meth:`Scene.duplicate_lines` (which
    keeps every field: pause, extra keys)."""

    def __init__(self, scene: Scene, rows: list[int]) -> None:
        n = len(set(rows))
        super().__init__("Duplicate line" if n == 1 else f"Duplicate {n} lines")
        self.scene = scene
        self.ids = [scene.lines[r].id for r in sorted(set(rows))]
        self.copies: list[Line] = []
        self.at = 0
        self._cast_before = dict(scene.cast)

    def redo(self) -> None:
        if not self.copies:
            self.at, count = self.scene.duplicate_lines([self.scene.row_of(i) for i in self.ids])
            self.copies = self.scene.lines[self.at:self.at + count]
        else:
            self.scene.insert_lines(self.scene.row_of(self.ids[-1]) + 1, self.copies)

    def undo(self) -> None:
        self.scene.delete_lines([self.scene.row_of(ln.id) for ln in self.copies])
        self.scene.set_cast(self._cast_before)


class SplitLineCommand(QUndoCommand):
    def __init__(self, scene: Scene, row: int, position: int) -> None:
        super().__init__("Split line")
        self.scene = scene
        self.line_id = scene.lines[row].id
        self.position = position
        self.original = scene.lines[row].text
        self.new_line: Line | None = None

    def redo(self) -> None:
        row = self.scene.row_of(self.line_id)
        if self.new_line is None:
            self.new_line = self.scene.split_line(row, self.position)
        else:
            head = self.original[:self.position].rstrip()
            self.scene.set_field([row], "text", head)
            self.scene.insert_lines(row + 1, [self.new_line])

    def undo(self) -> None:
        assert self.new_line is not None
        self.scene.delete_lines([self.scene.row_of(self.new_line.id)])
        self.scene.set_field([self.scene.row_of(self.line_id)], "text", self.original)


class MergeLinesCommand(QUndoCommand):
    def __init__(self, scene: Scene, row: int) -> None:
        super().__init__("Merge with next line")
        self.scene = scene
        self.first = scene.lines[row].id
        self.old_text = ""
        self.removed: Line | None = None

    def redo(self) -> None:
        self.old_text, self.removed = self.scene.merge_with_next(self.scene.row_of(self.first))

    def undo(self) -> None:
        assert self.removed is not None
        row = self.scene.row_of(self.first)
        self.scene.set_field([row], "text", self.old_text)
        self.scene.insert_lines(row + 1, [self.removed])


class CastCommand(QUndoCommand):
    """Rename a speaker everywhere, change a voice, add or remove a member."""

    def __init__(self, scene: Scene, label: str, action: str, *args: str) -> None:
        super().__init__(label)
        self.scene, self.action, self.args = scene, action, args
        self.cast_before = {k: copy.copy(v) for k, v in scene.cast.items()}
        self.speakers_before: dict[str, str] = {}

    def redo(self) -> None:
        if self.action == "rename":
            old, new = self.args
            self.speakers_before = {ln.id: ln.speaker for ln in self.scene.lines
                                    if ln.speaker == old}
            self.scene.rename_speaker(old, new)
        elif self.action == "voice":
            self.scene.set_voice(*self.args)
        elif self.action == "add":
            self.scene.add_cast(*self.args)
        elif self.action == "remove":
            self.scene.remove_cast(*self.args)

    def undo(self) -> None:
        self.scene.set_cast({k: copy.copy(v) for k, v in self.cast_before.items()})
        if self.speakers_before:
            ids = list(self.speakers_before)
            self.scene.set_fields([self.scene.row_of(i) for i in ids], "speaker",
                                  [self.speakers_before[i] for i in ids])


class SceneSettingCommand(QUndoCommand):
    def __init__(self, scene: Scene, name: str, value: Any, label: str) -> None:
        super().__init__(label)
        self.scene, self.name, self.value = scene, name, value
        self.old = getattr(scene, name)

    def redo(self) -> None:
        self.scene.set_setting(self.name, self.value)

    def undo(self) -> None:
        self.scene.set_setting(self.name, self.old)


class PronunciationsCommand(QUndoCommand):
    def __init__(self, scene: Scene, table: dict[str, str]) -> None:
        super().__init__("Edit pronunciations")
        self.scene = scene
        self.new = dict(table)
        self.old = dict(scene.pronunciations)

    def redo(self) -> None:
        self.scene.set_pronunciations(self.new)

    def undo(self) -> None:
        self.scene.set_pronunciations(self.old)


class ChooseTakeCommand(QUndoCommand):
    """Choose the take a line speaks with (undoable; the choice is kept with the takes)."""

    def __init__(self, store: TakeStore, line_ids: list[str], take_id: str | None,
                 changed: Callable[[list[str]], None], label: str = "Choose take") -> None:
        super().__init__(label)
        self.store = store
        self.line_ids = list(line_ids)
        self.take_id = take_id
        self.old = [store.active_id(i) for i in line_ids]
        self.changed = changed

    def redo(self) -> None:
        self.store.set_active_many(self.line_ids, self.take_id)
        self.changed(self.line_ids)

    def undo(self) -> None:
        for line_id, old in zip(self.line_ids, self.old, strict=True):
            self.store.set_active(line_id, old)
        self.changed(self.line_ids)


class DeleteTakeCommand(QUndoCommand):
    """Delete a take; undo restores it (its audio stays until the scene is next opened)."""

    def __init__(self, store: TakeStore, take_id: str, changed: Callable[[list[str]], None]
                 ) -> None:
        super().__init__("Delete take")
        self.store = store
        self.take_id = take_id
        take = store.get(take_id)
        self.line_ids = take.line_ids if take else []
        self.changed = changed

    def redo(self) -> None:
        self.store.delete(self.take_id)
        self.changed(self.line_ids)

    def undo(self) -> None:
        self.store.restore(self.take_id)
        self.changed(self.line_ids)
