"""The render queue at episode size: one table model, one view, delegates — no widget per request.

A render of 3,000 (or 10,000) lines is shown by :class:`RenderQueue`: a one-line summary
("1,204 of 3,000 lines done · 3 failed · ≈ 812.40 credits spent so far · about 12 min left"),
an overall bar, a *Cancel all* button, and a :class:`QueueView` over a :class:`QueueModel`.

Render events arrive far faster than a screen can show them (several per request, thousands a
minute). :meth:`RenderQueue.feed` hands them to a :class:`QueueBatcher`, which keeps only the
latest event per row and applies them to the model at most once every ~50 ms: one
``beginInsertRows`` for all the new rows of a flush, one ``dataChanged`` per contiguous range of
rows that changed (never one per event), and the summary once. Applying an event is O(1): the
model keeps an index from row key to row. Rows have one fixed height (no size-to-contents of any
column), so a flush never measures text.

The render controller calls (see ``/tmp/h8_notes.md`` for the wiring)::

    queue.start(requests, costs=None, sandbox=...)  # before the engine runs
    queue.feed(event)                               # as the engine's on_event
    queue.finish("Done: …")                         # when the engine returns (or failed)
    queue.cancel_requested(key)  -> engine.cancel(key)   # one request's ✕
    queue.cancel_all_requested(keys) -> cancel the render # the Cancel all button / Ctrl+.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFontMetrics, QKeyEvent, QPainter, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionButton,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from editor.core.planner import PlannedRequest
from editor.core.pricing import credits_decimal
from editor.engine.events import RenderEvent, Stage

ModelIndex = QModelIndex | QPersistentModelIndex

LINES, STAGE, PROGRESS, CANCEL = range(4)
DONE_ROLE = Qt.ItemDataRole.UserRole + 1  # the progress cell: finished, painted muted
HEADERS = ("Lines", "Stage", "Progress", "")

FINAL = frozenset({Stage.READY, Stage.FAILED, Stage.CANCELLED})

# What a writer reads in the Stage column.
STAGE_TEXT = {
    Stage.QUEUED: "Waiting its turn",
    Stage.PAUSED: "Waiting for the connection",
    Stage.SUBMITTING: "Sending",
    Stage.WAITING: "Queued at the service",
    Stage.RUNNING: "Being voiced",
    Stage.DOWNLOADING: "Fetching the audio",
    Stage.READY: "Done",
    Stage.FAILED: "Didn't work",
    Stage.CANCELLED: "Cancelled",
}
CACHED_TEXT = "Already rendered (free)"
FAILED_COLOR = QColor("#b3261e")
STOPPING_TEXT = "Stopping…"

_PROGRESS = {Stage.QUEUED: 0, Stage.SUBMITTING: 5, Stage.WAITING: 15, Stage.DOWNLOADING: 90,
             Stage.READY: 100}

# A flush that touches more separate stretches of rows than this sends one dataChanged over
# their span instead (still at most one per row touched): a view repaints its visible part once.
MAX_RANGES = 32

RowKey = tuple[str, tuple[str, ...]]  # (request key, line ids): identical requests share a key


def row_key(request: PlannedRequest) -> RowKey:
    return request.key, request.line_ids


def progress_of(stage: Stage, progress: float | None, before: int = 0) -> int:
    """0–100 for the bar; never goes backwards while a request is alive."""
    if stage is Stage.RUNNING:
        return max(before, int(20 + 65 * (progress if progress is not None else 0.3)))
    if stage in (Stage.FAILED, Stage.CANCELLED):
        return before
    return max(before, _PROGRESS.get(stage, before))


@dataclass(slots=True)
class _Row:
    key: str
    line_ids: tuple[str, ...]
    cost: Fraction
    stage: Stage = Stage.QUEUED
    progress: int = 0
    cached: bool = False
    error: str = ""
    stopping: bool = False

    @property
    def final(self) -> bool:
        return self.stage in FINAL


@dataclass(frozen=True, slots=True)
class QueueSummary:
    """The figures of the summary line (what the tests check) and its text."""

    lines_total: int
    lines_done: int
    lines_failed: int
    lines_cancelled: int
    credits_spent: Fraction
    seconds_left: float | None  # None: not enough finished yet to say
    sandbox: bool = False
    running: bool = True

    @property
    def text(self) -> str:
        parts = [f"{self.lines_done:,} of {self.lines_total:,} line"
                 f"{'s' if self.lines_total != 1 else ''} done"]
        if self.lines_failed:
            parts.append(f"{self.lines_failed:,} failed")
        if self.lines_cancelled:
            parts.append(f"{self.lines_cancelled:,} cancelled")
        if self.sandbox:
            parts.append("sandbox: no credits spent")
        else:
            parts.append(f"≈ {credits_decimal(self.credits_spent):,} credits spent so far")
        if self.running:
            parts.append(time_left_text(self.seconds_left))
        return " · ".join(parts)


def time_left_text(seconds: float | None) -> str:
    if seconds is None:
        return "working out the time left…"
    if seconds < 60:
        return "less than a minute left"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"


class QueueModel(QAbstractTableModel):
    """The requests of one render, one row each (identical requests sent once still show on
    each of their rows). Fed whole batches by :meth:`apply`; never per event."""

    summary_changed = Signal()

    def __init__(self, row_of: Callable[[str], int] | None = None,
                 speaker_of: Callable[[str], str] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._row_of = row_of
        self._speaker_of = speaker_of
        self._clock = clock
        self._rows: list[_Row] = []
        self._index: dict[RowKey, int] = {}
        self._by_key: dict[str, list[int]] = {}  # request key -> its rows (identical ones share)
        self._labels: dict[int, tuple[str, str]] = {}  # row -> (label, tooltip), filled on paint
        self.sandbox = False
        self.running = False
        # Summary figures, kept incrementally (O(1) per row that changes).
        self._lines_total = 0
        self._lines_done = 0
        self._lines_failed = 0
        self._lines_cancelled = 0
        self._requests_final = 0
        self._charged: set[str] = set()  # keys paid for (identical requests are paid once)
        self._credits = Fraction(0)
        self._started_at = 0.0
        self._first_final_at: float | None = None
        self._last_final_at: float | None = None

    # --- what the controller calls -----------------------------------------------------------

    def start(self, requests: Sequence[PlannedRequest],
              costs: Mapping[str, Fraction] | None = None, *, sandbox: bool = False) -> None:
        """A new render: the rows of ``requests`` (one model reset). ``costs``: request key →
        what it is charged, when not ``request.cost``."""
        self.beginResetModel()
        self._rows = []
        self._index = {}
        self._by_key = {}
        self._labels = {}
        self._lines_total = self._lines_done = self._lines_failed = self._lines_cancelled = 0
        self._requests_final = 0
        self._charged = set()
        self._credits = Fraction(0)
        self._started_at = self._clock()
        self._first_final_at = self._last_final_at = None
        self.sandbox = sandbox
        self.running = True
        self._add(requests, costs)
        self.endResetModel()
        self.summary_changed.emit()

    def append(self, requests: Sequence[PlannedRequest],
               costs: Mapping[str, Fraction] | None = None) -> int:
        """Rows for requests not yet shown, added at the end with one ``beginInsertRows``."""
        fresh: dict[RowKey, PlannedRequest] = {}
        for r in requests:
            k = row_key(r)
            if k not in self._index and k not in fresh:
                fresh[k] = r
        new = list(fresh.values())
        if not new:
            return 0
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        self._add(new, costs)
        self.endInsertRows()
        return len(new)

    def apply(self, events: Iterable[RenderEvent]) -> int:
        """Apply a batch of events: unknown requests are appended in one insert, changed rows
        are announced with one ``dataChanged`` per contiguous range. Returns the number of
        ``dataChanged`` signals sent."""
        events = list(events)
        unknown = [e.request for e in events if row_key(e.request) not in self._index]
        if unknown:
            self.append(unknown)
        touched: set[int] = set()
        now = self._clock()
        for event in events:
            i = self._index[row_key(event.request)]
            if self._update(self._rows[i], event, now):
                touched.add(i)
        sent = self._announce(touched)
        if touched or unknown:
            self.summary_changed.emit()
        return sent

    def finish(self) -> None:
        """The render is over: rows left unfinished can no longer be cancelled."""
        self.running = False
        if self._rows:
            self.dataChanged.emit(self.index(0, CANCEL), self.index(len(self._rows) - 1, CANCEL))
        self.summary_changed.emit()

    def mark_stopping(self, keys: Iterable[str]) -> None:
        """Show 'Stopping…' on the rows of ``keys`` until their cancelled event arrives."""
        touched = set()
        for key in set(keys):
            for i in self._by_key.get(key, ()):
                row = self._rows[i]
                if not row.final and not row.stopping:
                    row.stopping = True
                    touched.add(i)
        self._announce(touched)

    def relabel(self) -> None:
        """The scene changed (lines moved): row numbers are looked up again when painted."""
        self._labels.clear()
        if self._rows:
            self.dataChanged.emit(self.index(0, LINES), self.index(len(self._rows) - 1, LINES))

    # --- questions --------------------------------------------------------------------------

    def key_at(self, row: int) -> str:
        return self._rows[row].key

    def row_of_key(self, key: RowKey) -> int:
        return self._index[key]

    def stage_at(self, row: int) -> Stage:
        return self._rows[row].stage

    def can_cancel(self, row: int) -> bool:
        r = self._rows[row]
        return self.running and not r.final and not r.stopping

    def unfinished_keys(self) -> list[str]:
        """Keys of requests still to finish, each once, in queue order."""
        return list(dict.fromkeys(r.key for r in self._rows if not r.final))

    def summary(self) -> QueueSummary:
        return QueueSummary(self._lines_total, self._lines_done, self._lines_failed,
                            self._lines_cancelled, self._credits, self.seconds_left(),
                            self.sandbox, self.running)

    def seconds_left(self) -> float | None:
        """From the observed rate of finished requests (failed and cancelled ones count: the
        queue moves past them too) since the first one finished."""
        remaining = len(self._rows) - self._requests_final
        if remaining <= 0:
            return 0.0
        if self._first_final_at is None or self._requests_final < 2:
            return None
        now = self._clock()
        span = max(now, self._last_final_at or now) - self._first_final_at
        # The first finish marks the end of the ramp-up: the rate is what came after it.
        rate = (self._requests_final - 1) / span if span > 0 else 0.0
        if rate <= 0:
            return None
        return remaining / rate

    # --- Qt's model interface ---------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(HEADERS):
            return HEADERS[section]
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == CANCEL and not self.can_cancel(index.row()):
            flags &= ~Qt.ItemFlag.ItemIsEnabled
        return flags

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        display = role == Qt.ItemDataRole.DisplayRole
        if column == LINES:
            if display:
                return self._label(index.row())[0]
            if role == Qt.ItemDataRole.ToolTipRole:
                return self._label(index.row())[1]
        elif column == STAGE:
            if display:
                return self._stage_text(row)
            if role == Qt.ItemDataRole.ToolTipRole:
                if row.stage is Stage.FAILED:
                    return row.error or "The service did not return audio for this request."
                if row.cached and row.stage is Stage.READY:
                    return "This audio was already rendered: no credits were spent on it."
                return None
            if role == Qt.ItemDataRole.ForegroundRole and row.stage is Stage.FAILED:
                return FAILED_COLOR
        elif column == PROGRESS:
            if display:
                return row.progress
            if role == Qt.ItemDataRole.UserRole:  # what the delegate paints: None, nothing
                if row.stage in (Stage.QUEUED, Stage.PAUSED, Stage.FAILED, Stage.CANCELLED):
                    return None
                return row.progress
            if role == DONE_ROLE:
                return row.stage is Stage.READY
        elif column == CANCEL:
            if role == Qt.ItemDataRole.ToolTipRole and self.can_cancel(index.row()):
                return ("Cancel this request (one already sent is picked up, unpaid, by the "
                        "next render)")
            if role == Qt.ItemDataRole.AccessibleTextRole:
                return "Cancel"
            if role == Qt.ItemDataRole.UserRole:
                return self.can_cancel(index.row())
        return None

    # --- inside -----------------------------------------------------------------------------

    def _add(self, requests: Iterable[PlannedRequest],
             costs: Mapping[str, Fraction] | None) -> None:
        for r in requests:
            k = row_key(r)
            if k in self._index:
                continue
            cost = costs.get(r.key, r.cost) if costs is not None else r.cost
            self._index[k] = len(self._rows)
            self._by_key.setdefault(r.key, []).append(len(self._rows))
            self._rows.append(_Row(r.key, r.line_ids, cost))
            self._lines_total += len(r.line_ids)

    def _update(self, row: _Row, event: RenderEvent, now: float) -> bool:
        """One event onto its row, keeping the summary's figures; whether anything shown
        changed."""
        if row.final:
            return False  # a finished row stays finished (late progress is ignored)
        stage = event.stage
        before = (row.stage, row.progress, row.cached, row.stopping)
        row.progress = progress_of(stage, event.progress, row.progress)
        row.stage = stage
        if stage in FINAL:
            row.stopping = False
            n = len(row.line_ids)
            self._requests_final += 1
            if self._first_final_at is None:
                self._first_final_at = now
            self._last_final_at = now
            if stage is Stage.READY:
                row.cached = event.cached
                self._lines_done += n
                if not event.cached and row.key not in self._charged:
                    self._charged.add(row.key)
                    self._credits += row.cost
            elif stage is Stage.FAILED:
                row.error = _plain_error(event.error)
                self._lines_failed += n
            else:
                self._lines_cancelled += n
        return before != (row.stage, row.progress, row.cached, row.stopping)

    def _announce(self, touched: set[int]) -> int:
        if not touched:
            return 0
        rows = sorted(touched)
        ranges: list[tuple[int, int]] = []
        start = prev = rows[0]
        for r in rows[1:]:
            if r != prev + 1:
                ranges.append((start, prev))
                start = r
            prev = r
        ranges.append((start, prev))
        if len(ranges) > MAX_RANGES:
            ranges = [(rows[0], rows[-1])]
        for a, b in ranges:
            self.dataChanged.emit(self.index(a, STAGE), self.index(b, CANCEL))
        return len(ranges)

    def _stage_text(self, row: _Row) -> str:
        if row.stopping and not row.final:
            return STOPPING_TEXT
        if row.stage is Stage.READY and row.cached:
            return CACHED_TEXT
        return STAGE_TEXT.get(row.stage, row.stage.value)

    def _label(self, i: int) -> tuple[str, str]:
        found = self._labels.get(i)
        if found is not None:
            return found
        ids = self._rows[i].line_ids
        numbers: list[int] = []
        speakers: list[str] = []
        for line_id in ids:
            try:
                if self._row_of is not None:
                    numbers.append(self._row_of(line_id) + 1)
                if self._speaker_of is not None:
                    who = self._speaker_of(line_id)
                    if who and who not in speakers:
                        speakers.append(who)
            except (LookupError, ValueError):
                continue  # the line was deleted meanwhile
        if not numbers:
            label = "(deleted line)" if self._row_of is not None else \
                f"{len(ids)} line{'s' if len(ids) != 1 else ''}"
        elif len(numbers) == 1:
            label = f"{numbers[0]}"
        else:
            label = f"{min(numbers)}–{max(numbers)}"
        who = ", ".join(speakers[:3]) + (" …" if len(speakers) > 3 else "")
        text = f"{label}  {who}" if who else label
        tip = (f"Line {label}" if len(numbers) == 1 else f"Lines {label}") + \
            (f": {', '.join(speakers)}" if speakers else "")
        found = (text, tip)
        self._labels[i] = found
        return found


def _plain_error(error: Exception | None) -> str:
    if error is None:
        return ""
    text = str(error).strip()
    return text or type(error).__name__


class QueueBatcher:
    """Coalesces render events and applies them to a :class:`QueueModel` at most every
    ``interval_ms``: per row only the latest event is kept (its stage carries the row's
    state; the model counts what each finished row did once)."""

    def __init__(self, model: QueueModel, interval_ms: int = 50,
                 after_flush: Callable[[list[RenderEvent]], None] | None = None) -> None:
        self.model = model
        self._pending: dict[RowKey, RenderEvent] = {}
        self._after = after_flush
        self.timer = QTimer(model)
        self.timer.setSingleShot(True)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._on_timer_timeout)
        # A flush bigger than CHUNK (3,000 requests queued or cancelled at once) is applied a
        # chunk per turn of the event loop.
        self._rest = QTimer(model)
        self._rest.setSingleShot(True)
        self._rest.setInterval(0)
        self._rest.timeout.connect(self._on_timer_timeout)
        self.flushes = 0
        self.events_in = 0

    def feed(self, event: RenderEvent) -> None:
        """The engine's ``on_event``: O(1), no Qt call besides (re)arming a timer."""
        self.events_in += 1
        k = row_key(event.request)
        previous = self._pending.get(k)
        # A final event is never replaced by a late progress event of the same request.
        if previous is None or previous.stage not in FINAL or event.stage in FINAL:
            self._pending[k] = event
        if not self.timer.isActive():
            self.timer.start()

    CHUNK = 400

    def _on_timer_timeout(self) -> None:
        self.flush(self.CHUNK)

    def flush(self, limit: int | None = None) -> int:
        """Apply what is pending now, or its first ``limit`` rows (the rest on the next turn
        of the event loop); ``finish`` and the end of a render apply everything. Returns the
        dataChanged count."""
        self.timer.stop()
        self._rest.stop()
        if not self._pending:
            return 0
        if limit is None or len(self._pending) <= limit:
            events, self._pending = list(self._pending.values()), {}
        else:
            keys = list(itertools.islice(self._pending, limit))
            events = [self._pending.pop(k) for k in keys]
            self._rest.start()
        self.flushes += 1
        sent = self.model.apply(events)
        if self._after is not None:
            self._after(events)  # the same coalesced events: the controller's batched work
        return sent

    @property
    def pending(self) -> int:
        return len(self._pending)


