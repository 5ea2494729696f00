"""The scene table and the edits made in it: each edit is one undo command on the document.

:class:`SceneEditor` holds the view (and the empty-scene hint), knows the selection, and
turns the writer's edit actions into commands. It never reaches for other rooms: what they
need (a click on the ▶ column, a message for the status bar) leaves as a signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAccessible, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMenu,
    QStackedWidget,
    QStyle,
    QStyleOptionHeader,
    QTableView,
    QWidget,
)

from editor.ui.prompter import AnyPrompter
from editor.ui.scene import commands as cmd
from editor.ui.scene.delegates import (
    ChoiceDelegate,
    LineDelegate,
    NumberDelegate,
    PauseDelegate,
    SpeakerDelegate,
    language_choices,
    stability_choices,
)
from editor.ui.scene.document import SceneDocument
from editor.ui.scene.model import (
    COL_CREDITS,
    COL_LANGUAGE,
    COL_LENGTH,
    COL_NUMBER,
    COL_PAUSE,
    COL_SPEAKER,
    COL_STABILITY,
    COL_STATUS,
    COL_TEXT,
    HEADERS,
)

ROWS_AHEAD = 30  # rows below the screen measured with it, so a scroll finds them ready


def column_widths(view: QTableView) -> tuple[dict[int, int], dict[int, int]]:
    """(first-start widths, smallest widths) of the columns, from the view's font: the #
    column holds the play button and five digits ("10000"), Length "12.3 s" or "1234 ch"."""
    fm = view.fontMetrics()
    icon = view.iconSize().width() if view.iconSize().width() > 0 else 16
    pad = 2 * (view.style().pixelMetric(view.style().PixelMetric.PM_FocusFrameHMargin) + 1) + 10

    def w(text: str, extra: int = 0) -> int:
        return fm.horizontalAdvance(text) + pad + extra

    number = w("10000", icon + 6)
    first = {COL_NUMBER: number, COL_SPEAKER: max(96, w("CAPTAIN ODILE")),
             COL_STABILITY: max(108, w("Scene (Natural)")), COL_LANGUAGE: max(104, w("Scene (Auto)")),
             COL_PAUSE: max(64, w("1500 ms")), COL_STATUS: max(132, w("Ready · take 2/3")),
             COL_LENGTH: max(56, w("1234 ch")), COL_CREDITS: max(60, w("≈12.34"))}
    smallest = {COL_NUMBER: number, COL_SPEAKER: w("MARA"), COL_STABILITY: w("Natural"),
                COL_LANGUAGE: w("English"), COL_PAUSE: w("300 ms"), COL_STATUS: w("Ready", 20),
                COL_LENGTH: w("12.3 s"), COL_CREDITS: w("≈1.23"), COL_TEXT: w("A line of text")}
    return first, smallest


class SceneView(QTableView):
    """The table: Space plays, Esc stops, Delete removes, Enter edits the line."""

    context_menu_requested = Signal(object)  # QPoint, global

    def keyPressEvent(self, e: Any) -> None:
        editing = self.state() == QAbstractItemView.State.EditingState
        if not editing and e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not e.modifiers():
            index = self.currentIndex()
            if index.isValid():
                self.edit(self.model().index(index.row(), COL_TEXT))
                return
        super().keyPressEvent(e)

    def contextMenuEvent(self, e: Any) -> None:
        self.context_menu_requested.emit(e.globalPos())

    def rows_on_screen(self) -> tuple[int, int]:
        """(first, last) rows in the viewport; the last row when the table ends above its
        bottom edge."""
        model = self.model()
        last = self.rowAt(self.viewport().height() - 1)
        if last < 0:
            last = (model.rowCount() if model is not None else 0) - 1
        return max(0, self.rowAt(0)), last

    def dataChanged(self, top_left: QModelIndex | QPersistentModelIndex,
                    bottom_right: QModelIndex | QPersistentModelIndex,
                    roles: Sequence[int] = ()) -> None:
        """Repaint only the changed rows that are on screen. Qt repaints the whole viewport
        for a change over many rows, even rows scrolled far away: during a render every flush
        of progress (several a second, over thousands of lines) repainted the whole table, a
        large part of the window's time. An open editor or an accessibility client gets
        Qt's own handling."""
        model = self.model()
        if model is None or top_left == bottom_right or QAccessible.isActive() \
                or self.state() == QAbstractItemView.State.EditingState:
            super().dataChanged(top_left, bottom_right, list(roles))
            return
        first, last = self.rows_on_screen()
        lo, hi = max(top_left.row(), first), min(bottom_right.row(), last)
        if lo > hi:
            return  # nothing on screen changed; rows scrolled to later are painted afresh
        y0 = self.rowViewportPosition(lo)
        y1 = self.rowViewportPosition(hi) + self.rowHeight(hi)
        self.viewport().update(QRect(0, y0, self.viewport().width(), y1 - y0))


