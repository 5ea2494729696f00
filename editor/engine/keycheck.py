"""Does this key work? One truthful check, for Settings → Test key and ``castline key test``.

Only an answer from the service counts; silence never reads as success.

1. ``GET`` each balance endpoint (``/api/v1/credits``, then ``/api/v1/user/credits``) with
   the key. A 2xx JSON answer is an authenticated request answered with success: the key
   **works** (with the balance when the answer holds one). 401/403: **rejected**. A network
   error, a timeout, 429 or 5xx: the service could not be reached (or could not answer), and
   nothing is known about the key: **unreachable**, with the reason.
2. When neither balance endpoint is there (404, or any other answer that proves nothing: a
   redirect, a web page), ask for a task that cannot exist,
   ``GET /api/v1/tasks/castline-keycheck-<random>``, twice: once **without** the key, once
   with it. The contract's service checks the key before it looks the task up, so without a
   key it answers 401/403 and with an accepted key 404 ("no such task"). That pair shows the
   service read the key and let it through: **accepted — balance not available**. The
   keyless control matters: a wrong address that answers 404 to everything (any web server)
   would otherwise pass a bad key as good. If the control is not refused, the answers show
   nothing about the key: **unverified**, never "works". A GET of a task costs nothing.

The key goes only to the API's own origin (``Authorization`` is added per request, after
checking the origin; redirects are not followed), over https or on loopback
(:func:`editor.engine.client.check_url`), never in a URL, and never into a message.
"""

from __future__ import annotations

import asyncio
import enum
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from editor import __version__
from editor.engine import answers
from editor.engine.client import BALANCE_PATHS, TASK_PATH, _origin, check_url
from editor.engine.errors import UnreadableAnswer
from editor.engine.redact import redact, register

DEADLINE = 30.0  # seconds for the whole check


class Outcome(enum.Enum):
    WORKS = "works"  # an authenticated request was answered with 2xx
    ACCEPTED_NO_BALANCE = "accepted"  # the key was let through; the service offers no balance
    REJECTED = "rejected"  # 401/403
    UNREACHABLE = "unreachable"  # network error, timeout, 429, 5xx: nothing known about the key
    UNVERIFIED = "unverified"  # the service answered, but nothing in it shows the key works

    @property
    def accepted(self) -> bool:
        return self in (Outcome.WORKS, Outcome.ACCEPTED_NO_BALANCE)


@dataclass(frozen=True, slots=True)
class KeyCheck:
    outcome: Outcome
    message: str  # one sentence or two for a writer
    detail: str  # what was asked and answered, for a bug report (no key in it)
    balance: float | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome.accepted


class _Stop(Exception):
    def __init__(self, check: KeyCheck) -> None:
        super().__init__(check.message)
        self.check = check


def _error_text(response: httpx.Response) -> str:
    try:
        payload: Any = answers.parse_json(response.content[:4000], "error")
    except UnreadableAnswer:
        return ""
    return answers.read_error(payload) or ""


def _json(response: httpx.Response) -> Any:
    """The answer as JSON, or None (a web page, an empty body: no evidence)."""
    try:
        return answers.parse_json(response.content, "the balance")
    except UnreadableAnswer:
        return None


