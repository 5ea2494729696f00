"""The API in One client (Qt-free, async, one ``httpx.AsyncClient`` per process).

Rules it keeps (CONTRACT §1):
- ``Authorization`` goes only to the API's own origin, never to an audio host,
  never in a URL, and plain ``http`` is refused except on loopback.
- A submit is re-sent automatically only when it provably never reached the
  service: a connect error, or an explicit "not now" (429, 503). A submit
  whose answer was lost raises :class:`SubmitUncertain`.
- Polls and downloads (GETs) are retried freely with backoff, honouring
  ``Retry-After``, inside an overall deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import random
import statistics
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

from editor import __version__
from editor.engine import answers
from editor.engine.answers import Status, TaskState
from editor.engine.audiocheck import check_audio_file
from editor.engine.errors import (
    BadAudio,
    InsecureURL,
    KeyRejected,
    NetworkDown,
    OutOfCredits,
    RateLimited,
    RequestRefused,
    ServiceError,
    ServiceUnavailable,
    SubmitUncertain,
    TaskFailed,
    UnknownTask,
    UnreadableAnswer,
)
from editor.engine.redact import redact, register

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://apiin.one"
SUBMIT_PATH = "/api/v1/audio/speech"
TASK_PATH = "/api/v1/tasks/{task_id}"
BALANCE_PATHS = ("/api/v1/credits", "/api/v1/user/credits")
MAX_AUDIO_BYTES = 100 * 1024 * 1024
AUDIO_TYPES = ("audio/", "application/octet-stream", "binary/octet-stream")


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


def retry_after(response: httpx.Response, default: float | None = None) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return default


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
    deadline: float = 15 * 60.0  # for one task, from submit to audio
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
        if _origin(url) == self._origin:
            return {"Authorization": f"Bearer {self._key}"}
        return {}

    def _error_for(self, response: httpx.Response, *, polling: bool = False,
                   task_id: str = "") -> ServiceError:
        status = response.status_code
        body = response.content[:4000]
        try:
            payload: Any = answers.parse_json(body, "error")
        except UnreadableAnswer:
            payload = None
        detail = answers.read_error(payload) or ""
        if status in (401, 403):
            return KeyRejected(detail)
        if status == 402:
            return OutOfCredits(detail)
        if status == 404 and polling:
            return UnknownTask(task_id)
        if status in (400, 409, 413, 422):
            if not detail:
                detail = " ".join(body.decode("utf-8", "replace").split())[:200] or f"HTTP {status}"
            return RequestRefused(detail, answers.read_error_field(payload))
        if status == 429:
            return RateLimited(retry_after(response))
        if status >= 500:
            return ServiceUnavailable(status, detail)
        return UnreadableAnswer(f"unexpected HTTP {status}", body)

    # --- submit ------------------------------------------------------------------------

    async def submit(self, body: dict[str, Any], attempts: int = 4) -> Submitted:
        """Send one planned request; its task id, or the audio when it answers at once."""
        payload = dict(body)
        if self.callback_url:
            payload["callback_url"] = self.callback_url
        url = self._api_url(SUBMIT_PATH)
        wait = 1.0
        for attempt in range(1, attempts + 1):
            try:
                self.requests_sent += 1
                response = await self._http.post(url, json=payload, headers=self._headers_for(url))
            except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                # The request never left this computer: sending it again cannot charge twice.
                if attempt == attempts:
                    raise NetworkDown(redact(str(e)) or type(e).__name__) from None
                await asyncio.sleep(wait)
                wait *= 2
                continue
            except httpx.TransportError as e:
                raise SubmitUncertain(type(e).__name__) from None
            if response.status_code in (429, 503) and attempt < attempts:
                # An explicit "not now": the service did not take the request.
                delay = retry_after(response, wait)
                wait *= 2
                await asyncio.sleep(min(delay or 0.0, self.policy.max_retry_wait))
                continue
            return self._read_submit(response)
        raise AssertionError("unreachable")

    def _read_submit(self, response: httpx.Response) -> Submitted:
        if response.status_code >= 400:
            raise self._error_for(response)
        ctype = response.headers.get("content-type", "").lower()
        if ctype.startswith("audio/"):
            if not response.content:
                raise BadAudio("the service answered with empty audio")
            return Submitted(None, audio=response.content)
        obj = answers.parse_json(response.content, "the submit answer")
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
        raise UnreadableAnswer("no task id in it", response.content)

    # --- poll ----------------------------------------------------------------------------

    async def _get(self, url: httpx.URL, deadline: float, *, polling: bool = False,
                   task_id: str = "", stream: bool = False) -> httpx.Response:
        """A GET retried through 429, 5xx and dropped connections until ``deadline``."""
        wait = 0.5
        while True:
            try:
                request = self._http.build_request("GET", url, headers=self._headers_for(url))
                self.requests_sent += 1
                response = await self._http.send(request, stream=stream)
            except httpx.TransportError as e:
                error: ServiceError = NetworkDown(type(e).__name__)
                delay = wait
            else:
                if response.status_code == 429 or response.status_code >= 500:
                    if stream:
                        await response.aread()
                    error = self._error_for(response, polling=polling, task_id=task_id)
                    delay = retry_after(response, wait) or wait
                    await response.aclose()
                else:
                    return response
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise error
            await asyncio.sleep(min(delay, remaining, self.policy.max_retry_wait))
            wait = min(wait * 2, 8.0)

    async def poll(self, task_id: str, deadline: float | None = None) -> TaskState:
        """One status read (retried through transient faults, including a garbled answer)."""
        deadline = deadline or time.monotonic() + 120.0
        url = self._api_url(TASK_PATH.format(task_id=quote(task_id, safe="")))
        for attempt in range(3):
            response = await self._get(url, deadline, polling=True, task_id=task_id)
            if response.status_code >= 400:
                raise self._error_for(response, polling=True, task_id=task_id)
            try:
                obj = answers.parse_json(response.content, "the task status")
                return answers.read_task(obj, response.content)
            except UnreadableAnswer:
                if attempt == 2 or time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(0.5 * (attempt + 1))
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
        """Poll until the task is finished (its state) or failed (:class:`TaskFailed`).

        ``started`` (monotonic time of the submit's answer) lets the client learn how long
        tasks take and poll when they are likely done, not on a fixed clock.
        """
        deadline = deadline or time.monotonic() + self.policy.deadline
        not_yet: float | None = None  # when a poll last saw it unfinished
        for delay in self._schedule(started):
            await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            asked = time.monotonic()
            state = await self.poll(task_id, deadline)
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
                raise ServiceUnavailable(504, "the task did not finish in time")
        raise AssertionError("unreachable")

    # --- audio ---------------------------------------------------------------------------

    async def fetch_audio(self, location: str, dest_dir: Path,
                          deadline: float | None = None) -> Path:
        """Download audio to a checked temporary file in ``dest_dir``; returns its path.

        The caller moves it into place (the cache). Refuses non-http(s) schemes,
        plain http off loopback, redirects to either, bodies over the size cap,
        non-audio content types and undecodable audio. A broken-off or garbled
        download is fetched again (a GET costs nothing) up to three times.
        """
        deadline = deadline or time.monotonic() + 300.0
        for attempt in range(3):
            try:
                return await self._fetch_once(location, dest_dir, deadline)
            except BadAudio as e:
                if not e.transient or attempt == 2 or time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _fetch_once(self, location: str, dest_dir: Path, deadline: float) -> Path:
        url = check_url(urljoin(str(self.base_url) + "/", location), "audio address")
        for _hop in range(6):
            response = await self._get(url, deadline, stream=True)
            if response.status_code in (301, 302, 303, 307, 308):
                target = response.headers.get("location", "")
                await response.aclose()
                url = check_url(urljoin(str(url), target), "audio redirect")
                continue
            try:
                if response.status_code >= 400:
                    await response.aread()
                    if response.status_code == 404:
                        raise BadAudio("the audio file was not found on the audio host (HTTP 404)")
                    raise self._error_for(response)
                return await self._save_stream(response, dest_dir)
            finally:
                await response.aclose()
        raise BadAudio("too many redirects")

    async def _save_stream(self, response: httpx.Response, dest_dir: Path) -> Path:
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype and not ctype.startswith(AUDIO_TYPES):
            body = await response.aread()
            raise BadAudio(f"the audio host sent {ctype} instead of audio: "
                           f"{' '.join(body[:120].decode('utf-8', 'replace').split())!r}")
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_audio_bytes:
            raise BadAudio(f"the file is {int(declared) // 1_000_000} MB, over the "
                           f"{self.max_audio_bytes // 1_000_000} MB limit")
        dest_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".download-", suffix=".part", dir=dest_dir)
        path = Path(name)
        size = 0
        try:
            with os.fdopen(fd, "wb") as f:
                try:
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > self.max_audio_bytes:
                            raise BadAudio(f"the file is over the "
                                           f"{self.max_audio_bytes // 1_000_000} MB limit")
                        f.write(chunk)
                except httpx.TransportError as e:
                    raise BadAudio(f"the download broke off ({type(e).__name__})",
                                   transient=True) from None
            if declared and declared.isdigit() and size != int(declared):
                raise BadAudio(f"the download is truncated ({size} of {declared} bytes)",
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
        fd, name = tempfile.mkstemp(prefix=".inline-", suffix=".part", dir=dest_dir)
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

    async def balance(self) -> float | None:
        """The credit balance, or None when the service does not offer one."""
        paths = [self._balance_path] if self._balance_path else list(BALANCE_PATHS)
        for path in paths:
            url = self._api_url(path)
            try:
                response = await self._http.get(url, headers=self._headers_for(url))
            except httpx.TransportError:
                return None
            if response.status_code in (401, 403):
                raise KeyRejected(answers.read_error(_json_or_none(response)) or "")
            if response.status_code != 200:
                continue
            try:
                value = answers.read_credits(answers.unwrap(_json_or_none(response) or {}))
            except UnreadableAnswer:
                value = None
            if value is not None:
                self._balance_path = path
                return value
        return None

    async def check_key(self) -> float | None:
        """Ask the service whether the key works (KeyRejected if not); the balance if known."""
        return await self.balance()


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
