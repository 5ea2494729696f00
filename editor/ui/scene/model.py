"""The scene table: one QAbstractTableModel over the plain scene. It only translates.

Edits go through ``commit`` (the window pushes an undo command); the model follows
the scene's change events with the right begin/end calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QFont, QPalette
from PySide6.QtWidgets import QApplication

from editor.core.catalog import detent_name, detents, language_names
from editor.core.pricing import CostTracker, credits_decimal
from editor.core.scene import (
    CastChanged,
    Event,
    LinesChanged,
    LinesInserted,
    LinesRemoved,
    LinesReordered,
    Phase,
    Scene,
    SceneChanged,
)
from editor.engine.status import LineState, StatusBook
from editor.ui.icons import icon

COL_NUMBER, COL_SPEAKER, COL_TEXT, COL_STABILITY, COL_LANGUAGE, COL_PAUSE, COL_STATUS, \
    COL_LENGTH, COL_CREDITS = range(9)
HEADERS = ("#", "Speaker", "Line", "Stability", "Language", "Pause", "Status", "Length",
           "Credits")
FIELD_OF = {COL_SPEAKER: "speaker", COL_TEXT: "text", COL_STABILITY: "stability",
            COL_LANGUAGE: "language_code", COL_PAUSE: "pause_after_ms"}

LINE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
STATUS_ROLE = Qt.ItemDataRole.UserRole + 2
VALUE_ROLE = Qt.ItemDataRole.UserRole + 3  # the raw field value (None = scene default)
PLAYING_ROLE = Qt.ItemDataRole.UserRole + 4
MIME = "application/x-castline-rows"

STATUS_TEXT = {
    LineState.NOT_RENDERED: "Not rendered", LineState.CHANGED: "Changed since render",
    LineState.QUEUED: "Queued", LineState.RENDERING: "Rendering", LineState.READY: "Ready",
    LineState.FAILED: "Failed",
}
STATUS_ICON = {
    LineState.NOT_RENDERED: "status-not-rendered", LineState.CHANGED: "status-changed",
    LineState.QUEUED: "status-queued", LineState.RENDERING: "status-rendering",
    LineState.READY: "status-ready", LineState.FAILED: "status-failed",
}


_ROLE = Qt.ItemDataRole
_EDIT, _TOOLTIP = _ROLE.EditRole.value, _ROLE.ToolTipRole.value
# The roles a view asks for to paint a cell, and where each sits in a row's cached view;
# CheckStateRole is asked too and is never set: it comes back None from the same table.
_PAINT_SLOT = {_ROLE.DisplayRole.value: 1, _ROLE.DecorationRole.value: 2, _ROLE.FontRole.value: 3,
               _ROLE.TextAlignmentRole.value: 4, _ROLE.BackgroundRole.value: 5,
               _ROLE.ForegroundRole.value: 6, _ROLE.CheckStateRole.value: 7}
_NOTHING = (None,) * len(HEADERS)
_INHERITING = (COL_STABILITY, COL_LANGUAGE, COL_PAUSE)  # grey and italic: the scene's value
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)
_LEFT = int((Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter).value)
_TOP = int((Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop).value)
_ALIGNMENTS = tuple(_RIGHT if col in (COL_NUMBER, COL_LENGTH, COL_CREDITS, COL_PAUSE)
                    else _TOP if col == COL_TEXT else _LEFT for col in range(len(HEADERS)))
_BASE_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | \
    Qt.ItemFlag.ItemIsDragEnabled
_EDIT_FLAGS = _BASE_FLAGS | Qt.ItemFlag.ItemIsEditable
_DROP_FLAGS = Qt.ItemFlag.ItemIsDropEnabled


class SceneTableModel(QAbstractTableModel):
    rows_dropped = Signal(list, int)  # rows, destination row

    def __init__(self, scene: Scene, costs: CostTracker, book: StatusBook,
                 commit: Callable[[int, str, Any], None] | None = None) -> None:
        super().__init__()
        self.scene = scene
        self.costs = costs
        self.book = book
        self.commit = commit
        self.playing_id: str | None = None
        self.mode = "lines"  # how a render sends lines: the Credits column shows each line's share
        self.default_gap_ms = 300  # the app's default, for scenes without a gap of their own
        self.seconds_of: Callable[[int], float | None] = lambda _row: None  # rendered audio
        self._persistent_before: list[QPersistentModelIndex] = []
        self._views: dict[int, tuple[Any, ...]] = {}  # row -> its painted roles (see data)
        self._muted: QBrush | None = None
        self._italic: QFont | None = None
        for signal in (self.modelReset, self.layoutChanged, self.rowsInserted, self.rowsRemoved,
                       self.rowsMoved):
            signal.connect(self._forget_views)
        self.dataChanged.connect(self._forget_changed)
        scene.add_listener(self._on_scene_changed)

    def detach(self) -> None:
        self.scene.remove_listener(self._on_scene_changed)

    # --- shape -------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.scene.lines)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return {COL_NUMBER: "Click ▶ to hear the line (Space)",
                    COL_STABILITY: "How freely the voice performs the line (grey: the scene's "
                    "value):\n" + "\n".join(f"{d.name}: {d.help}" for d in detents()),
                    COL_LANGUAGE: "Grey: the scene's language",
                    COL_PAUSE: "Silence after the line; grey: the scene's gap",
                    COL_LENGTH: "Seconds of the rendered audio; characters (ch) until it is "
                    "rendered",
                    COL_CREDITS: "Estimated credits for this line: its own request, or its share "
                    "(by characters) of the dialogue request it goes in"}.get(section)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return _DROP_FLAGS
        row = index.row()
        lines = self.scene.lines
        if index.column() in FIELD_OF and not (0 <= row < len(lines) and lines[row].locked):
            return _EDIT_FLAGS  # a locked line is read-only (Ctrl+L unlocks)
        return _BASE_FLAGS

    # --- data ----------------------------------------------------------------------------

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # What the view asks for to paint a cell (seven roles per cell, 160 cells a screen)
        # comes from the row's cached view; everything else is worked out when asked.
        slot = _PAINT_SLOT.get(role)
        row = index.row()
        lines = self.scene.lines
        if not 0 <= row < len(lines):
            return None
        if slot is not None:
            view = self._views.get(row)
            if view is None or view[0] != self._stamp():
                view = self._row_view(row)
            return view[slot][index.column()]
        line = lines[row]
        col = index.column()
        if role == LINE_ID_ROLE:
            return line.id
        if role == PLAYING_ROLE:
            return line.id == self.playing_id
        if role == STATUS_ROLE:
            return self.book.status(line)
        if role == VALUE_ROLE:
            field = FIELD_OF.get(col)
            return getattr(line, field) if field else None
        if role == _EDIT:
            return self._display(row, col, True)
        if role == _TOOLTIP:
            return self._tooltip(row, col)
        return None

    # --- the rows' cached views -----------------------------------------------------------------

    def _stamp(self) -> tuple[int, int]:
        """What a cached view depends on besides the signals that drop it: the scene's revision
        (a neighbour's edit changes a dialogue line's share) and the takes' generation."""
        takes = self.book.takes
        return self.book.revision, (takes.generation if takes is not None else -1)

    def _forget_views(self, *_args: object) -> None:
        """Rows added, removed or moved: every cached row goes (a repaint works out only the
        rows on screen again, at most a few dozen)."""
        self._views.clear()

    def _forget_changed(self, top: QModelIndex, bottom: QModelIndex, *_roles: object) -> None:
        """The rows a change names lose their cached views (a neighbour's share or a take
        elsewhere is caught by the stamp)."""
        lo, hi = top.row(), bottom.row()
        if hi - lo >= len(self._views):
            self._views.clear()
            return
        for row in range(lo, hi + 1):
            self._views.pop(row, None)

    def _row_view(self, row: int) -> tuple[Any, ...]:
        """The painted roles of every cell of ``row``, worked out once until something changes."""
        if len(self._views) > 4096:  # a long scroll through an episode: keep memory flat
            self._views.clear()
        line = self.scene.lines[row]
        n = len(HEADERS)
        display = tuple(self._display(row, col, False) for col in range(n))
        inherited = (line.stability is None, line.language_code is None,
                     line.pause_after_ms is None)
        muted = self._muted_brush()
        foreground = tuple(
            muted if col in (COL_NUMBER, COL_LENGTH, COL_CREDITS)
            or (col == COL_STABILITY and inherited[0]) or (col == COL_LANGUAGE and inherited[1])
            or (col == COL_PAUSE and inherited[2]) else None for col in range(n))
        italic = self._italic_font()
        font = tuple(italic if foreground[col] is not None and col in _INHERITING else None
                     for col in range(n))
        decoration: list[Any] = [None] * n
        decoration[COL_NUMBER] = icon("stop" if line.id == self.playing_id else "play")
        decoration[COL_STATUS] = icon("lock" if line.locked
                                      else STATUS_ICON[self.book.status(line).state])
        background: tuple[Any, ...] = (None,) * n
        if line.id == self.playing_id:
            color = QApplication.palette().color(QPalette.ColorRole.Highlight)
            color.setAlpha(60)
            background = (QBrush(color),) * n
        view = (self._stamp(), display, tuple(decoration), font, _ALIGNMENTS, background,
                foreground, _NOTHING)
        self._views[row] = view
        return view

    def _muted_brush(self) -> QBrush:
        color = QApplication.palette().color(QPalette.ColorRole.PlaceholderText)
        if self._muted is None or self._muted.color() != color:
            self._muted = QBrush(color)
        return self._muted

    def _italic_font(self) -> QFont:
        if self._italic is None:
            self._italic = QFont()
            self._italic.setItalic(True)
        return self._italic

    def _display(self, row: int, col: int, edit: bool) -> Any:
        line = self.scene.lines[row]
        if col == COL_NUMBER:
            return None  # painted from the row by NumberDelegate: items keep stable data
        if col == COL_SPEAKER:
            return line.speaker
        if col == COL_TEXT:
            return line.text
        if col == COL_STABILITY:
            if line.stability is None:
                return "" if edit else f"Scene ({detent_name(self.scene.stability)})"
            return detent_name(line.stability)
        if col == COL_LANGUAGE:
            names = language_names()
            if line.language_code is None:
                code = self.scene.language_code
                scene_lang = "Auto" if code == "auto" else names.get(code, code)
                return "" if edit else f"Scene ({scene_lang})"
            return names.get(line.language_code, line.language_code)
        if col == COL_PAUSE:
            if line.pause_after_ms is None:
                return None if edit else f"{self.scene.pause_after(line, self.default_gap_ms)} ms"
            return line.pause_after_ms if edit else f"{line.pause_after_ms} ms"
        if col == COL_STATUS:
            status = self.book.status(line)
            text = STATUS_TEXT[status.state]
            if status.state is LineState.RENDERING and status.progress:
                text += f" {round(status.progress * 100)}%"
            if status.take is not None:
                count = self.book.take_count(line)
                if count > 1:
                    text += f" · take {self.book.take_number(line, status.take)}/{count}"
            if line.locked:  # the lock is the line's (the scene file's), in either mode
                text = ("locked · no audio here" if status.state is LineState.NOT_RENDERED
                        else text + " · locked")
            return text
        if col == COL_LENGTH:
            seconds = self.seconds_of(row)
            return f"{len(line.text)} ch" if seconds is None else f"{seconds:.1f} s"
        if col == COL_CREDITS:
            cost = self.costs.line_share(row, self.mode)
            return f"≈{credits_decimal(cost)}" if cost else "–"
        return None

    def _tooltip(self, row: int, col: int) -> str | None:
        line = self.scene.lines[row]
        if col == COL_STATUS:
            status = self.book.status(line)
            if status.state is LineState.FAILED:
                return status.error
            if status.state is LineState.CHANGED:
                tip = ("The text, voice, stability, language or pronunciation changed since this "
                       "line was rendered; its earlier takes are kept (Takes panel).")
            elif status.take is not None:
                count = self.book.take_count(line)
                tip = (f"Take {self.book.take_number(line, status.take)} of {count} is chosen "
                       "(Takes panel).")
            else:
                tip = STATUS_TEXT[status.state]
            if line.locked:
                where = "sandbox" if self.book.sandbox else "API in One"
                tip += (" Locked: read-only, and no render touches it (Ctrl+L unlocks). The lock is "
                        "kept in the scene file, so it holds in the sandbox and with API in One; "
                        "takes are not shared between them" + (
                            f", and this line has no {where} audio." if status.state
                            is LineState.NOT_RENDERED else "."))
            return tip
        if col == COL_LENGTH:
            seconds = self.seconds_of(row)
            if seconds is not None:
                return f"{seconds:.1f} s as rendered · {len(line.text):,} characters"
            return (f"{len(line.text):,} characters, about {len(line.text) / 15:.0f} s spoken; "
                    "the rendered length shows here once it is rendered")
        if col == COL_STABILITY:
            value = self.scene.stability if line.stability is None else line.stability
            found = next((d for d in detents() if abs(d.value - value) < 1e-9), None)
            what = f"{found.name}: {found.help}" if found else f"Stability {value:g}"
            return what + (" (the scene's value)" if line.stability is None else "")
        if col == COL_NUMBER:
            return "Play this line (Space)"
        if col == COL_TEXT and line.text:
            spoken = self.scene.spoken(line)
            return f"Spoken as: {spoken}" if spoken != line.text else None
        if col == COL_PAUSE:
            return ("Silence after this line, overriding the scene's gap" if line.pause_after_ms
                    is not None else "The scene's gap (Scene > Scene Settings); type a number to "
                    "set this line's own pause")
        return None

    def setData(self, index: QModelIndex | QPersistentModelIndex, value: Any,
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        field = FIELD_OF.get(index.column())
        if role != Qt.ItemDataRole.EditRole or field is None or self.commit is None:
            return False
        line = self.scene.lines[index.row()]
        if field in ("speaker", "text") and isinstance(value, str):
            value = value.strip() if field == "speaker" else value
        if getattr(line, field) == value:
            return False
        self.commit(index.row(), field, value)
        return True

    # --- drag and drop: a move is an undoable command, not Qt's remove+insert ----------------

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # type: ignore[override]
        data = QMimeData()
        rows = sorted({i.row() for i in indexes})
        data.setData(MIME, ",".join(map(str, rows)).encode())
        return data

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                     parent: QModelIndex | QPersistentModelIndex) -> bool:
        if not data.hasFormat(MIME):
            return False
        rows = [int(x) for x in bytes(data.data(MIME).data()).decode().split(",") if x]
        dest = row if row >= 0 else (parent.row() if parent.isValid() else len(self.scene))
        self.rows_dropped.emit(rows, dest)
        return False  # the move is done by the command; Qt must not remove the source rows

    # --- following the scene -------------------------------------------------------------------

    def _on_scene_changed(self, event: Event, phase: Phase) -> None:
        root = QModelIndex()
        if isinstance(event, LinesInserted):
            if phase == "before":
                self.beginInsertRows(root, event.row, event.row + event.count - 1)
            else:
                self.endInsertRows()
                self._renumber(event.row)
        elif isinstance(event, LinesRemoved):
            if phase == "before":
                self.beginRemoveRows(root, event.row, event.row + event.count - 1)
            else:
                self.endRemoveRows()
                self._renumber(event.row)
        elif isinstance(event, LinesReordered):
            if phase == "before":
                self.layoutAboutToBeChanged.emit()
                self._persistent_before = list(self.persistentIndexList())
            else:
                new_row = {old: new for new, old in enumerate(event.order)}
                old_list = self._persistent_before
                new_list = [self.index(new_row[p.row()], p.column()) if p.isValid() else
                            QModelIndex() for p in old_list]
                self.changePersistentIndexList(old_list, new_list)  # type: ignore[arg-type]
                self._persistent_before = []
                self.layoutChanged.emit()
        elif phase == "after" and isinstance(event, LinesChanged) and event.rows:
            lo, hi = min(event.rows), max(event.rows)
            self.dataChanged.emit(self.index(lo, 0), self.index(hi, len(HEADERS) - 1))
        elif phase == "after" and isinstance(event, CastChanged | SceneChanged):
            self.refresh_all()

    def _renumber(self, from_row: int) -> None:
        if self.scene.lines and from_row < len(self.scene.lines):
            self.dataChanged.emit(self.index(from_row, COL_NUMBER),
                                  self.index(len(self.scene.lines) - 1, COL_NUMBER))

    def refresh_all(self) -> None:
        if self.scene.lines:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self.scene.lines) - 1, len(HEADERS) - 1))

    def refresh_column(self, col: int) -> None:
        if self.scene.lines:
            self.dataChanged.emit(self.index(0, col), self.index(len(self.scene.lines) - 1, col))

    def refresh_ids(self, ids: list[str]) -> None:
        for line_id in ids:
            try:
                row = self.scene.row_of(line_id)
            except ValueError:
                continue
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))

    def set_playing(self, line_id: str | None) -> None:
        old, self.playing_id = self.playing_id, line_id
        self.refresh_ids([i for i in (old, line_id) if i])
