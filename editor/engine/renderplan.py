"""What a render will send, what is free, what it costs and what is missing (Qt-free).

The window and the command line both ask this module and only present its
answer, so they never disagree about money:

- locked lines are never sent and never priced;
- a line that already has usable audio — a take in the project's takes folder
  whose line key still matches (from any machine), or the per-user cache — is
  free, and a request is sent only when one of its lines has none;
- sandbox audio is never taken for paid audio, nor paid audio for sandbox;
- a request that may already have been charged (sent once, its answer lost)
  is reported apart, never priced as free and never sent silently.

The price of a request is an estimate (the service's rounding is not
published): :class:`Estimate` carries the exact figure and the upper bound with
every request rounded up to a whole credit, and the budget question uses the
upper bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from editor.core.planner import Mode, PlannedRequest, plan
from editor.core.pricing import CostTracker, rounded_up
from editor.core.scene import Scene
from editor.engine.journal import Journal
from editor.engine.status import LineState, StatusBook


@dataclass(frozen=True, slots=True)
class Estimate:
    """A credit estimate as a range: ``low`` exact (0.028 x characters, at least the
    minimum), ``high`` with each request rounded up to a whole credit."""

    low: Fraction = Fraction(0)
    high: Fraction = Fraction(0)
    requests: int = 0

    @classmethod
    def of(cls, requests: Sequence[PlannedRequest]) -> Estimate:
        return cls.of_costs([r.cost for r in requests])

    @classmethod
    def of_costs(cls, costs: Sequence[Fraction]) -> Estimate:
        return cls(sum(costs, Fraction(0)), sum((rounded_up(c) for c in costs), Fraction(0)),
                   len(costs))

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(self.low + other.low, self.high + other.high,
                        self.requests + other.requests)

    def __sub__(self, other: Estimate) -> Estimate:
        return Estimate(self.low - other.low, self.high - other.high,
                        self.requests - other.requests)

    def text(self) -> str:
        """``≈ 3.42 credits`` or ``≈ 3.42–5 credits`` when the rounding could matter."""
        from editor.core.pricing import credits_decimal

        low, high = credits_decimal(self.low), credits_decimal(self.high)
        if low == high:
            return f"≈ {low} {'credit' if low == 1 else 'credits'}"
        return f"≈ {low}–{high.normalize():f} credits"


@dataclass(slots=True)
class RenderPlan:
    mode: Mode
    sandbox: bool
    to_send: list[PlannedRequest] = field(default_factory=list)  # will be sent (paid)
    from_cache: list[PlannedRequest] = field(default_factory=list)  # audio in the cache: free
    already: list[PlannedRequest] = field(default_factory=list)  # every line has a take: free
    maybe_charged: list[PlannedRequest] = field(default_factory=list)  # answer lost once
    in_flight: list[PlannedRequest] = field(default_factory=list)  # another render is sending
    pending: list[PlannedRequest] = field(default_factory=list)  # submitted, audio not yet in
    locked_rows: list[int] = field(default_factory=list)
    sandbox_only_rows: list[int] = field(default_factory=list)  # paid: only sandbox audio here
    estimate: Estimate | None = None  # the cost, summed once where the plan was built

    @property
    def requests(self) -> list[PlannedRequest]:
        """What the render engine is handed (it re-checks each under the request's lock)."""
        return self.to_send + self.from_cache + self.maybe_charged + self.in_flight + self.pending

    @property
    def cost(self) -> Estimate:
        """What this render may charge: the requests it will send (maybe-charged ones are
        priced apart, :attr:`resend_cost`)."""
        return self.estimate if self.estimate is not None else Estimate.of(self.to_send)

    @property
    def resend_cost(self) -> Estimate:
        return Estimate.of(self.maybe_charged)

    @property
    def empty(self) -> bool:
        return not self.requests


def build_plan(scene: Scene, mode: Mode | str, book: StatusBook, rows: Sequence[int] | None = None,
               *, force: bool = False, journal: Journal | None = None,
               service: str = "") -> RenderPlan:
    """The plan for rendering ``rows`` (default: all) of ``scene``.

    ``force`` (a new take) sends even what already has audio. ``journal`` and
    ``service`` let the plan report maybe-charged, pending and in-flight requests.
    """
    mode = Mode(mode)
    out = RenderPlan(mode, book.sandbox)
    chosen = range(len(scene.lines)) if rows is None else sorted(set(rows))
    out.locked_rows = [r for r in chosen if scene.lines[r].locked]
    requests = plan(scene, mode, rows)
    ready: set[str] = set()
    if not force:
        ready = {ln.id for ln in scene.lines
                 if book.status(ln).state is LineState.READY}
    if journal is not None:
        journal.refresh()
    book.cache.refresh()  # one listing, then no file system call per line
    for r in requests:
        if not force and set(r.line_ids) <= ready:
            out.already.append(r)
            continue
        entry = journal.get(service, r.key) if journal is not None else None
        if not force and book.cache.get(r.key) is not None:
            out.from_cache.append(r)
        elif journal is not None and entry is not None and entry.state == "submitted":
            out.pending.append(r)
        elif journal is not None and entry is not None and journal.in_flight(service, r.key):
            out.in_flight.append(r)
        elif journal is not None and entry is not None and entry.state == "intent":
            out.maybe_charged.append(r)
        else:
            out.to_send.append(r)
    out.sandbox_only_rows = sandbox_only_rows(scene, book, chosen)
    out.estimate = Estimate.of(out.to_send)
    return out


def sandbox_only_rows(scene: Scene, book: StatusBook,
                      rows: Sequence[int] | None = None) -> list[int]:
    """With the real service (``book`` not the sandbox's): the rows, of ``rows`` (default:
    all), with no usable audio of their own but a take from the sandbox — which is never taken
    for paid audio."""
    if book.sandbox or book.takes is None:
        return []
    chosen = range(len(scene.lines)) if rows is None else rows
    return [r for r in chosen
            if book.status(scene.lines[r]).state is not LineState.READY
            and book.takes.resolve(scene.lines[r].id, book.key_of, sandbox=True) is not None]


async def build_plan_in_background(scene: Scene, mode: Mode | str, book: StatusBook,
                                   rows: Sequence[int] | None = None, *, force: bool = False,
                                   journal: Journal | None = None,
                                   service: str = "") -> RenderPlan:
    """:func:`build_plan` on a worker thread, over a snapshot of the scene: for an episode it
    hashes thousands of requests and reads the cache's listing, which must not hold up the
    window. The writer may go on typing meanwhile; the plan is of the scene as it was."""
    snapshot = scene.snapshot()
    shadow = StatusBook(snapshot, book.cache, book.takes, sandbox=book.sandbox)
    try:
        return await asyncio.to_thread(build_plan, snapshot, mode, shadow, rows, force=force,
                                       journal=journal, service=service)
    finally:
        shadow.detach()


def render_now(costs: CostTracker, mode: Mode | str, is_ready: Callable[[int], bool],
               ready: Estimate | None = None) -> Estimate:
    """What rendering everything not yet ready costs, from the live tracker (the window's
    figure; :func:`build_plan` gives the same for a scene on disk): in lines mode each
    unready line's request, as dialogue every request with an unready line in it.

    In lines mode, ``ready`` (the summed requests of the ready lines, kept up to date by
    the caller) makes it O(1); as dialogue it walks the requests once.
    """
    if Mode(mode) is Mode.LINES:
        if ready is None:
            ready = Estimate.of_costs([costs.line_cost(r) for r in range(len(costs.scene.lines))
                                       if costs.line_cost(r) and is_ready(r)])
        return Estimate(costs.lines_total - ready.low, costs.lines_high - ready.high,
                        costs.lines_requests - ready.requests)
    now = [cost for start, end, cost in costs.take_spans()
           if any(costs.line_cost(r) and not is_ready(r) for r in range(start, end))]
    return Estimate.of_costs(now)


def total_estimate(costs: CostTracker, mode: Mode | str) -> Estimate:
    """Everything unlocked, in ``mode`` (what ``castline cost`` prints as the total)."""
    if Mode(mode) is Mode.LINES:
        return Estimate(costs.lines_total, costs.lines_high, costs.lines_requests)
    return Estimate(costs.take_total, costs.take_high, costs.take_requests)


def learn_rounding(before: float | None, after: float | None,
                   sent: Sequence[PlannedRequest]) -> str | None:
    """Which rounding the service applied, judged from the balance before and after a render
    that sent ``sent`` (and nothing else): "exact", "per request" (each rounded up to a whole
    credit), or None when it cannot be told (no balance, nothing sent, or neither fits)."""
    if before is None or after is None or not sent:
        return None
    spent = Fraction(str(round(before - after, 6)))
    estimate = Estimate.of(sent)
    if estimate.low == estimate.high:
        return None  # both roundings give the same figure: nothing to learn
    tolerance = Fraction(1, 100)
    if abs(spent - estimate.high) <= tolerance:
        return "per request"
    if abs(spent - estimate.low) <= tolerance:
        return "exact"
    return None