class _Checker:
    def __init__(self, base_url: str, key: str, http: httpx.AsyncClient) -> None:
        self.base = check_url(base_url.rstrip("/"), "service address")
        self.origin = _origin(self.base)
        self.key = key
        self.http = http
        self.steps: list[str] = []

    @property
    def where(self) -> str:
        return str(self.base)

    def detail(self) -> str:
        return "; ".join(self.steps)

    def stop(self, outcome: Outcome, message: str, balance: float | None = None) -> _Stop:
        return _Stop(KeyCheck(outcome, redact(message), redact(self.detail()), balance))

    async def get(self, path: str, *, with_key: bool) -> httpx.Response:
        url = self.base.join(path)
        headers = {}
        if with_key and _origin(url) == self.origin:  # the key never leaves the API's origin
            headers["Authorization"] = f"Bearer {self.key}"
        label = f"GET {path}" + ("" if with_key else " (no key)")
        try:
            response = await self.http.get(url, headers=headers)
        except httpx.TimeoutException as e:
            self.steps.append(f"{label}: {type(e).__name__}")
            raise self.stop(Outcome.UNREACHABLE, f"Could not reach the service at {self.where}: "
                            "it did not answer in time. The key was not checked.") from None
        except httpx.TransportError as e:
            reason = redact(str(e)) or type(e).__name__
            self.steps.append(f"{label}: {type(e).__name__}: {reason}")
            raise self.stop(Outcome.UNREACHABLE, f"Could not reach the service at {self.where} "
                            f"({reason}). Check the internet connection and the service "
                            "address; the key was not checked.") from None
        status = response.status_code
        self.steps.append(f"{label}: HTTP {status}")
        if status == 429 or status >= 500:
            said = _error_text(response)
            raise self.stop(Outcome.UNREACHABLE, f"The service at {self.where} could not answer "
                            f"(HTTP {status}{': ' + said if said else ''}); the key was not "
                            "checked. Try again in a few minutes.")
        if with_key and status in (401, 403):
            said = _error_text(response)
            raise self.stop(Outcome.REJECTED, f"The service rejected this key (HTTP {status}"
                            f"{': ' + said if said else ''}). Check it, or create a new one in "
                            "the API in One dashboard.")
        return response

    async def run(self) -> KeyCheck:
        for path in BALANCE_PATHS:
            response = await self.get(path, with_key=True)
            payload = _json(response) if 200 <= response.status_code < 300 else None
            if payload is None:
                continue  # 404 (no such endpoint) or an answer that proves nothing: next
            value = answers.read_credits(answers.unwrap(payload)) \
                if isinstance(payload, dict) else None
            if value is not None:
                return KeyCheck(Outcome.WORKS, f"The key works. Balance: {value:,.2f} credits.",
                                self.detail(), value)
            return KeyCheck(Outcome.WORKS, "The key works (the service did not report the "
                            "balance).", self.detail())
        # No balance endpoint: does the service tell a keyless request from ours?
        path = TASK_PATH.format(task_id=f"castline-keycheck-{secrets.token_hex(8)}")
        control = await self.get(path, with_key=False)
        answer = await self.get(path, with_key=True)  # 401/403 stop as REJECTED
        refused_without = control.status_code in (401, 403)
        let_through = answer.status_code < 300 or 400 <= answer.status_code < 500  # 404 mostly
        if refused_without and let_through:
            return KeyCheck(Outcome.ACCEPTED_NO_BALANCE, "The service accepted the key, but it "
                            "does not offer a balance, so Castline cannot show your credits.",
                            self.detail())
        return KeyCheck(Outcome.UNVERIFIED, f"The service at {self.where} answered, but not in a "
                        "way that shows whether it accepts the key (it does not ask for a key "
                        "where Castline looked). Check the service address.", self.detail())


async def check_key(base_url: str, key: str, http: httpx.AsyncClient | None = None, *,
                    timeout: float = DEADLINE) -> KeyCheck:
    """Ask the service at ``base_url`` whether it accepts ``key`` (see the module's rules).

    Raises :class:`editor.engine.errors.InsecureURL` for an address Castline will not send a
    key to (plain http off loopback, credentials in it, not http(s)).
    """
    register(key)
    own = http is None
    client = http or httpx.AsyncClient(
        timeout=httpx.Timeout(min(timeout, 15.0), connect=min(timeout, 10.0)),
        follow_redirects=False, trust_env=False,
        headers={"User-Agent": f"Castline/{__version__}"})
    checker = _Checker(base_url, key, client)
    try:
        return await asyncio.wait_for(checker.run(), timeout)
    except _Stop as stop:
        return stop.check
    except TimeoutError:
        checker.steps.append(f"no answer within {timeout:g} s")
        return KeyCheck(Outcome.UNREACHABLE, f"Could not reach the service at {checker.where}: "
                        "it did not answer in time. The key was not checked.",
                        redact(checker.detail()))
    finally:
        if own:
            await client.aclose()
