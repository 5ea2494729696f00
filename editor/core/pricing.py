"""What a render costs, in credits, live.

Per request: ``max(minimum, rate x characters / 1000)`` (CONTRACT §1). The
server's rounding is not published, so figures are estimates and shown with
"≈". Arithmetic is exact (fractions) so that running totals never drift.

:class:`CostTracker` keeps both modes' totals current from the scene's change
events; a keystroke re-prices only the changed line's request (and, in take
mode, only the takes whose split it can move).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from editor.core.catalog import ModelInfo, model, request_cost
from editor.core.planner import SpokenText, greedy_takes, plan, take_boundaries
from editor.core.scene import LinesChanged, SceneChanged

if TYPE_CHECKING:
    from editor.core.scene import Event, Phase, Scene


def rounded_up(cost: Fraction) -> Fraction:
    """The cost if the service rounds each request up to a whole credit (the high estimate)."""
    return Fraction(math.ceil(cost))


def credits_decimal(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP)


def format_credits(value: Fraction, *, approx: bool = True) -> str:
    """``≈ 3.42 credits``: two decimals, marked as an estimate."""
    amount = credits_decimal(value)
    unit = "credit" if amount == 1 else "credits"
    return f"{'≈ ' if approx else ''}{amount} {unit}"


class CostTracker:
    """Live credit estimate of a scene in both modes."""

    def __init__(self, scene: Scene, spoken: SpokenText | None = None) -> None:
        self.scene = scene
        self._spoken: SpokenText = spoken or scene.spoken
        self._line_cost: list[Fraction] = []
        self._line_chars: list[int] = []
        self._chars_total = 0
        self._take_starts: list[int] = []
        self._take_cost: list[Fraction] = []
        self.lines_total = Fraction(0)
        self.take_total = Fraction(0)
        # The same with every request rounded up to a whole credit (the estimate's high end).
        self.lines_high = Fraction(0)
        self.take_high = Fraction(0)
        self._lines_requests = 0
        self.rebuild()
        scene.add_listener(self._on_scene_changed)

    def close(self) -> None:
        self.scene.remove_listener(self._on_scene_changed)

    @property
    def info(self) -> ModelInfo:
        return model(self.scene.model)

    def set_spoken(self, spoken: SpokenText) -> None:
        self._spoken = spoken
        self.rebuild()

    # --- queries ---------------------------------------------------------------

    @property
    def lines_requests(self) -> int:
        """Requests in lines mode: lines with something to send (kept up to date, not counted:
        the cost panel asks on every keystroke)."""
        return self._lines_requests

    @property
    def take_requests(self) -> int:
        return len(self._take_starts)

    @property
    def take_starts(self) -> list[int]:
        return list(self._take_starts)

    @property
    def characters(self) -> int:
        return self._chars_total

    def line_cost(self, row: int) -> Fraction:
        return self._line_cost[row]

    def selection_cost(self, rows: Iterable[int]) -> tuple[Fraction, Fraction]:
        """(lines mode, take mode) cost of rendering just these rows."""
        chosen = sorted(set(rows))
        by_line = sum((self._line_cost[r] for r in chosen), Fraction(0))
        try:
            as_takes = sum((r.cost for r in plan(self.scene, "take", chosen, self._spoken)),
                           Fraction(0))
        except ValueError:
            as_takes = by_line
        return by_line, as_takes

    # --- upkeep ----------------------------------------------------------------

    def _cost_of_line(self, row: int) -> Fraction:
        line = self.scene.lines[row]
        if line.locked:
            return Fraction(0)  # never sent, never priced
        text = self._spoken(line)
        return request_cost(len(text), self.info) if text.strip() else Fraction(0)

    def _cost_of_take(self, start: int, end: int) -> Fraction:
        chars = sum(len(t) for ln in self.scene.lines[start:end]
                    if not ln.locked and (t := self._spoken(ln)).strip())
        return request_cost(chars, self.info)

    def take_of(self, row: int) -> tuple[int, int] | None:
        """The rows [start, end) of the dialogue request ``row`` is sent in (take mode)."""
        k = bisect_right(self._take_starts, row) - 1
        if k < 0 or self._line_cost[row] == 0:
            return None
        ends = self._take_starts[k + 1] if k + 1 < len(self._take_starts) else len(self.scene.lines)
        return self._take_starts[k], ends

    def line_share(self, row: int, mode: str) -> Fraction:
        """What rendering ``row`` costs in ``mode``: its own request, or its share (by
        characters) of the dialogue request it goes in."""
        if mode != "take":
            return self._line_cost[row]
        span = self.take_of(row)
        if span is None:
            return Fraction(0)
        k = bisect_right(self._take_starts, row) - 1
        chars = sum(self._line_chars[r] for r in range(*span)
                    if self._line_cost[r])
        return self._take_cost[k] * self._line_chars[row] / max(1, chars)

    def take_spans(self) -> list[tuple[int, int, Fraction]]:
        """Every dialogue request as (start, end, cost), in scene order."""
        n = len(self.scene.lines)
        ends = self._take_starts[1:] + [n]
        return list(zip(self._take_starts, ends, self._take_cost, strict=True))

    def rebuild(self) -> None:
        n = len(self.scene.lines)
        self._line_cost = [self._cost_of_line(r) for r in range(n)]
        self._line_chars = [len(self._spoken(ln)) for ln in self.scene.lines]
        self._chars_total = sum(self._line_chars)
        # Summed by distinct cost: a few hundred exact additions instead of thousands.
        counts = Counter(self._line_cost)
        self.lines_total = sum((c * k for c, k in counts.items()), Fraction(0))
        self.lines_high = sum((rounded_up(c) * k for c, k in counts.items()), Fraction(0))
        self._lines_requests = sum(1 for c in self._line_cost if c)
        self._take_starts = take_boundaries(self.scene, self.scene.lines, 0, self.info,
                                            spoken=self._spoken)
        ends = self._take_starts[1:] + [n] if self._take_starts else []
        self._take_cost = [self._cost_of_take(a, b)
                           for a, b in zip(self._take_starts, ends, strict=True)]
        self.take_total = sum(self._take_cost, Fraction(0))
        self.take_high = sum((rounded_up(c) for c in self._take_cost), Fraction(0))

    def _on_scene_changed(self, event: Event, phase: Phase) -> None:
        if phase != "after":
            return
        if isinstance(event, SceneChanged) and event.fields <= {"title", "gap_ms", "pronunciations"}:
            return  # a dictionary change is followed by LinesChanged for the lines it alters
        if isinstance(event, LinesChanged) and len(event.rows) <= 8:
            for row in event.rows:
                self._update_row(row)
        else:
            self.rebuild()

    def _update_row(self, row: int) -> None:
        new = self._cost_of_line(row)
        self.lines_total += new - self._line_cost[row]
        self.lines_high += rounded_up(new) - rounded_up(self._line_cost[row])
        self._lines_requests += bool(new) - bool(self._line_cost[row])
        self._line_cost[row] = new
        chars = len(self._spoken(self.scene.lines[row]))
        self._chars_total += chars - self._line_chars[row]
        self._line_chars[row] = chars

        starts = self._take_starts
        if not starts:
            self.rebuild()
            return
        k = bisect_right(starts, row) - 1
        # The take before ended where this row begins: its split depends on this row too.
        if k > 0 and starts[k] == row:
            k -= 1
        begin = starts[k] if k >= 0 else 0
        k = max(k, 0)

        def was_start(r: int) -> bool:
            i = bisect_left(starts, r)
            return r > row and i < len(starts) and starts[i] == r

        fresh, stop = greedy_takes(self.scene, self.scene.lines, begin, self.info,
                                   stop_at=was_start, spoken=self._spoken)
        j = bisect_left(starts, stop)
        ends = fresh[1:] + [stop] if fresh else []
        fresh_costs = [self._cost_of_take(a, b) for a, b in zip(fresh, ends, strict=True)]
        self.take_total += sum(fresh_costs, Fraction(0)) - sum(self._take_cost[k:j], Fraction(0))
        self.take_high += (sum((rounded_up(c) for c in fresh_costs), Fraction(0))
                           - sum((rounded_up(c) for c in self._take_cost[k:j]), Fraction(0)))
        starts[k:j] = fresh
        self._take_cost[k:j] = fresh_costs
