"""The render room: the service session, renders, the live cost, voice samples.

:class:`RenderController` asks the engine what to send (:func:`build_plan`), asks the
writer through the prompter when money is at stake, runs the engine, keeps each result as
a take on the document, and says what happened through signals. The cost panel and the
queue panel only present what it hands them.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from editor.core.planner import PlanError, PlannedRequest
from editor.engine.events import RenderEvent, Stage
from editor.engine.report import failure_summary
from editor.engine.service import Target, resolve_target
from editor.engine.status import LineState
from editor.ui.prompter import AnyPrompter
from editor.ui.render.panels import CostPanel
from editor.ui.render.queue import RenderQueue
from editor.ui.scene.document import SceneDocument
from editor.ui.scene.table import SceneEditor
from editor.ui.settings import Settings
from editor.ui.tasks import AsyncRunner, Op

if TYPE_CHECKING:  # the network stack loads on the first render, not at start-up
    from editor.engine.errors import NetworkDown
    from editor.engine.render import RenderEngine, RenderOutcome, Resend
    from editor.engine.renderplan import Estimate
    from editor.engine.service import ServiceSession
    from editor.ui.render.audition import Auditions

# A flush's line work (takes, statuses, table rows) runs in slices of about this long, the
# event loop turning between them: 3,000 lines queued (or cancelled) at once never freeze it.
SLICE_SECONDS = 0.012
# What the queue says, once, while the service cannot be reached (the details are behind
# "Details").
OFFLINE = ("Can't reach API in One — check the connection. Castline will try again on its "
           "own.")

log = logging.getLogger(__name__)
_warmed = False
_warm_thread: threading.Thread | None = None

NO_KEY = ("No API key is set. Add one in Settings (it is kept in the system keyring), or turn "
          "on the sandbox to try Castline without one.")


class RenderController(QObject):
    message = Signal(str, int)
    play_requested = Signal(str)  # line id: rendered for playing, now play it
    audio_ready = Signal(str)  # a file to play (a voice sample)
    service_changed = Signal()  # where requests go changed (labels, banner)
    running_changed = Signal(bool)
    queue_wanted = Signal()  # a render started: show its queue

    def __init__(self, document: SceneDocument, editor: SceneEditor, settings: Settings,
                 runner: AsyncRunner, prompter: AnyPrompter, cost_panel: CostPanel,
                 queue_panel: RenderQueue, *, force_sandbox: bool = False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.editor = editor
        self.settings = settings
        self.runner = runner
        self.prompter = prompter
        self.cost_panel = cost_panel
        self.queue_panel = queue_panel
        self.force_sandbox = force_sandbox
        self.session: ServiceSession | None = None
        self._session_target: tuple[bool, str] | None = None  # (sandbox, url) of the session
        self.engine: RenderEngine | None = None
        self.op: Op | None = None
        self._fresh_keys: set[str] = set()  # requests of the running render sent as new takes
        cost_panel.set_rounding(str(settings.get("pricing/rounding")))
        self._backlog: deque[RenderEvent] = deque()  # flushed events whose line work is to do
        self._failed: dict[str, tuple[PlannedRequest, Exception]] = {}  # named once drained
        self._slice_timer = QTimer(self, singleShot=True, interval=0)
        self._slice_timer.timeout.connect(self._work_slice)
        self._drained: asyncio.Future[None] | None = None
        queue_panel.cancel_requested.connect(self._on_queue_cancel_item_requested)
        queue_panel.cancel_all_requested.connect(self._stop_render)
        queue_panel.flushed.connect(self._on_queue_flushed)
        queue_panel.retry_requested.connect(self.retry_now)
        document.replaced.connect(self._watch_rows)
        self._watch_rows()

    def _watch_rows(self) -> None:
        """Lines inserted, removed or moved: the queue's line numbers are looked up again."""
        model = self.document.model
        if model is None:
            return
        relabel = self.queue_panel.model.relabel
        for signal in (model.rowsInserted, model.rowsRemoved, model.rowsMoved,
                       model.layoutChanged, model.modelReset):
            signal.connect(lambda *_: relabel())
        relabel()

    # --- warming up -------------------------------------------------------------------------

    # What the first render (and the first play) would otherwise import on the window's thread:
    # 0.2–0.7 s of the network stack, the engine and the audio libraries.
    WARM_MODULES = ("httpx", "httpcore", "anyio", "anyio._backends._asyncio", "anyio.streams.tls",
                    "sniffio", "editor.engine.client", "editor.engine.service",
                    "editor.engine.journal", "editor.engine.render", "editor.engine.project",
                    "editor.engine.export", "editor.engine.report", "editor.engine.grouptakes",
                    "editor.engine.sandbox", "numpy", "soundfile")

    @classmethod
    def warm_up(cls) -> threading.Thread | None:
        """Import the network and audio libraries on a worker thread (once per process), after
        the window shows, so the first render does not wait for them."""
        global _warmed, _warm_thread
        if _warmed:
            return None
        _warmed = True

        def load() -> None:
            import importlib

            for name in cls.WARM_MODULES:
                try:
                    importlib.import_module(name)
                except Exception:  # a missing optional library loads on use, or says so
                    log.debug("warm-up: %s did not import", name, exc_info=True)

        thread = threading.Thread(target=load, name="castline-warm-up", daemon=True)
        thread.start()
        _warm_thread = thread
        return thread

    @staticmethod
    async def warmed() -> None:
        """Until the warm-up has loaded what it is loading, waited for off the window's
        thread: a render started meanwhile would otherwise block the window on Python's
        import lock until the warm-up's module is in (seen as 0.25-0.6 s stalls at Ctrl+R)."""
        thread = _warm_thread
        if thread is not None and thread.is_alive():
            await asyncio.to_thread(thread.join)

    # --- where requests go -----------------------------------------------------------------

    def target(self) -> Target:
        """Where requests go and why: --sandbox, then APIINONE_BASE_URL, then Settings."""
        return resolve_target(self.force_sandbox, str(self.settings.get("service/base_url")),
                              saved_sandbox=bool(self.settings.get("service/sandbox")))

    @property
    def sandbox(self) -> bool:
        return self.target().sandbox

    def follow_service(self) -> None:
        """After Settings or a new session: the document shows the right service's audio."""
        self.document.use_service(self.sandbox)
        self.service_changed.emit()

    async def ensure_service(self) -> ServiceSession:
        from editor.engine.service import open_target

        target = self.target()
        if self.session is not None and self._session_target == (target.sandbox, target.url):
            return self.session
        if self.session is not None:
            await self.session.aclose()
            self.session = None
        self.session = await open_target(
            target, callback_url=str(self.settings.get("service/callback_url")) or None,
            no_key=NO_KEY)
        self._session_target = (target.sandbox, target.url)
        self.follow_service()
        return self.session

    async def refresh_balance(self) -> None:
        if self.session is None:
            return
        from editor.engine.errors import ServiceError

        try:
            self.cost_panel.balance_value = await self.session.client.balance()
        except ServiceError:
            self.cost_panel.balance_value = None
        self.update_costs()

    async def shutdown(self) -> None:
        if self.op is not None:
            self.op.cancel()
        if self.session is not None:
            await self.session.aclose()
            self.session = None

    # --- the live cost ---------------------------------------------------------------------

    def update_costs(self) -> Estimate:
        from editor.engine.renderplan import render_now, total_estimate

        doc = self.document
        lines, states, mode = doc.scene.lines, doc.line_state, doc.mode
        now = render_now(doc.costs, mode,
                         lambda r: states.get(lines[r].id) is LineState.READY, doc.ready)
        rows = self.editor.selected_rows()
        costs = doc.costs
        if not rows:
            selection = None
        elif len(rows) == len(lines):  # everything: the totals, with no re-planning
            selection = (costs.lines_total, costs.take_total)
        elif len(rows) <= 2000:
            selection = costs.selection_cost(rows)
        else:  # a big selection: each line's own request, and its share of its dialogue one
            selection = (sum((costs.line_cost(r) for r in rows), Fraction(0)),
                         sum((costs.line_share(r, "take") for r in rows), Fraction(0)))
        self.cost_panel.show_figures(doc.costs, selection, len(rows),
                                     total_estimate(doc.costs, mode), now, mode,
                                     sandbox=self.sandbox)
        return now

    # --- renders ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.op is not None and self.op.running

    @property
    def task(self) -> asyncio.Task[Any] | None:
        return self.op.task if self.op is not None else None

    def render_scene(self) -> None:
        self.start_render(None)

    def render_selection(self) -> None:
        self.start_render(self.editor.selected_rows())

    def rerender_line(self) -> None:
        """A new take of the current line; its earlier takes are kept."""
        row = self.editor.current_row()
        if row is None:
            return
        if self.document.scene.lines[row].locked:
            self.message.emit(f"Line {row + 1} is locked; unlock it (Ctrl+L) to render a new "
                              "take.", 6000)
            return
        self.start_render([row], force=True)

    def start_render(self, rows: list[int] | None, *, force: bool = False,
                     then_play: str | None = None) -> asyncio.Task[Any] | None:
        if self.running:
            self.message.emit("A render is already running; wait or cancel it.", 5000)
            return None
        self.op = self.runner.run(self._render(rows, force, then_play), "render")
        self.op.failure(self._on_render_failed).start()
        # While a render runs, Python's full garbage collections look only at what the render
        # made: a full pass over an episode's objects (the scene, its model, the window) took
        # 50 ms idle and 0.3-0.6 s on a busy machine, at a moment of the interpreter's
        # choosing (seen 0.4 s after Ctrl+R). Everything goes back to the collector after.
        gc.freeze()
        self.running_changed.emit(True)
        assert self.op.task is not None
        self.op.task.add_done_callback(self._on_render_done)
        return self.op.task

    def _on_render_done(self, _task: object) -> None:
        gc.unfreeze()
        self.running_changed.emit(False)

    async def _render(self, rows: list[int] | None, force: bool,
                      then_play: str | None) -> RenderOutcome | None:
        await self.warmed()  # before this render imports anything
        from editor.engine.journal import service_id
        from editor.engine.renderplan import build_plan_in_background
        from editor.ui.render.precheck import check_before_render

        self.document.settle()  # which lines are ready, counted to the last one
        if not await check_before_render(self, rows, force):  # the check before paying
            return None
        doc = self.document
        target = self.target()
        try:  # off the window's thread, on a snapshot: an episode's plan takes a while
            render_plan = await build_plan_in_background(
                doc.scene, doc.mode, doc.book, rows, force=force, journal=doc.journal,
                service="" if target.sandbox else service_id(target.url))
        except PlanError as e:
            self.prompter.tell("Cannot render", str(e))
            return None
        requests = render_plan.requests
        if not requests:
            notes = []
            if render_plan.locked_rows:
                notes.append(f"{len(render_plan.locked_rows)} locked line(s) are never rendered "
                             "(Ctrl+L unlocks).")
            if render_plan.sandbox_only_rows:
                notes.append(f"{len(render_plan.sandbox_only_rows)} line(s) have only sandbox "
                             "audio.")
            self.message.emit(" ".join(["Everything selected is already rendered.", *notes]), 5000)
            if then_play:
                self.play_requested.emit(then_play)
            return None
        fresh = {r.key for r in requests} if force else set()
        self._fresh_keys = fresh
        cost = render_plan.cost
        silent = [r + 1 for r in render_plan.locked_rows
                  if doc.book.status(doc.scene.lines[r]).state is not LineState.READY]
        if silent:
            where = "the sandbox" if self.sandbox else "API in One"
            self.message.emit(f"Locked line(s) {', '.join(map(str, silent[:10]))} have no audio "
                              f"from {where} and are not rendered (Ctrl+L unlocks them).", 15000)
        budget = float(self.settings.get("render/budget"))
        if not self.sandbox and float(cost.high) > budget:
            answer = await self.prompter.ask(
                "Confirm render",
                f"This render sends {len(render_plan.to_send)} request(s): {cost.text()}. "
                f"That may be above your budget of {budget:g} credits set in Settings (the "
                "high figure assumes the service rounds each request up to a whole credit). "
                "Render?", ["Render", "Cancel"], default="Cancel")
            if answer != "Render":
                return None
        if doc.modified:
            await doc.save_recovery_in_background()
        session = await self.ensure_service()
        from editor.engine.project import render_engine
        from editor.engine.renderplan import learn_rounding

        if not self.sandbox and self.cost_panel.balance_value is None:
            await self.refresh_balance()
        balance_before = self.cost_panel.balance_value
        engine = render_engine(session.client, doc.cache(), journal=doc.journal,
                               jobs=int(self.settings.get("render/jobs")))
        # Offline, the window's queue waits (nothing is sent or charged) and goes on by itself.
        engine.pause_when_offline = True
        engine.on_offline = self._on_offline
        self.engine = engine
        self.queue_panel.start(requests, sandbox=self.sandbox)
        self.queue_wanted.emit()
        try:  # each event only goes to the queue; the window's work is per flush
            outcome = await engine.run(requests, self.queue_panel.feed, self._confirm_resend,
                                       fresh=fresh)
        finally:
            self.engine = None
        self.queue_panel.batcher.flush()  # the last events, then their line work
        await self._all_line_work_done()  # every take kept, every line's status shown
        if outcome.errors:
            message = failure_summary(doc.scene, requests, outcome.errors)
            self.queue_panel.finish(message)
            self.message.emit(message, 15000)
        else:
            self.queue_panel.finish(f"Done: {outcome.submitted} sent, {outcome.from_cache} from "
                                    f"cache, {outcome.resumed} resumed.")
            self.message.emit("Render finished.", 5000)
        await self.refresh_balance()
        rounding = None if self.sandbox else learn_rounding(
            balance_before, self.cost_panel.balance_value,
            [r for r in requests if r.key in outcome.sent])
        if rounding:
            self.settings.set("pricing/rounding", rounding)
            self.cost_panel.set_rounding(rounding)
        if then_play:
            self.play_requested.emit(then_play)
        return outcome

    def _on_queue_flushed(self, events: list[RenderEvent]) -> None:
        """A flush of the queue (at most every 50 ms, the latest event of each request): its
        line work — takes, statuses, one refresh of the table over the lines that changed, one
        message naming every line that failed — in slices, never O(scene)."""
        self._backlog.extend(events)
        self._work_slice()

    def _work_slice(self) -> None:
        doc = self.document
        changed: list[int] = []
        backlog = self._backlog
        deadline = time.perf_counter() + SLICE_SECONDS
        # Everything a line's event costs the window (its take kept, its status, its counts)
        # is done inside the slice's time, so a slice of 3,000 cancelled lines stays a slice.
        while backlog and time.perf_counter() < deadline:
            for _ in range(min(16, len(backlog))):
                event = backlog.popleft()
                if event.stage is Stage.READY and event.path is not None:
                    # before the status looks for it
                    doc.keep_take(event.request, event.path,
                                  asked=event.request.key in self._fresh_keys)
                rows = doc.rows_of(doc.book.on_event(event))
                doc.refresh_rows(rows)
                changed.extend(rows)
                if event.stage is Stage.FAILED and event.error is not None:
                    self._failed[event.request.key] = (event.request, event.error)
        self._rows_changed(changed)
        if backlog:
            self._slice_timer.start()  # the rest after the loop has turned
            return
        if self._failed:
            failed, self._failed = self._failed, {}
            self.message.emit(failure_summary(doc.scene, [r for r, _e in failed.values()],
                                              {k: e for k, (_r, e) in failed.items()}), 15000)
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    async def _all_line_work_done(self) -> None:
        """Until every flushed event's line work is done (a take to play must be kept)."""
        while self._backlog:
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained

    def _rows_changed(self, rows: list[int]) -> None:
        """The table's ``rows`` follow, with ONE dataChanged over their span (per-row signals
        would have the table measure each row's height; the table repaints only the part on
        screen), and the panels once the loop turns."""
        if not rows:
            return
        model = self.document.model
        assert model is not None
        # Never a one-row signal: the scene table re-measures a row's height on those (for
        # typing), and a render changes no text.
        lo, hi = min(rows), max(rows)
        if lo == hi:
            lo, hi = (lo, hi + 1) if hi + 1 < model.rowCount() else (max(0, lo - 1), hi)
        model.dataChanged.emit(model.index(lo, 0), model.index(hi, model.columnCount() - 1))
        self.document.schedule_changed()

    def _on_offline(self, error: NetworkDown | None) -> None:
        """Told once when the service cannot be reached (the queue waits) and once when it is
        back."""
        if error is None:
            self.queue_panel.clear_offline()
            self.message.emit("Connected again: the render goes on.", 5000)
            return
        self.queue_panel.show_offline(OFFLINE, error.detail)
        self.queue_wanted.emit()  # the one message is on the queue, with Retry and Details

    def retry_now(self) -> None:
        if self.engine is not None:
            self.engine.retry_now()

    async def _confirm_resend(self, requests: Sequence[PlannedRequest]) -> Resend:
        """Requests sent once whose answer was lost: ask once, for all of them."""
        from editor.engine.render import Resend
        from editor.engine.renderplan import Estimate
        from editor.engine.report import request_rows, rows_text

        rows = request_rows(self.document.scene, requests)
        cost = Estimate.of(requests)
        answer = await self.prompter.ask(
            "Lines that may already have been charged",
            f"{len(rows)} line(s) ({rows_text(rows)}) were sent to the service once and the "
            f"answer was lost, so they may already have been paid for ({cost.text()}).\n\n"
            "Send again: send them now; if the first sending was charged, you pay twice.\n"
            "Wait: send nothing for them now and ask again next time.\n"
            "Drop: forget them; they stay unrendered until you render them as new.",
            ["Send again", "Drop", "Wait"], default="Wait")
        return {"Send again": Resend.SEND, "Drop": Resend.DROP}.get(answer, Resend.WAIT)

    def _on_render_failed(self, error: BaseException) -> None:
        self.queue_panel.finish(f"Render failed: {error}")
        self.prompter.tell("Render failed", str(error))

    def cancel_render(self) -> None:
        """Cancel Render (Ctrl+.): the queue shows its rows stopping and asks to stop."""
        if self.running:
            self.queue_panel.request_cancel_all()  # -> cancel_all_requested -> _stop_render

    def _stop_render(self, _keys: Sequence[str] = ()) -> None:
        """Stop the render: the engine's few workers are cancelled (with what they are
        sending), and every request still waiting its turn is told cancelled without being
        sent; nothing more leaves."""
        if not self.running:
            return
        assert self.op is not None
        self.op.cancel()
        # The lines' live statuses go as their cancelled events arrive (in slices): no
        # O(scene) pass here.
        self.document.book.forget_live()
        self.queue_panel.finish("Cancelled. Requests already sent will be picked up by the "
                                "next render without paying again.")

    def _on_queue_cancel_item_requested(self, key: str) -> None:
        if self.engine is not None:
            self.engine.cancel(key)

    # --- voice samples ---------------------------------------------------------------------

    @cached_property
    def auditions(self) -> Auditions:
        """Hear a voice on a character's first line, or two voices A then B
        (``render/audition.py``); a single one plays through :attr:`audio_ready`."""
        from editor.ui.render.audition import Auditions

        auditions = Auditions(self)
        auditions.play.connect(self.audio_ready)
        return auditions

    def audition(self, speaker: str, voices: list[str] | None = None) -> None:
        """The Cast panel's Hear: ``voices`` (default: the cast's), on ``speaker``'s first line."""
        self.auditions.hear(speaker, voices)