class SceneHeader(QHeaderView):
    """The column headers, painted without asking the selection about each column.

    Qt's header asks, for every section it paints, whether its whole column is selected
    (to shade neighbours of a selected section), which reads the model's flags for every
    cell of the column until one is not selected: with an episode selected (Select All),
    27,000 calls into Python and ~0.2 s frozen on each repaint after the selection changed.
    A row-selecting table never selects a column alone, so nothing is lost."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setHighlightSections(False)
        self.setSectionsClickable(False)

    def paintSection(self, painter: QPainter, rect: QRect, logical: int) -> None:
        if not rect.isValid():
            return
        option = QStyleOptionHeader()
        option.initFrom(self)
        option.rect = rect
        option.section = logical
        model = self.model()
        text = model.headerData(logical, Qt.Orientation.Horizontal,
                                Qt.ItemDataRole.DisplayRole) if model is not None else None
        option.text = "" if text is None else str(text)
        option.textAlignment = self.defaultAlignment()
        option.orientation = Qt.Orientation.Horizontal
        option.state |= QStyle.StateFlag.State_Raised
        if self.isEnabled():
            option.state |= QStyle.StateFlag.State_Enabled
        visual, count = self.visualIndex(logical), self.count()
        option.position = (
            QStyleOptionHeader.SectionPosition.OnlyOneSection if count == 1 else
            QStyleOptionHeader.SectionPosition.Beginning if visual == 0 else
            QStyleOptionHeader.SectionPosition.End if visual == count - 1 else
            QStyleOptionHeader.SectionPosition.Middle)
        option.selectedPosition = QStyleOptionHeader.SelectedPosition.NotAdjacent
        self.style().drawControl(QStyle.ControlElement.CE_Header, option, painter, self)


class SceneEditor(QObject):
    number_clicked = Signal(int)  # row: the ▶ column
    current_changed = Signal()
    selection_changed = Signal()
    message = Signal(str, int)

    def __init__(self, document: SceneDocument, prompter: AnyPrompter,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.prompter = prompter
        self.context_menu: QMenu | None = None  # the window fills it from the action table
        view = self.view = SceneView()
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed
                             | QAbstractItemView.EditTrigger.AnyKeyPressed)
        view.setWordWrap(True)
        view.setAlternatingRowColors(True)
        view.setDragEnabled(True)
        view.setAcceptDrops(True)
        view.setDropIndicatorShown(True)
        view.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        view.setDefaultDropAction(Qt.DropAction.MoveAction)
        view.setTabKeyNavigation(True)
        view.verticalHeader().hide()
        view.setHorizontalHeader(SceneHeader(view))
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        view.clicked.connect(self._on_view_clicked)
        view.context_menu_requested.connect(self._on_view_context_menu_requested)
        self.line_delegate = LineDelegate(view)
        view.setItemDelegateForColumn(COL_NUMBER, NumberDelegate(view))
        view.setItemDelegateForColumn(COL_TEXT, self.line_delegate)
        view.setItemDelegateForColumn(COL_SPEAKER, SpeakerDelegate(lambda: self.scene, view))
        view.setItemDelegateForColumn(COL_STABILITY, ChoiceDelegate(stability_choices(), view,
                                                                 tips=True))
        view.setItemDelegateForColumn(COL_LANGUAGE, ChoiceDelegate(language_choices(), view))
        view.setItemDelegateForColumn(COL_PAUSE, PauseDelegate(view))
        self.empty_hint = QLabel(
            "<h2>An empty scene</h2><p>Press <b>Ctrl+Return</b> to add a line, "
            "<b>Ctrl+I</b> to import a Fountain, text or CSV script, or <b>Ctrl+O</b> to open a "
            "scene.</p>")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setEnabled(False)
        self.stack = QStackedWidget()
        self.stack.addWidget(view)
        self.stack.addWidget(self.empty_hint)
        self._rows_timer = QTimer(self, singleShot=True, interval=50)
        self._rows_timer.timeout.connect(self.resize_rows)
        self._measured: dict[str, tuple[str, int, str]] = {}  # line id -> what its height fits
        self._size_timer = QTimer(self, singleShot=True, interval=0)
        self._size_timer.timeout.connect(self._size_visible_rows)
        view.verticalScrollBar().valueChanged.connect(lambda *_: self._size_timer.start())
        view.verticalScrollBar().rangeChanged.connect(lambda *_: self._size_timer.start())
        view.horizontalHeader().sectionResized.connect(lambda *_: self._rows_timer.start())
        view.horizontalHeader().sectionResized.connect(self._on_section_resized)
        self._widths: dict[int, int] = {}
        self.min_widths: dict[int, int] = {}
        document.replaced.connect(self._on_document_replaced)
        document.changed.connect(self._on_document_changed)
        self._on_document_replaced()

    @property
    def scene(self) -> Any:
        return self.document.scene

    @property
    def model(self) -> Any:
        return self.document.model

    def _on_document_replaced(self) -> None:
        model = self.document.model
        view = self.view
        model.rows_dropped.connect(self._on_model_rows_dropped)
        if view.model() is not None:  # a new scene keeps the widths the writer gave the columns
            self._widths = {c: view.columnWidth(c) for c in range(len(HEADERS)) if c != COL_TEXT}
        kept = self._widths
        view.setModel(model)
        view.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit())
        view.selectionModel().currentRowChanged.connect(lambda *_: self.current_changed.emit())
        header = view.horizontalHeader()
        header.setSectionResizeMode(COL_TEXT, QHeaderView.ResizeMode.Stretch)
        first, self.min_widths = column_widths(view)
        header.setMinimumSectionSize(min(self.min_widths.values()))
        for col, width in first.items():
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            view.setColumnWidth(col, max(kept.get(col, width), self.min_widths[col]))
        self._forget_heights()
        model.rowsInserted.connect(self._on_model_rows_inserted)
        for moved in (model.layoutChanged, model.modelReset, model.rowsMoved):
            moved.connect(self._forget_heights)
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset):
            signal.connect(lambda *_: self._on_document_changed())  # at once: editing follows
        model.dataChanged.connect(self._on_model_data_changed)
        self._on_document_changed()
        if self.scene.lines:
            view.setCurrentIndex(model.index(0, COL_TEXT))
        self.current_changed.emit()

    def _on_section_resized(self, col: int, _old: int, new: int) -> None:
        """No column narrower than what it shows (the Cast panel's lesson: a 20 px column)."""
        smallest = self.min_widths.get(col, 0)
        if 0 < new < smallest and col != COL_TEXT:
            self.view.setColumnWidth(col, smallest)

    def column_state(self) -> dict[str, int]:
        """The columns' widths by header, for the window's saved layout."""
        return {HEADERS[c]: self.view.columnWidth(c) for c in range(len(HEADERS)) if c != COL_TEXT}

    def restore_column_state(self, widths: dict[str, Any]) -> None:
        for c, name in enumerate(HEADERS):
            if c != COL_TEXT and name in widths:
                try:
                    width = int(widths[name])
                except (TypeError, ValueError):
                    continue
                self.view.setColumnWidth(c, max(width, self.min_widths.get(c, 0)))

    def _on_document_changed(self) -> None:
        self.stack.setCurrentIndex(0 if self.scene.lines else 1)

    # --- row heights: measured as rows come on screen -------------------------------------------

    def resize_rows(self) -> None:
        """The rows on screen (and a margin below) get the height their line needs, soon.

        Rows are measured as they come on screen, never all at once: Qt's
        resizeRowsToContents measured every cell of every row (2.5 ms a row: a 500-line
        scene froze the window for 1.3 s as it opened, and longer scenes were not sized at
        all). A row's height follows its line's text alone, wrapped in the Line column."""
        self._size_timer.start()

    def _on_model_rows_inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        """New rows start at the default height: lines coming back (an undone delete) are
        measured again."""
        lines = self.scene.lines
        for row in range(first, min(last, len(lines) - 1) + 1):
            self._measured.pop(lines[row].id, None)
        self.resize_rows()

    def _forget_heights(self, *_args: object) -> None:
        """Rows reordered or replaced: the header's sizes no longer belong to their lines."""
        self._measured.clear()
        self._size_timer.start()

    def _size_visible_rows(self) -> None:
        view = self.view
        model = view.model()
        n = model.rowCount() if model is not None else 0
        if not n:
            return
        first, last = view.rows_on_screen()
        for row in range(first, min(n - 1, last + ROWS_AHEAD) + 1):
            self._size_row(row)

    def _size_row(self, row: int) -> None:
        view = self.view
        lines = self.scene.lines
        if not 0 <= row < len(lines):
            return
        line = lines[row]
        width = view.columnWidth(COL_TEXT)
        font = view.font()
        key = (line.text, width, font.key())
        if self._measured.get(line.id) == key:
            return
        self._measured[line.id] = key
        height = self.line_delegate.row_height(font, line.text, width)
        header = view.verticalHeader()
        if header.sectionSize(row) != height:
            header.resizeSection(row, height)

    def _on_model_data_changed(self, top: QModelIndex, bottom: QModelIndex, roles: Any = ()) -> None:
        if top.row() == bottom.row():
            self._size_row(top.row())  # typing: the row grows as the line does

    def _on_view_clicked(self, index: QModelIndex) -> None:
        if index.column() == COL_NUMBER:
            self.view.setCurrentIndex(index)
            self.number_clicked.emit(index.row())

    def _on_view_context_menu_requested(self, pos: Any) -> None:
        if self.context_menu is not None:
            self.context_menu.popup(pos)

    # --- the selection -----------------------------------------------------------------------

    def selected_rows(self) -> list[int]:
        sm = self.view.selectionModel()
        if sm is None:
            return []
        # From the selection's ranges: selectedIndexes() made an index of every selected cell
        # and asked the model for each one's flags (27,000 Python calls, ~0.3 s, with an
        # episode selected), and a selection is read after every change of it.
        chosen: set[int] = set()
        for part in sm.selection():
            chosen.update(range(part.top(), part.bottom() + 1))
        rows = sorted(chosen)
        if not rows and self.view.currentIndex().isValid():
            rows = [self.view.currentIndex().row()]
        return rows

    def current_row(self) -> int | None:
        index = self.view.currentIndex()
        return index.row() if index.isValid() else None

    def select_rows(self, rows: list[int], column: int = COL_TEXT) -> None:
        if not rows:
            return
        sm = self.view.selectionModel()
        # One selection of contiguous ranges, applied once: selecting thousands of rows one by
        # one re-merged the selection (and told every listener) each time.
        selection = QItemSelection()
        ordered = sorted(set(rows))
        start = prev = ordered[0]
        for r in [*ordered[1:], None]:
            if r is not None and r == prev + 1:
                prev = r
                continue
            selection.select(self.model.index(start, 0), self.model.index(prev, 0))
            if r is not None:
                start = prev = r
        flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
                 | QItemSelectionModel.SelectionFlag.Rows)
        sm.select(selection, flags)
        sm.setCurrentIndex(self.model.index(rows[0], column), QItemSelectionModel.SelectionFlag.NoUpdate)
        self.view.scrollTo(self.model.index(rows[0], column))

    def scroll_to_line(self, line_id: str) -> None:
        if self.document.has(line_id):
            self.view.scrollTo(self.model.index(self.scene.row_of(line_id), COL_TEXT))

    def open_line_editor(self) -> Any:
        """The line editor open in the table (None when no line is being edited)."""
        editor = self.view.indexWidget(self.view.currentIndex())
        if editor is None:
            editor = self.view.focusWidget()
        return editor if hasattr(editor, "textCursor") else None

    # --- edits: each is one undo command ----------------------------------------------------------

    def _push(self, command: Any) -> None:
        self.document.undo.push(command)

    def commit_cell(self, row: int, field: str, value: Any) -> None:
        self.document.commit_cell(row, field, value)

    def _new_line_speaker(self, row: int | None) -> str:
        if row is None or not self.scene.lines:
            return next(iter(self.scene.cast), "SPEAKER")
        current = self.scene.lines[row].speaker
        before = self.scene.lines[row - 1].speaker if row > 0 else None
        if before and before != current:
            return before  # dialogue alternates: the next line is the other speaker's
        others = [n for n in self.scene.cast if n != current]
        return others[0] if others else current

    def insert_below(self) -> None:
        row = self.current_row()
        at = len(self.scene) if row is None else row + 1
        self._insert_at(at, self._new_line_speaker(row))

    def insert_above(self) -> None:
        row = self.current_row()
        at = 0 if row is None else row
        self._insert_at(at, self._new_line_speaker(row) if row is not None else "SPEAKER")

    def _insert_at(self, at: int, speaker: str) -> None:
        line = self.scene.new_line(speaker, "")
        self._push(cmd.InsertLinesCommand(self.scene, at, [line]))
        self.select_rows([at])
        self.view.edit(self.model.index(at, COL_TEXT))

    def delete_rows(self) -> None:
        rows = self.selected_rows()
        if rows:
            self._push(cmd.DeleteLinesCommand(self.scene, rows))
            if self.scene.lines:
                self.select_rows([min(rows[0], len(self.scene) - 1)])

    def duplicate_rows(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        command = cmd.DuplicateLinesCommand(self.scene, rows)
        self._push(command)
        self.select_rows(list(range(command.at, command.at + len(command.copies))))

    def move_rows(self, step: int) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        if (step < 0 and rows[0] == 0) or (step > 0 and rows[-1] == len(self.scene) - 1):
            return
        dest = rows[0] - 1 if step < 0 else rows[-1] + 2
        self.move(rows, dest, "Move up" if step < 0 else "Move down")

    def move(self, rows: list[int], dest: int, label: str) -> None:
        ids = [self.scene.lines[r].id for r in rows]
        self._push(cmd.MoveLinesCommand(self.scene, rows, dest, label))
        self.select_rows(sorted(self.scene.row_of(i) for i in ids), self.view.currentIndex().column()
                         if self.view.currentIndex().isValid() else COL_TEXT)

    def _on_model_rows_dropped(self, rows: list[int], dest: int) -> None:
        QTimer.singleShot(0, lambda: self.move(rows, dest, "Move lines"))

    def split_line(self) -> None:
        row = self.current_row()
        if row is not None and self.scene.lines[row].locked:
            self.message.emit(f"Line {row + 1} is locked (Ctrl+L unlocks).", 5000)
            return
        editor = self.open_line_editor()
        if row is None or editor is None:
            self.message.emit("Edit a line (Enter) and put the cursor where it should be split, "
                              "then press Ctrl+K.", 6000)
            return
        position = editor.textCursor().position()
        text = editor.toPlainText()
        self.line_delegate.closeEditor.emit(editor)
        if text != self.scene.lines[row].text:
            self.commit_cell(row, "text", text)
        if not 0 < position < len(self.scene.lines[row].text):
            self.message.emit("Put the cursor inside the text to split the line.", 5000)
            return
        self._push(cmd.SplitLineCommand(self.scene, row, position))
        self.select_rows([row + 1])

    def merge_line(self) -> None:
        row = self.current_row()
        if row is None or row + 1 >= len(self.scene):
            self.message.emit("The last line has no next line to merge with.", 5000)
            return
        locked = [r + 1 for r in (row, row + 1) if self.scene.lines[r].locked]
        if locked:
            self.message.emit(f"Line {' and '.join(map(str, locked))} "
                              f"{'is' if len(locked) == 1 else 'are'} locked: nothing merged "
                              "(Ctrl+L unlocks).", 6000)
            return
        self._push(cmd.MergeLinesCommand(self.scene, row))
        self.select_rows([row])

    def _unlocked(self, rows: list[int]) -> list[int]:
        """``rows`` less the locked ones, saying so: a locked line is final, and a command
        over a selection (a speaker, a stability, a language) must not change it behind the
        writer's back (its chosen take would no longer speak it)."""
        lines = self.scene.lines
        free = [r for r in rows if not lines[r].locked]
        kept = len(rows) - len(free)
        if kept and not free:
            self.message.emit(f"{'The line is' if kept == 1 else f'All {kept} lines are'} "
                              "locked: nothing changed (Ctrl+L unlocks).", 6000)
        elif kept:
            self.message.emit(f"{kept} locked line{'s' if kept != 1 else ''} left as "
                              f"{'they are' if kept != 1 else 'it is'} (Ctrl+L unlocks).", 6000)
        return free

    def set_selection(self, field: str, value: Any) -> None:
        rows = self.selected_rows()
        if field != "locked":
            rows = self._unlocked(rows)
        if rows:
            self._push(cmd.SetFieldCommand(self.scene, rows, field, [value] * len(rows)))

    def set_speaker_dialog(self) -> None:
        rows = self.selected_rows()
        if not rows or not any(not self.scene.lines[r].locked for r in rows):
            self._unlocked(rows)
            return
        name = self.prompter.item_now("Set speaker", f"Speaker of {len(rows)} line(s):",
                                      list(self.scene.cast), editable=True)
        if name and name.strip():
            self.set_selection("speaker", name.strip())

    def set_language_dialog(self) -> None:
        rows = self.selected_rows()
        if not rows or not any(not self.scene.lines[r].locked for r in rows):
            self._unlocked(rows)
            return
        choices = language_choices()
        label = self.prompter.item_now("Set language", f"Language of {len(rows)} line(s):",
                                       [c[0] for c in choices])
        if label is not None:
            self.set_selection("language_code", dict(choices)[label])

    def set_locked(self, locked: bool) -> None:
        """Lock or unlock the current line (the Takes panel's box)."""
        row = self.current_row()
        if row is not None:
            self._push(cmd.SetFieldCommand(self.scene, [row], "locked", [locked],
                                           "Lock line" if locked else "Unlock line"))

    def toggle_lock(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        lock = not all(self.scene.lines[r].locked for r in rows)
        label = ("Lock" if lock else "Unlock") + (" line" if len(rows) == 1 else f" {len(rows)} lines")
        self._push(cmd.SetFieldCommand(self.scene, rows, "locked", [lock] * len(rows), label))

    def insert_tag(self, tag: str) -> None:
        """Put ``[tag]`` at the cursor of the line being edited (opening it at the end if none)."""
        editor = self.open_line_editor()
        if editor is None:
            row = self.current_row()
            if row is None:
                return
            self.view.setCurrentIndex(self.model.index(row, COL_TEXT))
            self.view.edit(self.model.index(row, COL_TEXT))
            editor = self.open_line_editor()
            if editor is None:
                return
            editor.moveCursor(editor.textCursor().MoveOperation.End)
        cursor = editor.textCursor()
        before = editor.toPlainText()[:cursor.position()]
        space = "" if not before or before.endswith(" ") else " "
        cursor.insertText(f"{space}[{tag}] ")
        editor.setTextCursor(cursor)

    def rename_speaker(self, old: str, new: str) -> None:
        verb = "Merge" if new in self.scene.cast else "Rename"
        self._push(cmd.CastCommand(self.scene, f"{verb} {old} → {new}", "rename", old, new))

    def set_voice(self, speaker: str, voice: str) -> None:
        if speaker in self.scene.cast and self.scene.voice_of(speaker) != voice:
            self._push(cmd.CastCommand(self.scene, f"Voice of {speaker}", "voice", speaker, voice))

    def scene_settings_dialog(self) -> None:
        from editor.ui.scene.dialog import SceneSettingsDialog

        dialog = SceneSettingsDialog(self.scene, int(self.document.settings.get("render/gap_ms")),
                                     self.view.window())
        dialog.accepted.connect(lambda: self.document.apply_scene_settings(dialog.changes()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
