"""The cut editor's picture: a dialogue clip's waveform, its cuts, the current line's span.

:func:`envelope` reads the clip once (off the window's thread) into a min/max envelope;
:class:`WaveformView` only paints it, at any width, and lets the writer drag a cut. A cut
the splitter was unsure of is drawn dashed in amber with a ``?``; one moved by hand has a
solid handle. Dropping a cut emits :attr:`WaveformView.cut_moved`; nothing is cut here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

if TYPE_CHECKING:  # numpy loads when a waveform is first drawn, not at start-up
    import numpy as np
    import numpy.typing as npt

BINS = 4000  # envelope resolution (a 40 s clip: 10 ms a bin)
GRAB_PX = 6  # how near a cut the pointer must be to take it
UNCERTAIN = QColor("#c77700")
CUT = QColor("#1f5fa8")
HAND = QColor("#2e7d32")


@dataclass(frozen=True, slots=True)
class Envelope:
    duration: float  # seconds
    lo: npt.NDArray[np.float32]  # per bin, -1..0
    hi: npt.NDArray[np.float32]  # per bin, 0..1


def envelope(path: Path, bins: int = BINS) -> Envelope:
    """The clip's min/max envelope in ``bins`` bins (channels mixed down); any thread."""
    import numpy as np

    from editor.engine.audio import decode

    clip = decode(path)
    mono = clip.data.mean(axis=1) if clip.data.ndim == 2 else clip.data
    n = len(mono)
    if n == 0:
        return Envelope(0.0, np.zeros(1, np.float32), np.zeros(1, np.float32))
    bins = max(1, min(bins, n))
    edges = np.linspace(0, n, bins + 1).astype(np.int64)[:-1]
    lo = np.minimum.reduceat(mono, edges).astype(np.float32)
    hi = np.maximum.reduceat(mono, edges).astype(np.float32)
    return Envelope(clip.seconds, np.minimum(lo, 0), np.maximum(hi, 0))


@dataclass(frozen=True, slots=True)
class CutMark:
    at: float
    uncertain: bool = False
    hand: bool = False
    confidence: float = 1.0


