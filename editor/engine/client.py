"""The API in One client (Qt-free, async, one ``httpx.AsyncClient`` per process).

Rules it keeps (CONTRACT §1):
- ``Authorization`` goes only to the API's own origin, never to an audio host,
  never in a URL, and plain ``http`` is refused except on loopback.
- A submit is re-sent automatically only when it provably never left this computer
  (connect error, connect or pool timeout) or the service said "not now" (429, or 503
  *with* ``Retry-After``). Any other failure once the body may have been sent (the
  connection broke, a read timeout, the overall deadline, 500/502/504, 503 without
  ``Retry-After``, an unexpected status, a 2xx answer that cannot be used) raises
  :class:`SubmitUncertain` and is never sent again by the client.
- Polls and downloads (GETs) are retried freely with backoff, honouring
  ``Retry-After``, inside an overall deadline.
- Every answer is bounded: a submit or poll answer at most 1 MB after decompression,
  error answers cut at 64 KB, audio at most ``max_audio_bytes`` after decompression
  (the client undoes gzip/deflate itself, a bounded step at a time, so a gzip bomb
  never expands in memory); each request has an overall deadline, not only per read.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import os
import random
import statistics
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urljoin, urlsplit

import httpx

from editor import __version__
from editor.core.atomic import create_temp
from editor.engine import answers
from editor.engine.answers import Status, TaskState
from editor.engine.audiocheck import check_audio_file
from editor.engine.errors import (
    AnswerTooLarge,
    AnswerTooSlow,
    BadAudio,
    InsecureURL,
    KeyRejected,
    NetworkDown,
    OutOfCredits,
    RateLimited,
    RequestRefused,
    ServiceBusy,
    ServiceError,
    ServiceUnavailable,
    SubmitUncertain,
    TaskFailed,
    UnknownTask,
    UnreadableAnswer,
    size_text,
)
from editor.engine.redact import redact, register

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_BASE_URL = "https://apiin.one"
SUBMIT_PATH = "/api/v1/audio/speech"
TASK_PATH = "/api/v1/tasks/{task_id}"
BALANCE_PATHS = ("/api/v1/credits", "/api/v1/user/credits")
MAX_AUDIO_BYTES = 100 * 1024 * 1024  # one audio file, after decompression
MAX_ANSWER_BYTES = 1024 * 1024  # one submit, poll or balance answer, after decompression
ERROR_BODY_BYTES = 64 * 1024  # of an error answer, the part read; the rest is not
DECODE_STEP = 64 * 1024  # decompressed at most this much at a time
REQUEST_DEADLINE = 120.0  # one submit, poll or balance request, start to last byte
DOWNLOAD_DEADLINE = 300.0  # one audio download, redirects and retries included
ACCEPT_ENCODING = "gzip, deflate"  # exactly what _Decoder undoes
AUDIO_TYPES = ("audio/", "application/octet-stream", "binary/octet-stream")
REDIRECTS = (301, 302, 303, 307, 308)

# The request provably never left this computer: sending it again cannot charge twice.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str) -> httpx.URL:
    """Only https, or http on loopback; no credentials in the URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise InsecureURL(url, f"the {what} is not a valid address") from None
    if parts.scheme not in {"http", "https"}:
        raise InsecureURL(url, f"the {what} must be an https:// address")
    if not parts.hostname:
        raise InsecureURL(url, f"the {what} has no host")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InsecureURL(url, f"plain http is only allowed on this computer (loopback); "
                          f"the {what} must use https")
    if parts.username or parts.password:
        raise InsecureURL(url, f"the {what} must not carry a user name or password")
    return httpx.URL(url)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    port = url.port or (443 if url.scheme == "https" else 80)
    return (url.scheme, url.host, port)


def retry_after(response: httpx.Response | Answer, default: float | None = None) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return default
    try:
        seconds = float(value)
        if math.isfinite(seconds):
            return max(0.0, seconds)
        return default
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return default


# --- bounded answers ----------------------------------------------------------------------

class _Inflate:
    """One gzip or deflate layer, undone at most ``DECODE_STEP`` bytes at a time."""

    def __init__(self, gzip: bool) -> None:
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16) if gzip else None
        self._pending = b""

    def push(self, data: bytes) -> None:
        self._pending += data

    def pull(self) -> bytes:
        """Up to ``DECODE_STEP`` decompressed bytes; ``b""`` when it needs more input."""
        if self._inflate is None:  # deflate: zlib-wrapped as the RFC says, or raw as some send
            if len(self._pending) < 2:
                return b""
            cmf, flg = self._pending[0], self._pending[1]
            wrapped = cmf & 0x0F == 8 and (cmf << 8 | flg) % 31 == 0
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        if self._inflate.eof:
            self._pending = b""  # anything after the end of the stream is ignored
            return b""
        out = self._inflate.decompress(self._pending, DECODE_STEP)
        self._pending = self._inflate.unconsumed_tail
        return out