# --- view ---------------------------------------------------------------------------------------

class ProgressDelegate(QStyledItemDelegate):
    """A progress bar painted by the style (``CE_ProgressBar``): no widget per row."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        value = index.data(Qt.ItemDataRole.UserRole)
        if value is None:
            return
        self.initStyleOption(option, index)
        style = option.widget.style() if option.widget is not None else None
        if style is None:
            return
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter,
                            option.widget)
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(4, 4, -4, -4)  # type: ignore[attr-defined]
        bar.minimum = 0  # type: ignore[attr-defined]
        bar.maximum = 100  # type: ignore[attr-defined]
        bar.progress = int(value)  # type: ignore[attr-defined]
        bar.textVisible = False  # type: ignore[attr-defined]
        bar.state = option.state | QStyle.StateFlag.State_Horizontal  # type: ignore[attr-defined]
        palette = QPalette(option.palette)  # type: ignore[attr-defined]
        if index.data(DONE_ROLE):  # done: a quiet bar, so the rows in flight stand out
            high, base = palette.color(QPalette.ColorRole.Highlight), palette.color(
                QPalette.ColorRole.Base)
            palette.setColor(QPalette.ColorRole.Highlight, QColor(
                (high.red() + 2 * base.red()) // 3, (high.green() + 2 * base.green()) // 3,
                (high.blue() + 2 * base.blue()) // 3))
        bar.palette = palette  # type: ignore[attr-defined]
        bar.direction = option.direction  # type: ignore[attr-defined]
        bar.fontMetrics = option.fontMetrics  # type: ignore[attr-defined]
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        return QSize(120, 20)


class CancelDelegate(QStyledItemDelegate):
    """A small ✕ button painted by the style; the view turns a click on it into
    ``cancel_requested(key)``."""

    GLYPH = "✕"

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        self.initStyleOption(option, index)
        widget = option.widget
        style = widget.style() if widget is not None else None
        if style is None:
            return
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget)
        if not index.data(Qt.ItemDataRole.UserRole):
            return  # finished (or stopping): nothing to cancel, nothing drawn
        button = QStyleOptionButton()
        button.rect = self.button_rect(option.rect)  # type: ignore[attr-defined]
        button.text = self.GLYPH  # type: ignore[attr-defined]
        state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Raised
        if option.state & QStyle.StateFlag.State_MouseOver:  # type: ignore[attr-defined]
            state |= QStyle.StateFlag.State_MouseOver
        button.state = state  # type: ignore[attr-defined]
        button.palette = option.palette  # type: ignore[attr-defined]
        button.fontMetrics = option.fontMetrics  # type: ignore[attr-defined]
        button.direction = option.direction  # type: ignore[attr-defined]
        style.drawControl(QStyle.ControlElement.CE_PushButton, button, painter, widget)

    @staticmethod
    def button_rect(cell: QRect) -> QRect:
        side = max(12, min(cell.height() - 4, 22))
        return QRect(cell.center().x() - side // 2 + 1, cell.center().y() - side // 2 + 1,
                     side, side)

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        return QSize(28, 20)


class QueueView(QTableView):
    """The queue's table: fixed row height, fixed-width columns (nothing sized to contents,
    so a flush never measures text), the progress and ✕ cells painted by delegates."""

    cancel_requested = Signal(str)  # request key

    def __init__(self, model: QueueModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setObjectName("render-queue-view")
        self.setItemDelegateForColumn(PROGRESS, ProgressDelegate(self))
        self.setItemDelegateForColumn(CANCEL, CancelDelegate(self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setMouseTracking(True)  # the ✕ under the pointer lights up
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
        rows = self.verticalHeader()
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        height = max(22, QFontMetrics(self.font()).height() + 8)
        rows.setDefaultSectionSize(height)
        rows.setMinimumSectionSize(height)
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        header.setHighlightSections(False)
        fm = QFontMetrics(self.font())
        widths = {LINES: fm.horizontalAdvance("00,000–00,000  CAPTAIN, ODILE") + 16,
                  STAGE: fm.horizontalAdvance("Already rendered (free)") + 20}
        for column, width in widths.items():
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        header.setSectionResizeMode(PROGRESS, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(CANCEL, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(CANCEL, height + 8)
        header.setMinimumSectionSize(24)
        self.clicked.connect(self._on_clicked)

    def queue_model(self) -> QueueModel:
        model = self.model()
        assert isinstance(model, QueueModel)
        return model

    def _on_clicked(self, index: QModelIndex) -> None:
        if index.column() != CANCEL:
            return
        model = self.queue_model()
        if not model.can_cancel(index.row()):
            return
        key = model.key_at(index.row())
        model.mark_stopping([key])
        self.cancel_requested.emit(key)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Delete cancels the selected requests."""
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            model = self.queue_model()
            rows = sorted({i.row() for i in self.selectionModel().selectedRows()})
            keys = list(dict.fromkeys(model.key_at(r) for r in rows if model.can_cancel(r)))
            if keys:
                model.mark_stopping(keys)
                for key in keys:
                    self.cancel_requested.emit(key)
                event.accept()
                return
        super().keyPressEvent(event)