class WaveformView(QWidget):
    """Paints an :class:`Envelope` with its cuts; a cut can be selected and dragged."""

    cut_moved = Signal(int, float)  # cut index, where it was dropped (seconds)
    cut_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(72)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.env: Envelope | None = None
        self.duration = 0.0
        self.cuts: list[CutMark] = []
        self.labels: list[str] = []  # one per line of the group
        self.span: tuple[float, float] | None = None  # the current line's
        self.selected: int | None = None
        self._drag: int | None = None
        self._drag_at = 0.0
        self._cache: tuple[int, npt.NDArray[np.float32], npt.NDArray[np.float32]] | None = None
        self._outline_cache: tuple[tuple[float, ...], QPolygonF] | None = None

    def sizeHint(self) -> QSize:
        return QSize(520, 110)

    # --- what is shown ----------------------------------------------------------------------

    def set_envelope(self, env: Envelope | None, duration: float) -> None:
        if env is not self.env:
            self._cache = None
            self._outline_cache = None
        self.env = env
        self.duration = env.duration if env is not None else duration
        self.update()

    def set_cuts(self, cuts: Sequence[CutMark], labels: Sequence[str],
                 span: tuple[float, float] | None, select: int | None = None) -> None:
        self.cuts = list(cuts)
        self.labels = list(labels)
        self.span = span
        if select is not None:
            self.selected = select
        if self.selected is not None and self.selected >= len(self.cuts):
            self.selected = None
        self._drag = None
        self.update()

    def select_cut(self, index: int | None) -> None:
        self.selected = index
        if index is not None:
            self.cut_selected.emit(index)
        self.update()

    def move_cut(self, index: int, at: float) -> float:
        """Drop cut ``index`` at ``at`` seconds (kept between its neighbours); what the mouse
        does, for code and tests. Returns where it went."""
        at = self._clamp(index, at)
        self.select_cut(index)
        self.cut_moved.emit(index, at)
        self.update()
        return at

    # --- geometry ---------------------------------------------------------------------------

    def _wave_rect(self) -> QRectF:
        top = self.fontMetrics().height() + 4
        bottom = self.fontMetrics().height() + 2
        return QRectF(4, top, max(1, self.width() - 8), max(8, self.height() - top - bottom))

    def x_of(self, seconds: float) -> float:
        r = self._wave_rect()
        return r.left() + (seconds / self.duration * r.width() if self.duration else 0.0)

    def seconds_at(self, x: float) -> float:
        r = self._wave_rect()
        if not self.duration:
            return 0.0
        return min(max((x - r.left()) / r.width() * self.duration, 0.0), self.duration)

    def _clamp(self, index: int, at: float) -> float:
        low = self.cuts[index - 1].at if index > 0 else 0.0
        high = self.cuts[index + 1].at if index + 1 < len(self.cuts) else self.duration
        margin = min(0.05, (high - low) / 2)
        return min(max(at, low + margin), high - margin)

    def cut_near(self, x: float) -> int | None:
        best = None
        for i, c in enumerate(self.cuts):
            d = abs(self.x_of(c.at) - x)
            if d <= GRAB_PX and (best is None or d < best[0]):
                best = (d, i)
        return best[1] if best else None

    # --- painting -------------------------------------------------------------------------------

    def _columns(self, width: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        import numpy as np

        assert self.env is not None
        if self._cache is None or self._cache[0] != width:
            env = self.env
            n = len(env.hi)
            edges = np.minimum((np.arange(width) * n) // max(1, width), n - 1)
            # each column: the extremes of its bins (or the nearest bin when zoomed in)
            lo = np.minimum.reduceat(env.lo, edges) if width <= n else env.lo[edges]
            hi = np.maximum.reduceat(env.hi, edges) if width <= n else env.hi[edges]
            self._cache = (width, lo, hi)
        return self._cache[1], self._cache[2]

    def _outline(self, r: QRectF, mid: float, half: float) -> QPolygonF:
        """The waveform's outline for this size, built once per size (a repaint during a
        render, a cut dragged or a line chosen only draws it)."""
        width = int(r.width())
        key = (width, r.left(), mid, half)
        if self._outline_cache is None or self._outline_cache[0] != key:
            import numpy as np

            lo, hi = self._columns(width)
            xs = r.left() + np.arange(width, dtype=np.float64)
            top = [QPointF(x, mid - float(h) * half) for x, h in zip(xs, hi, strict=True)]
            bottom = [QPointF(x, mid - float(lv) * half) for x, lv in zip(xs, lo, strict=True)]
            self._outline_cache = (key, QPolygonF(top + bottom[::-1]))
        return self._outline_cache[1]

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        r = self._wave_rect()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        fm = self.fontMetrics()
        if self.duration <= 0:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Reading the dialogue…")
            return
        # the current line's span
        if self.span is not None:
            a, b = self.x_of(self.span[0]), self.x_of(self.span[1])
            hl = QColor(pal.color(QPalette.ColorRole.Highlight))
            hl.setAlpha(48)
            p.fillRect(QRectF(a, r.top(), b - a, r.height()), hl)
            hl.setAlpha(200)
            p.fillRect(QRectF(a, r.bottom() - 2, b - a, 3), hl)
        # the waveform
        mid = r.center().y()
        half = r.height() / 2 - 1
        wave = QColor(pal.color(QPalette.ColorRole.Text))
        wave.setAlpha(150)
        if self.env is not None:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(wave)
            p.drawPolygon(self._outline(r, mid, half))
        else:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "Reading the dialogue…")
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.drawLine(QPointF(r.left(), mid), QPointF(r.right(), mid))
        # the lines' labels, each over its span
        edges = [0.0, *(c.at for c in self.cuts), self.duration]
        for i, label in enumerate(self.labels[:len(edges) - 1]):
            a, b = self.x_of(edges[i]), self.x_of(edges[i + 1])
            current = self.span is not None and abs(edges[i] - self.span[0]) < 1e-3
            font = p.font()
            font.setBold(current)
            p.setFont(font)
            p.setPen(pal.color(QPalette.ColorRole.Text if current else
                               QPalette.ColorRole.PlaceholderText))
            text = fm.elidedText(label, Qt.TextElideMode.ElideRight, int(b - a) - 6)
            p.drawText(QRectF(a + 3, 0, b - a - 6, r.top() - 2),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        font = p.font()
        font.setBold(False)
        p.setFont(font)
        # the time ruler
        p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        step = next(s for s in (0.5, 1, 2, 5, 10, 30, 60, 1e9)
                    if r.width() / max(self.duration / s, 1) >= 48)
        t = 0.0
        while t <= self.duration + 1e-9:
            x = self.x_of(t)
            p.drawLine(QPointF(x, r.bottom() + 1), QPointF(x, r.bottom() + 4))
            p.drawText(QRectF(x + 2, r.bottom() + 1, 60, fm.height()),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, f"{t:g} s")
            t += step
        # the cuts
        for i, c in enumerate(self.cuts):
            at = self._drag_at if i == self._drag else c.at
            x = self.x_of(at)
            color = HAND if c.hand else UNCERTAIN if c.uncertain else CUT
            pen = QPen(color, 3 if i == self.selected else 2)
            if c.uncertain and not c.hand and i != self._drag:
                pen.setStyle(Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
            # a handle to take it by
            handle = QPainterPath()
            handle.moveTo(x - 6, r.top())
            handle.lineTo(x + 6, r.top())
            handle.lineTo(x, r.top() + 8)
            handle.closeSubpath()
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawPath(handle)
            p.setPen(color)
            p.drawText(QRectF(x + 4, r.top() + 6, 24, fm.height()),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, str(i + 1))
            if c.uncertain and not c.hand:
                badge = QRectF(x - 8, r.bottom() - 18, 16, 16)
                p.setBrush(color)
                p.drawEllipse(badge)
                p.setPen(QColor("white"))
                font = p.font()
                font.setBold(True)
                p.setFont(font)
                p.drawText(badge, Qt.AlignmentFlag.AlignCenter, "?")
                font.setBold(False)
                p.setFont(font)
        if self.hasFocus() and self.selected is not None:
            p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 1, Qt.PenStyle.DotLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(self.rect().adjusted(0, 0, -1, -1))

    # --- the mouse and the keys ---------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        i = self.cut_near(event.position().x())
        if event.button() == Qt.MouseButton.LeftButton and i is not None:
            self.select_cut(i)
            self._drag = i
            self._drag_at = self.cuts[i].at
            self.update()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        if self._drag is not None:
            self._drag_at = self._clamp(self._drag, self.seconds_at(x))
            QToolTip.showText(event.globalPosition().toPoint(), f"{self._drag_at:.2f} s", self)
            self.update()
            return
        near = self.cut_near(x)
        self.setCursor(Qt.CursorShape.SizeHorCursor if near is not None
                       else Qt.CursorShape.ArrowCursor)
        if near is not None:
            c = self.cuts[near]
            note = (" (moved by hand)" if c.hand else
                    " - uncertain: check this cut by ear" if c.uncertain else "")
            self.setToolTip(f"Cut {near + 1} at {c.at:.2f} s{note}. Drag to move it.")
        else:
            self.setToolTip("")

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            i, at = self._drag, self._drag_at
            self._drag = None
            if abs(at - self.cuts[i].at) >= 0.005:
                self.move_cut(i, at)
            self.update()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.cuts and event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            step = -1 if event.key() == Qt.Key.Key_Left else 1
            now = self.selected if self.selected is not None else (-1 if step > 0 else
                                                                    len(self.cuts))
            self.select_cut(min(max(now + step, 0), len(self.cuts) - 1))
            return
        super().keyPressEvent(event)