class _Decoder:
    """Undoes ``Content-Encoding`` (identity, gzip, deflate, up to three layers) in bounded
    steps, so the caller can count decompressed bytes and stop before they pile up."""

    def __init__(self, content_encoding: str) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        self._layers: list[_Inflate] = []
        for coding in reversed(codings):  # the last one applied is undone first
            if coding == "identity":
                continue
            if coding in ("gzip", "x-gzip", "deflate"):
                self._layers.append(_Inflate(coding != "deflate"))
            else:
                raise UnreadableAnswer(f"it is compressed as {coding[:40]!r}, which was not "
                                       "asked for")
        if len(self._layers) > 3:
            raise UnreadableAnswer("it is compressed more than three times over")

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not self._layers:
            if data:
                yield data
            return
        yield from self._through(0, data)

    def _through(self, i: int, data: bytes) -> Iterator[bytes]:
        layer = self._layers[i]
        layer.push(data)
        while out := layer.pull():
            if i + 1 == len(self._layers):
                yield out
            else:
                yield from self._through(i + 1, out)


async def _drain(response: httpx.Response, limit: int, sink: Callable[[bytes], object], *,
                 cut: bool = False) -> tuple[int, int]:
    """Read ``response`` through :class:`_Decoder` into ``sink``: (raw bytes, decoded bytes).

    Past ``limit`` decoded bytes: :class:`AnswerTooLarge`, or with ``cut`` the first
    ``limit`` bytes and no more. The raw stream is bounded too (compressed data that never
    decodes to anything still ends).
    """
    try:
        decoder = _Decoder(response.headers.get("content-encoding", ""))
    except UnreadableAnswer:
        if cut:
            return 0, 0
        raise
    raw_limit = limit + limit // 16 + DECODE_STEP
    raw = size = 0
    if response.is_stream_consumed:
        # An answer built in memory (httpx.MockTransport): httpx has read and decoded it whole.
        decoder = _Decoder("")
        chunks: Any = _chunks_of(response.content)
    else:
        chunks = response.aiter_raw()
    try:
        async for chunk in chunks:
            raw += len(chunk)
            for piece in decoder.feed(chunk):
                if size + len(piece) > limit:
                    if cut:
                        sink(piece[:limit - size])
                        return raw, limit
                    raise AnswerTooLarge(limit)
                size += len(piece)
                sink(piece)
            if raw > raw_limit:
                if cut:
                    return raw, size
                raise AnswerTooLarge(limit)
    except zlib.error:
        if cut:
            return raw, size
        raise UnreadableAnswer("its compressed data is damaged") from None
    return raw, size


async def _chunks_of(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), DECODE_STEP):
        yield data[i:i + DECODE_STEP]


def _declared_length(response: httpx.Response) -> int | None:
    """``Content-Length`` when it says how much is left to decode (no compression)."""
    value = response.headers.get("content-length", "")
    if value.isdigit() and not response.headers.get("content-encoding", "").strip(", "):
        return int(value)
    return None


async def _read(response: httpx.Response, limit: int, *, cut: bool = False) -> bytes:
    declared = _declared_length(response)
    if declared is not None and declared > limit and not cut:
        raise AnswerTooLarge(limit)
    parts: list[bytes] = []
    await _drain(response, limit, parts.append, cut=cut)
    return b"".join(parts)


@dataclass(frozen=True, slots=True)
class Answer:
    """A whole answer, read within its limits."""

    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def content_type(self) -> str:
        value: str = self.headers.get("content-type", "")
        return value.split(";", maxsplit=1)[0].strip().lower()


def _printable(text: str) -> str:
    return " ".join("".join(c for c in text if c.isprintable() or c.isspace()).split())


# --- the client -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Submitted:
    task_id: str | None
    audio: bytes | None = None  # when the submit answered with the audio itself
    audio_url: str | None = None


