"""The render engine (Qt-free, async): planned requests in, cached audio out.

Runs requests concurrently under a limit, reports progress per request (the
CLI and the editor both listen), never pays twice (cache + journal), and
keeps each failure on its own request while the others finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from editor.core.planner import PlannedRequest
from editor.engine.answers import TaskState
from editor.engine.cache import AudioCache
from editor.engine.client import ServiceClient, Submitted
from editor.engine.errors import (
    InsecureURL,
    KeyRejected,
    NetworkDown,
    OutOfCredits,
    RateLimited,
    RequestRefused,
    ServiceBusy,
    ServiceError,
    TaskFailed,
    UnknownTask,
)
from editor.engine.events import RenderEvent, Stage
from editor.engine.journal import Journal, service_id

log = logging.getLogger(__name__)

# Submit errors after which the service provably did not take (or charge) the request.
# SubmitUncertain (anything after the body may have been sent) is deliberately not here.
NOT_CHARGED = (KeyRejected, OutOfCredits, RequestRefused, RateLimited, ServiceBusy, NetworkDown,
               InsecureURL)


@dataclass(slots=True)
class RenderOutcome:
    paths: dict[str, Path] = field(default_factory=dict)  # request key -> audio
    errors: dict[str, Exception] = field(default_factory=dict)  # request key -> why
    submitted: int = 0
    resumed: int = 0
    from_cache: int = 0
    cancelled: set[str] = field(default_factory=set)  # request keys cancelled one by one
    dropped: set[str] = field(default_factory=set)  # maybe-charged requests the writer let go
    sent: set[str] = field(default_factory=set)  # request keys this run submitted (and paid)

    @property
    def ok(self) -> bool:
        return not self.errors


EventSink = Callable[[RenderEvent], None]


class Resend(StrEnum):
    """What to do with requests that may already have been charged (sent once, answer lost)."""

    SEND = "send"  # send again knowingly (it may be paid twice)
    WAIT = "wait"  # do not send now; ask again on the next render
    DROP = "drop"  # forget it: the lines stay unrendered, the next render sends them as new


# Asked once per render with every maybe-charged request; a render without one waits (WAIT).
Confirm = Callable[[Sequence[PlannedRequest]], Awaitable[Resend]]


class MayBeCharged(ServiceError):
    def __init__(self) -> None:
        super().__init__(
            "This request was sent once and its answer was lost, so it may already have been "
            "charged. Castline did not send it again.")


class RenderEngine:
    def __init__(self, client: ServiceClient, cache: AudioCache, journal: Journal,
                 jobs: int = 4, *, pause_when_offline: bool = False,
                 on_offline: Callable[[NetworkDown | None], None] | None = None) -> None:
        """``pause_when_offline`` (the window): when the service cannot be reached, requests
        wait (nothing was sent) and the engine tries again on its own, telling ``on_offline``
        once when it goes offline (the error) and once when it is back (None). Without it
        (the command line) the first connect failure fails every request not yet sent, at once,
        with that one error."""
        self.client = client
        self.cache = cache
        self.journal = journal
        self.jobs = max(1, jobs)
        self.service = service_id(client.base_url)
        self.pause_when_offline = pause_when_offline
        self.on_offline = on_offline
        self._running: dict[str, asyncio.Task[None]] = {}  # requests being sent, by key
        self._waiting: dict[str, list[PlannedRequest]] = {}  # requests waiting their turn
        self._skip: Callable[[str, list[PlannedRequest]], None] | None = None
        self._online = asyncio.Event()
        self._online.set()
        self._down: NetworkDown | None = None
        self._prober: asyncio.Task[None] | None = None

    def retry_now(self) -> None:
        """The writer pressed Retry: try the network again at once."""
        if self._down is not None:
            self._back_online()

    def _went_offline(self, error: NetworkDown) -> None:
        if self._down is not None:
            return
        self._down = error
        self._online.clear()
        log.warning("the service cannot be reached: %s", error.detail)
        if self.on_offline is not None:
            self.on_offline(error)
        if self.pause_when_offline:
            self._prober = asyncio.create_task(self._probe())

    def _back_online(self) -> None:
        self._down = None
        self._online.set()
        if self._prober is not None and self._prober is not asyncio.current_task():
            self._prober.cancel()
        self._prober = None
        if self.on_offline is not None:
            self.on_offline(None)

    async def _probe(self) -> None:
        delay = 2.0
        while self._down is not None:
            await asyncio.sleep(delay)
            if await self.client.reachable():
                self._back_online()
                return
            delay = min(delay * 1.5, 15.0)

    async def _submit(self, request: PlannedRequest, emit: EventSink) -> Submitted:
        """Submit once the network is there; a connect failure sent nothing, so the request
        waits (window) or fails at once like every other unsent one (command line)."""
        key = request.key
        while True:
            if self._down is not None:
                if not self.pause_when_offline:
                    raise self._down
                emit(RenderEvent(request, Stage.PAUSED))
                await self._online.wait()
            emit(RenderEvent(request, Stage.SUBMITTING))
            self.journal.intent(self.service, key)
            try:
                return await self.client.submit(request.body, attempts=2)  # ~1 s to tell
            except NetworkDown as e:
                self.journal.clear(self.service, key)  # it never left
                self._went_offline(e)
                if not self.pause_when_offline:
                    raise
            except NOT_CHARGED:
                self.journal.clear(self.service, key)  # refused: not charged
                raise

    def cancel(self, key: str) -> bool:
        """Cancel one request of the running render (the others go on): one being sent is
        stopped, one still waiting its turn is never sent."""
        task = self._running.get(key)
        if task is not None and not task.done():
            task.cancel()
            return True
        group = self._waiting.pop(key, None)
        if group is None or self._skip is None:
            return False
        self._skip(key, group)
        return True

    def cached_path(self, request: PlannedRequest) -> Path | None:
        return self.cache.get(request.key)

    async def run(
        self,
        requests: Sequence[PlannedRequest],
        on_event: EventSink | None = None,
        confirm_resend: Confirm | None = None,
        fresh: Collection[str] = (),
    ) -> RenderOutcome:
        """Render ``requests``; those whose key is in ``fresh`` are sent even when the cache
        holds their audio (a new take of the same line).

        A request that may already have been charged (sent once, its answer lost) is never
        sent again unless ``confirm_resend`` answers :attr:`Resend.SEND` (it is asked once,
        with all of them); without it they fail with :class:`MayBeCharged`.
        """
        outcome = RenderOutcome()
        emit = on_event or (lambda e: None)
        # Identical requests (same key) are sent once and shared.
        by_key: dict[str, list[PlannedRequest]] = {}
        for r in requests:
            by_key.setdefault(r.key, []).append(r)
        for group in by_key.values():
            for r in group:
                emit(RenderEvent(r, Stage.QUEUED))
        self.journal.refresh()
        unknown = [g[0] for k, g in by_key.items()
                   if k not in fresh and self.journal.maybe_charged(self.service, k)
                   and self.cache.get(k) is None]
        resend: set[str] = set()
        if unknown:
            choice = await confirm_resend(unknown) if confirm_resend is not None else Resend.WAIT
            if choice is Resend.SEND:
                resend = {r.key for r in unknown}
            elif choice is Resend.DROP:
                for r in unknown:
                    self.journal.clear(self.service, r.key)
                    outcome.dropped.add(r.key)

        async def one(group: list[PlannedRequest]) -> None:
            head = group[0]

            def fan(event: RenderEvent) -> None:
                for r in group:
                    emit(RenderEvent(r, event.stage, event.progress, event.path, event.error,
                                     event.cached))

            try:
                if head.key in outcome.dropped:
                    fan(RenderEvent(head, Stage.CANCELLED))
                    outcome.cancelled.add(head.key)
                    return
                path = None if head.key in fresh else self.cache.get(head.key)
                was_cached = path is not None
                if path is not None:
                    outcome.from_cache += 1
                else:
                    path, was_cached = await self._render(
                        head, fan, outcome, head.key in resend, head.key in fresh)
                outcome.paths[head.key] = path
                fan(RenderEvent(head, Stage.READY, 1.0, path, cached=was_cached))
            except asyncio.CancelledError:
                fan(RenderEvent(head, Stage.CANCELLED))
                outcome.cancelled.add(head.key)
                raise
            except Exception as e:
                if not isinstance(e, ServiceError):
                    log.exception("render of %s failed", head.line_ids)
                outcome.errors[head.key] = e
                fan(RenderEvent(head, Stage.FAILED, error=e))

        # A pool of ``jobs`` workers takes the requests in order: an episode's thousands of
        # requests are a queue, not thousands of tasks to start, wake and cancel on the
        # window's event loop. Each request runs as a task of its own, so that one can be
        # cancelled (cancel) while its worker goes on to the next.
        todo = deque(by_key.items())
        self._waiting = dict(todo)  # a key leaves it when started, or when cancelled waiting

        def skip(key: str, group: list[PlannedRequest]) -> None:
            for r in group:
                emit(RenderEvent(r, Stage.CANCELLED))
            outcome.cancelled.add(key)

        self._skip = skip

        async def worker() -> None:
            me = asyncio.current_task()
            assert me is not None
            while todo:
                key, group = todo.popleft()
                if self._waiting.pop(key, None) is None:
                    continue  # cancelled while it waited (told then)
                task = asyncio.create_task(one(group))
                self._running[key] = task
                try:
                    await task
                except asyncio.CancelledError:
                    if me.cancelling():
                        raise  # the render is cancelled, not only this request
                finally:
                    self._running.pop(key, None)

        try:
            async with asyncio.TaskGroup() as tg:
                for _ in range(min(self.jobs, len(todo))):
                    tg.create_task(worker())
        except asyncio.CancelledError:
            while todo:  # never started: cancelled, and said so
                key, group = todo.popleft()
                if self._waiting.pop(key, None) is not None:
                    skip(key, group)
            raise
        finally:
            self._running.clear()
            self._waiting = {}
            self._skip = None
            if self._prober is not None:
                self._prober.cancel()
                self._prober = None
        return outcome

    async def _render(self, request: PlannedRequest, emit: EventSink, outcome: RenderOutcome,
                      resend: bool, fresh: bool) -> tuple[Path, bool]:
        """Send (or resume, or adopt) one request; its audio and whether it came from the
        cache (rendered meanwhile by another process)."""
        key = request.key
        for _attempt in range(2):
            task_id: str | None = None
            started: float | None = None  # monotonic time of our own submit's answer
            # Only the holder of the request's lock may move it from intent to submitted, in
            # this process or any other: a second render waits here, then finds the first
            # one's task (or its audio) instead of sending again.
            async with self.journal.claim(self.service, key) as entry:
                if not fresh:
                    path = self.cache.get(key, fresh=True)  # another process may have it now
                    if path is not None:
                        outcome.from_cache += 1
                        return path, True
                if entry is not None and entry.state == "submitted" and entry.task_id:
                    task_id = entry.task_id
                    outcome.resumed += 1
                elif entry is not None and entry.state == "intent" and not resend:
                    raise MayBeCharged
                else:
                    submitted = await self._submit(request, emit)
                    # Anything else (a lost or unreadable answer, a 5xx) may have been
                    # charged: the intent record stays, and no render sends it again
                    # without the writer's say.
                    outcome.submitted += 1
                    outcome.sent.add(key)
                    resend = False
                    if submitted.audio is not None:
                        tmp = self.client.save_bytes(submitted.audio, self.cache.temp_dir())
                        path = self.cache.put(key, tmp, self._meta(request, submitted.task_id))
                        self.journal.done(self.service, key)
                        return path, False
                    if submitted.task_id is None:
                        assert submitted.audio_url is not None
                        return await self._download(request, submitted.audio_url, None,
                                                    emit), False
                    self.journal.submitted(self.service, key, submitted.task_id)
                    task_id = submitted.task_id
                    started = time.monotonic()
            assert task_id is not None
            try:
                return await self._finish(request, task_id, emit, started=started), False
            except UnknownTask:
                # The service says it never had (or no longer has) the task: it was not
                # charged for it, so sending it is safe.
                self.journal.clear(self.service, key)
                fresh = True
        raise UnknownTask(key)

    async def _finish(self, request: PlannedRequest, task_id: str, emit: EventSink,
                      started: float | None = None) -> Path:
        emit(RenderEvent(request, Stage.WAITING))

        def progress(state: TaskState) -> None:
            stage = Stage.RUNNING if state.status == "running" else Stage.WAITING
            emit(RenderEvent(request, stage, state.progress))

        try:
            state = await self.client.wait(task_id, progress, started=started)
        except TaskFailed:
            self.journal.done(self.service, request.key)
            raise
        if state.audio_bytes is not None:
            tmp = self.client.save_bytes(state.audio_bytes, self.cache.temp_dir())
            path = self.cache.put(request.key, tmp, self._meta(request, task_id))
            self.journal.done(self.service, request.key)
            return path
        assert state.audio_url is not None
        return await self._download(request, state.audio_url, task_id, emit)

    async def _download(self, request: PlannedRequest, url: str, task_id: str | None,
                        emit: EventSink) -> Path:
        emit(RenderEvent(request, Stage.DOWNLOADING))
        tmp = await self.client.fetch_audio(url, self.cache.temp_dir())
        path = self.cache.put(request.key, tmp, self._meta(request, task_id))
        self.journal.done(self.service, request.key)
        return path

    def _meta(self, request: PlannedRequest, task_id: str | None) -> dict[str, object]:
        return {"request": request.body, "line_ids": list(request.line_ids),
                "task_id": task_id, "cost_estimate": float(request.cost),
                "service": self.service, "rendered": time.time()}


async def cancel_quietly(task: asyncio.Task[object]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