class ElidedLabel(QLabel):
    """One line of text that elides (…) instead of widening its window; the whole text is its
    tooltip. With ``max_width`` (a status bar's permanent labels) it asks for its text's width
    up to that many pixels, and never more; without, for nothing (its layout gives it room)."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *,
                 max_width: int = 0) -> None:
        super().__init__(parent)
        self._full = ""
        self._max_width = max_width
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(1)
        self.setWordWrap(False)
        if max_width:  # its text's width up to max_width, shrinking to nothing if need be
            self.setMaximumWidth(max_width)
            self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # type: ignore[override]
        if text == self._full and text:
            return
        self._full = text
        self.setToolTip(text)
        self._elide()
        if self._max_width:
            self.updateGeometry()  # asks for its new width, never past max_width

    def full_text(self) -> str:
        return self._full

    def minimumSizeHint(self) -> QSize:
        return QSize(1, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        width = 1
        if self._max_width:
            margins = self.contentsMargins()
            width = min(self._max_width, QFontMetrics(self.font()).horizontalAdvance(self._full)
                        + margins.left() + margins.right() + 2 * self.margin() + 4)
        return QSize(width, super().sizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = QFontMetrics(self.font()).elidedText(self._full, Qt.TextElideMode.ElideRight,
                                                    max(1, self.width()))
        if shown != super().text():
            super().setText(shown)


class OfflineNotice(QFrame):
    """One strip above the queue while the service cannot be reached: the writer's sentence,
    *Retry*, and the technical reason behind *Details*. It elides; it never widens the window."""

    retry_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("render-queue-offline")
        self.setStyleSheet("QFrame#render-queue-offline { background: #fff1c2; "
                           "border: 1px solid #e3c767; border-radius: 3px; } "
                           "QFrame#render-queue-offline QLabel { color: #4a3b00; }")
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.text = ElidedLabel()
        self.text.setObjectName("render-queue-offline-text")
        self.details = QPushButton("Details")
        self.details.setCheckable(True)
        self.details.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.retry = QPushButton("Retry")
        self.retry.setToolTip("Try to reach the service now (Castline also tries again on its "
                              "own every few seconds)")
        self.retry.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.detail = ElidedLabel()
        self.detail.setObjectName("render-queue-offline-detail")
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setVisible(False)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.text, 1)
        row.addWidget(self.details)
        row.addWidget(self.retry)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.detail)
        self.details.toggled.connect(self.detail.setVisible)
        self.retry.clicked.connect(self.retry_requested)

    def show_problem(self, text: str, detail: str = "") -> None:
        self.text.setText(text)
        self.detail.setText(detail or "No further detail.")
        self.details.setEnabled(bool(detail))
        self.retry.setEnabled(True)
        self.setVisible(True)

    def clear(self) -> None:
        self.details.setChecked(False)
        self.setVisible(False)


class RenderQueue(QWidget):
    """The render queue panel: summary line, overall bar, Cancel all, and the table."""

    cancel_requested = Signal(str)  # one request's key (its ✕, or Delete on selected rows)
    cancel_all_requested = Signal(list)  # keys of every unfinished request (Cancel all)
    # After each flush, the events it applied (the latest per row; every final one is there):
    # the controller's per-line work (status, takes, table rows) belongs here, once per flush.
    flushed = Signal(list)
    retry_requested = Signal()  # the offline strip's Retry

    def __init__(self, row_of: Callable[[str], int] | None = None,
                 speaker_of: Callable[[str], str] | None = None,
                 parent: QWidget | None = None, *, interval_ms: int = 50,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self.setObjectName("render-queue")
        self.model = QueueModel(row_of, speaker_of, clock, self)
        self.view = QueueView(self.model)
        self.batcher = QueueBatcher(self.model, interval_ms, self.flushed.emit)
        self.summary = ElidedLabel("Nothing rendering.")
        self.summary.setObjectName("render-queue-summary")
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(8)
        self.bar.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.bar.setVisible(False)
        self.cancel_all = QPushButton("Cancel all")
        self.cancel_all.setToolTip("Stop the render: nothing more is sent; requests already "
                                   "sent are picked up, unpaid, by the next render")
        self.cancel_all.setEnabled(False)
        self.cancel_all.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.cancel_all.clicked.connect(self.request_cancel_all)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.summary, 1)
        top.addWidget(self.cancel_all)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        self.offline = OfflineNotice()
        self.offline.setVisible(False)
        self.offline.retry_requested.connect(self.retry_requested)
        layout.addWidget(self.offline)
        layout.addWidget(self.bar)
        layout.addWidget(self.view, 1)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.view.cancel_requested.connect(self.cancel_requested)
        self.model.summary_changed.connect(self._show_summary)
        # The view follows the front of the queue (what is being sent now) until the writer
        # scrolls it; the front only moves forward, so following costs O(1) a flush overall.
        self._front = 0
        self._follow = True
        self.view.verticalScrollBar().sliderPressed.connect(self._stop_following)
        self.flushed.connect(lambda _events: self._follow_front())
        # The time left moves on between events too.
        self.ticker = QTimer(self)
        self.ticker.setInterval(1000)
        self.ticker.timeout.connect(self._show_summary)
        self._final_text = ""

    # --- what the render controller calls ---------------------------------------------------

    def start(self, requests: Sequence[PlannedRequest],
              costs: Mapping[str, Fraction] | None = None, *, sandbox: bool = False) -> None:
        self.batcher.flush()  # a previous render's stragglers go to its own rows
        self._final_text = ""
        self.clear_offline()
        self._front, self._follow = 0, True
        self.model.start(requests, costs, sandbox=sandbox)
        self.cancel_all.setEnabled(True)
        self.bar.setVisible(True)
        self.ticker.start()

    def feed(self, event: RenderEvent) -> None:
        """The engine's ``on_event`` (also fine to call from the event loop at any rate)."""
        self.batcher.feed(event)

    def finish(self, text: str = "") -> None:
        """The render ended: the last events are applied, the ✕ cells go, ``text`` (e.g.
        'Done: 2,998 sent, 2 from the cache') joins the figures."""
        self.batcher.flush()
        self.model.finish()
        self.ticker.stop()
        self.clear_offline()
        self.cancel_all.setEnabled(False)
        self._final_text = text
        self._show_summary()

    def show_offline(self, text: str, detail: str = "") -> None:
        """The service cannot be reached: one strip says so (Retry, Details); the rows wait."""
        self.offline.show_problem(text, detail)

    def clear_offline(self) -> None:
        self.offline.clear()

    def _stop_following(self) -> None:
        self._follow = False

    def _follow_front(self) -> None:
        model, rows = self.model, self.model.rowCount()
        while self._front < rows and model.stage_at(self._front) in FINAL:
            self._front += 1
        if self._follow and self._front < rows:
            self.view.scrollTo(model.index(self._front, LINES),
                               QAbstractItemView.ScrollHint.PositionAtTop)

    def request_cancel_all(self) -> None:
        keys = self.model.unfinished_keys()
        self.cancel_all.setEnabled(False)
        self.model.mark_stopping(keys)
        self.cancel_all_requested.emit(keys)

    # --- inside -----------------------------------------------------------------------------

    def _show_summary(self) -> None:
        summary = self.model.summary()
        text = summary.text
        if self._final_text:
            text = f"{self._final_text} — {text}"
        self.summary.setText(text)
        self.bar.setMaximum(max(1, summary.lines_total))
        self.bar.setValue(summary.lines_done + summary.lines_failed + summary.lines_cancelled)