@dataclass(slots=True)
class PollPolicy:
    first: float = 0.5
    factor: float = 1.6
    cap: float = 3.0
    jitter: float = 0.15
    deadline: float = 15 * 60.0  # for one task, from submit to audio: enforced as a whole
    max_retry_wait: float = 60.0

    def delays(self) -> Any:
        delay = self.first
        while True:
            yield delay * random.uniform(1 - self.jitter, 1 + self.jitter)
            delay = min(self.cap, delay * self.factor)


class ServiceClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        http: httpx.AsyncClient | None = None,
        callback_url: str | None = None,
        policy: PollPolicy | None = None,
        max_audio_bytes: int = MAX_AUDIO_BYTES,
        timeout: float = 30.0,
        request_deadline: float = REQUEST_DEADLINE,
        download_deadline: float = DOWNLOAD_DEADLINE,
    ) -> None:
        self.base_url = check_url(base_url.rstrip("/"), "service address")
        if callback_url:
            check_url(callback_url, "callback address")
        register(api_key)
        self._key = api_key
        self._origin = _origin(self.base_url)
        self.callback_url = callback_url or None
        self.policy = policy or PollPolicy()
        self.max_audio_bytes = max_audio_bytes
        self.request_deadline = request_deadline  # one submit/poll/balance request, overall
        self.download_deadline = download_deadline  # one audio download, overall
        self._owns_http = http is None
        # No default headers: the key is added per request, to the API's origin only.
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=10.0),
            follow_redirects=False,
            headers={"User-Agent": f"Castline/{__version__}"},
            trust_env=False,
        )
        self._balance_path: str | None = None
        self._durations: deque[float] = deque(maxlen=32)  # submit answered -> seen finished
        self.requests_sent = 0

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> ServiceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- plumbing ------------------------------------------------------------------

    def _api_url(self, path: str) -> httpx.URL:
        return self.base_url.join(path)

    def _headers_for(self, url: httpx.URL) -> dict[str, str]:
        headers = {"Accept-Encoding": ACCEPT_ENCODING}
        if _origin(url) == self._origin:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    async def _read_answer(self, response: httpx.Response, *, audio_ok: bool = False) -> Answer:
        """The whole answer within its limits: an error's body cut at ``ERROR_BODY_BYTES``,
        audio (when ``audio_ok``) up to ``max_audio_bytes``, anything else up to 1 MB."""
        status = response.status_code
        ctype = response.headers.get("content-type", "").lower()
        if status >= 300:
            body = await _read(response, ERROR_BODY_BYTES, cut=True)
        elif audio_ok and ctype.startswith("audio/"):
            body = await _read(response, self.max_audio_bytes)
        else:
            body = await _read(response, MAX_ANSWER_BYTES)
        return Answer(status, response.headers, body)

    async def _exchange(self, request: httpx.Request, within: float, *,
                        audio_ok: bool = False) -> Answer:
        """Send one request and read its answer, all within ``within`` seconds
        (:class:`AnswerTooSlow`) and within the size limits (:class:`AnswerTooLarge`).
        Transport errors are raised as httpx raises them."""
        try:
            async with asyncio.timeout(max(0.0, within)):
                response = await self._http.send(request, stream=True)
                try:
                    return await self._read_answer(response, audio_ok=audio_ok)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise AnswerTooSlow(f"no whole answer within {within:.3g} s") from None

    def _error_for(self, answer: Answer, *, polling: bool = False,
                   task_id: str = "") -> ServiceError:
        status = answer.status
        body = answer.body[:4000]
        try:
            payload: Any = answers.parse_json(body, "error")
        except UnreadableAnswer:
            payload = None
        detail = _printable(answers.read_error(payload) or "")[:300]
        if status in (401, 403):
            return KeyRejected(detail)
        if status == 402:
            return OutOfCredits(detail)
        if status == 404 and polling:
            return UnknownTask(task_id)
        if status in (400, 409, 413, 422):
            if not detail:
                detail = _printable(body.decode("utf-8", "replace"))[:200] or f"HTTP {status}"
            return RequestRefused(detail, answers.read_error_field(payload))
        if status == 429:
            return RateLimited(retry_after(answer))
        if status >= 500:
            return ServiceUnavailable(status, detail)
        return UnreadableAnswer(f"unexpected HTTP {status}", body)

    # --- submit ------------------------------------------------------------------------

    async def submit(self, body: dict[str, Any], attempts: int = 4) -> Submitted:
        """Send one planned request; its task id, or the audio when it answers at once.

        Sent again only when it provably never left (connect error) or the service said
        "not now" (429, 503 with ``Retry-After``); see the module's rules.
        """
        payload = dict(body)
        if self.callback_url:
            payload["callback_url"] = self.callback_url
        url = self._api_url(SUBMIT_PATH)
        wait = 1.0
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            request = self._http.build_request("POST", url, json=payload,
                                               headers=self._headers_for(url))
            self.requests_sent += 1
            try:
                answer = await self._exchange(request, self.request_deadline, audio_ok=True)
            except NEVER_SENT as e:
                if last:
                    raise NetworkDown(redact(str(e)) or type(e).__name__) from None
                await asyncio.sleep(wait)
                wait *= 2
                continue
            except httpx.TimeoutException as e:
                raise SubmitUncertain("The service took too long to answer",
                                      type(e).__name__) from None
            except httpx.TransportError as e:
                raise SubmitUncertain("The connection broke before the answer came",
                                      type(e).__name__) from None
            except (AnswerTooLarge, AnswerTooSlow) as e:
                raise SubmitUncertain(e.reason, getattr(e, "detail", "")) from None
            except UnreadableAnswer as e:
                raise SubmitUncertain("The service's answer could not be read", e.what) from None
            status = answer.status
            said_later = retry_after(answer)
            if status == 429 or (status == 503 and said_later is not None):
                # An explicit "not now": the service did not take the request.
                if last:
                    if status == 429:
                        raise RateLimited(said_later)
                    raise ServiceBusy(said_later, self._error_detail(answer))
                delay = said_later if said_later is not None else wait
                wait *= 2
                await asyncio.sleep(min(delay, self.policy.max_retry_wait))
                continue
            return self._read_submit(answer)
        raise AssertionError("unreachable")

    def _error_detail(self, answer: Answer) -> str:
        try:
            payload: Any = answers.parse_json(answer.body[:4000], "error")
        except UnreadableAnswer:
            return ""
        return _printable(answers.read_error(payload) or "")[:200]

    def _read_submit(self, answer: Answer) -> Submitted:
        status = answer.status
        if status >= 300:
            error = self._error_for(answer)
            if isinstance(error, KeyRejected | OutOfCredits | RequestRefused):
                raise error  # refused outright: nothing was taken, nothing charged
            # 5xx, 503 without Retry-After, a redirect or an unexpected status: the service
            # may have taken the request before it failed.
            detail = self._error_detail(answer)
            raise SubmitUncertain(f"The service answered HTTP {status}", detail, status=status)
        # A 2xx the client cannot use: the service took the request, so it may be charged.
        try:
            return self._submitted(answer)
        except UnreadableAnswer as e:
            raise SubmitUncertain("The service's answer could not be read", e.what,
                                  status=status) from None
        except (BadAudio, InsecureURL) as e:
            raise SubmitUncertain("The service's answer could not be used", str(e)[:300],
                                  status=status) from None

    def _submitted(self, answer: Answer) -> Submitted:
        if answer.content_type.startswith("audio/"):
            if not answer.body:
                raise BadAudio("the service answered with empty audio")
            return Submitted(None, audio=answer.body)
        obj = answers.parse_json(answer.body, "the submit answer")
        payload = answers.unwrap(obj)
        err = answers.read_error(payload)
        task_id = answers.read_task_id(payload)
        url, data = answers.find_audio(payload)
        status_word = payload.get("status")
        if isinstance(status_word, str) and answers.STATUS_OF.get(status_word.lower()) is Status.FAILED:
            raise TaskFailed(err or status_word)
        if data:
            return Submitted(task_id, audio=data)
        if task_id:
            return Submitted(task_id, audio_url=url)
        if url:
            return Submitted(None, audio_url=url)
        if err and payload.get("success") is False:
            raise RequestRefused(err)
        raise UnreadableAnswer("no task id in it", answer.body)

    # --- poll ----------------------------------------------------------------------------

    async def _get(self, url: httpx.URL, deadline: float,
                   consume: Callable[[httpx.Response], Awaitable[T]], *,
                   per_request: float = math.inf, polling: bool = False,
                   task_id: str = "") -> T:
        """A GET retried through 429, 5xx, dropped connections and answers that took too
        long, until ``deadline`` (monotonic). Each attempt, ``consume`` included, gets at most
        ``per_request`` seconds and never beyond ``deadline``."""
        wait = 0.5
        last: ServiceError | None = None
        while True:
            within = min(per_request, deadline - time.monotonic())
            if within <= 0:
                raise last or AnswerTooSlow("the time allowed ran out")
            request = self._http.build_request("GET", url, headers=self._headers_for(url))
            self.requests_sent += 1
            delay = wait
            error: ServiceError
            try:
                async with asyncio.timeout(max(0.0, within)):
                    response = await self._http.send(request, stream=True)
                    try:
                        if response.status_code == 429 or response.status_code >= 500:
                            answer = await self._read_answer(response)
                            error = self._error_for(answer, polling=polling, task_id=task_id)
                            delay = retry_after(answer, wait) or wait
                        else:
                            return await consume(response)
                    finally:
                        await response.aclose()
            except TimeoutError:
                error = AnswerTooSlow(f"no whole answer within {within:.3g} s")
            except httpx.TransportError as e:
                error = NetworkDown(type(e).__name__)
            last = error
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise error
            await asyncio.sleep(min(delay, remaining, self.policy.max_retry_wait))
            wait = min(wait * 2, 8.0)

    async def poll(self, task_id: str, deadline: float | None = None) -> TaskState:
        """One status read (retried through transient faults, including a garbled or
        oversized answer)."""
        deadline = deadline or time.monotonic() + 120.0
        url = self._api_url(TASK_PATH.format(task_id=quote(task_id, safe="")))
        for attempt in range(3):
            try:
                answer = await self._get(url, deadline, self._read_answer, polling=True,
                                         task_id=task_id, per_request=self.request_deadline)
                if answer.status >= 300:
                    raise self._error_for(answer, polling=True, task_id=task_id)
                obj = answers.parse_json(answer.body, "the task status")
                return answers.read_task(obj, answer.body)
            except (UnreadableAnswer, AnswerTooLarge):
                remaining = deadline - time.monotonic()
                if attempt == 2 or remaining <= 0:
                    raise
                await asyncio.sleep(min(0.5 * (attempt + 1), remaining))
        raise AssertionError("unreachable")

    def _schedule(self, started: float | None) -> Any:
        """Poll delays: the policy's growing ones, or, once tasks of this session have been
        timed, a first poll just before the usual finish and close ones after it."""
        if started is None or len(self._durations) < 2:
            yield from self.policy.delays()
            return
        expected = statistics.median(self._durations)
        yield max(0.05, started + 0.95 * expected - time.monotonic())
        step = max(0.1, 0.1 * expected)
        while True:
            yield min(self.policy.cap, step)
            step *= self.policy.factor

    async def wait(self, task_id: str, on_progress: Callable[[TaskState], None] | None = None,
                   deadline: float | None = None, started: float | None = None) -> TaskState:
        """Poll until the task is finished (its state) or failed (:class:`TaskFailed`), at
        the latest by ``deadline`` (default: the policy's, from now) — :class:`AnswerTooSlow`.

        ``started`` (monotonic time of the submit's answer) lets the client learn how long
        tasks take and poll when they are likely done, not on a fixed clock.
        """
        allowed = self.policy.deadline if deadline is None else deadline - time.monotonic()
        deadline = deadline or time.monotonic() + self.policy.deadline
        not_yet: float | None = None  # when a poll last saw it unfinished
        for delay in self._schedule(started):
            await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            asked = time.monotonic()
            if asked >= deadline:
                break
            try:
                state = await self.poll(task_id, deadline)
            except AnswerTooSlow:
                if time.monotonic() < deadline:
                    raise
                break  # the task's own deadline, not one slow answer, is what ran out
            if on_progress:
                on_progress(state)
            if state.status is Status.FINISHED:
                if started is not None:
                    # It finished between the last "not yet" and this poll: take the middle.
                    done = asked - started
                    self._durations.append(done if not_yet is None else (not_yet + done) / 2)
                return state
            if started is not None:
                not_yet = asked - started
            if state.status is Status.FAILED:
                raise TaskFailed(state.message or "the task failed")
            if time.monotonic() >= deadline:
                break
        raise AnswerTooSlow(f"the task was not finished within the {allowed:.3g} s allowed")

    # --- audio ---------------------------------------------------------------------------

    async def fetch_audio(self, location: str, dest_dir: Path,
                          deadline: float | None = None) -> Path:
        """Download audio to a checked temporary file in ``dest_dir``; returns its path.

        The caller moves it into place (the cache). Refuses non-http(s) schemes,
        plain http off loopback, redirects to either, bodies over the size cap (after
        decompression), non-audio content types and undecodable audio. A broken-off or
        garbled download is fetched again (a GET costs nothing) up to three times, all
        within ``deadline`` (default: ``download_deadline`` from now).
        """
        deadline = deadline or time.monotonic() + self.download_deadline
        for attempt in range(3):
            try:
                return await self._fetch_once(location, dest_dir, deadline)
            except BadAudio as e:
                remaining = deadline - time.monotonic()
                if not e.transient or attempt == 2 or remaining <= 0:
                    raise
                await asyncio.sleep(min(0.5 * (attempt + 1), remaining))
        raise AssertionError("unreachable")

    async def _fetch_once(self, location: str, dest_dir: Path, deadline: float) -> Path:
        url = check_url(urljoin(str(self.base_url) + "/", location), "audio address")

        async def take(response: httpx.Response) -> Path | str:
            status = response.status_code
            if status in REDIRECTS:
                target: str = response.headers.get("location", "")
                return target
            if status >= 300:
                answer = await self._read_answer(response)
                if status == 404:
                    raise BadAudio("the audio file was not found on the audio host (HTTP 404)")
                raise self._error_for(answer)
            return await self._save_stream(response, dest_dir)

        for _hop in range(6):
            result = await self._get(url, deadline, take)
            if isinstance(result, Path):
                return result
            url = check_url(urljoin(str(url), result), "audio redirect")
        raise BadAudio("too many redirects")

    async def _save_stream(self, response: httpx.Response, dest_dir: Path) -> Path:
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype and not ctype.startswith(AUDIO_TYPES):
            body = await _read(response, 4096, cut=True)
            raise BadAudio(f"the audio host sent {_printable(ctype)[:60]} instead of audio: "
                           f"{_printable(body[:120].decode('utf-8', 'replace'))!r}")
        cap = self.max_audio_bytes
        declared = _declared_length(response)
        if declared is not None and declared > cap:
            raise BadAudio(f"the file is {size_text(declared)}, over the {size_text(cap)} limit")
        raw_declared = response.headers.get("content-length", "")
        dest_dir.mkdir(parents=True, exist_ok=True)
        # Follows the umask: a take hard-linked from the cache is a project file a co-writer
        # should be able to play.
        fd, name = create_temp(dest_dir, ".download-", ".part")
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as f:
                try:
                    raw, _size = await _drain(response, cap, f.write)
                except AnswerTooLarge:
                    raise BadAudio(f"the file is over the {size_text(cap)} limit "
                                   "(after decompression)") from None
                except UnreadableAnswer as e:
                    raise BadAudio(f"the download is damaged ({e.what})", transient=True) from None
                except httpx.TransportError as e:
                    raise BadAudio(f"the download broke off ({type(e).__name__})",
                                   transient=True) from None
            if raw_declared.isdigit() and raw != int(raw_declared):
                raise BadAudio(f"the download is truncated ({raw} of {raw_declared} bytes)",
                               transient=True)
            check_audio_file(path)
        except BaseException:
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        return path

    def save_bytes(self, data: bytes, dest_dir: Path) -> Path:
        if len(data) > self.max_audio_bytes:
            raise BadAudio("the inline audio is over the size limit")
        dest_dir.mkdir(parents=True, exist_ok=True)
        fd, name = create_temp(dest_dir, ".inline-", ".part")
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            check_audio_file(path)
        except BaseException:
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        return path

    # --- account ---------------------------------------------------------------------------

    async def reachable(self, timeout: float = 5.0) -> bool:
        """Whether a connection to the API's origin can be opened now (nothing is sent)."""
        host = self.base_url.host
        port = self.base_url.port or (443 if self.base_url.scheme == "https" else 80)
        try:
            async with asyncio.timeout(timeout):
                _reader, writer = await asyncio.open_connection(host, port)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    async def balance(self) -> float | None:
        """The credit balance, or None when the service does not offer one."""
        paths = [self._balance_path] if self._balance_path else list(BALANCE_PATHS)
        for path in paths:
            url = self._api_url(path)
            request = self._http.build_request("GET", url, headers=self._headers_for(url))
            try:
                answer = await self._exchange(request, self.request_deadline)
            except (httpx.TransportError, AnswerTooSlow):
                return None
            except (AnswerTooLarge, UnreadableAnswer):
                continue
            if answer.status in (401, 403):
                raise KeyRejected(answers.read_error(_json_or_none(answer)) or "")
            if answer.status != 200:
                continue
            try:
                value = answers.read_credits(answers.unwrap(_json_or_none(answer) or {}))
            except UnreadableAnswer:
                value = None
            if value is not None:
                self._balance_path = path
                return value
        return None


def _json_or_none(answer: Answer) -> Any:
    try:
        return answers.parse_json(answer.body, "the answer")
    except UnreadableAnswer:
        return None
