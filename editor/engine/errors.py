"""What can go wrong talking to the service, each with one sentence for a writer."""

from __future__ import annotations

from editor.engine.redact import redact

BILLING_URL = "https://apiin.one/billing/credits"


class ServiceError(Exception):
    """Base: ``str(error)`` is a sentence a writer can act on (key redacted)."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self)


class KeyRejected(ServiceError):
    def __init__(self, detail: str = "") -> None:
        extra = f" ({detail})" if detail else ""
        super().__init__("The service rejected the API key" + extra +
                         ". Check it in Settings, or create a new one in the API in One dashboard.")


class OutOfCredits(ServiceError):
    def __init__(self, detail: str = "") -> None:
        extra = f" ({detail})" if detail else ""
        super().__init__("Not enough credits for this request" + extra +
                         f". Top up at {BILLING_URL} and render again.")


class RequestRefused(ServiceError):
    def __init__(self, detail: str, field: str | None = None) -> None:
        self.field = field
        where = f" (field '{field}')" if field else ""
        super().__init__(f"The service refused the request{where}: {detail}")


class RateLimited(ServiceError):
    retryable = True

    def __init__(self, retry_after: float | None) -> None:
        self.retry_after = retry_after
        wait = f" It asked to wait {retry_after:g} s." if retry_after is not None else ""
        super().__init__("The service is busy and asked Castline to slow down." + wait)


class ServiceUnavailable(ServiceError):
    retryable = True

    def __init__(self, status: int, detail: str = "") -> None:
        self.status = status
        extra = f": {detail}" if detail else ""
        super().__init__(f"The speech service is having trouble (HTTP {status}{extra}). "
                         "Try again in a few minutes.")


class ServiceBusy(ServiceUnavailable):
    """503 with ``Retry-After`` on a submit, still busy after every allowed wait.

    The service said "not now" each time: it did not take the request, so nothing was charged.
    """

    def __init__(self, retry_after: float | None = None, detail: str = "") -> None:
        self.retry_after = retry_after
        ServiceError.__init__(
            self, "The speech service is busy (HTTP 503) and asked Castline to come back later"
            + (f": {detail}" if detail else "")
            + ". It did not take the request, so nothing was charged; render again in a few "
            "minutes.")
        self.status = 503


class TaskFailed(ServiceError):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"The service could not speak this line: {reason or 'no reason given'}.")


class UnknownTask(ServiceError):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"The service no longer knows task {task_id}.")


class UnreadableAnswer(ServiceError):
    def __init__(self, what: str, answer: str | bytes = b"") -> None:
        self.what = what
        if isinstance(answer, bytes):
            answer = answer.decode("utf-8", errors="replace")
        quoted = " ".join("".join(c for c in answer if c.isprintable() or c.isspace()).split())
        if len(quoted) > 300:
            quoted = quoted[:297] + "..."
        shown = f": «{quoted}»" if quoted else "."
        super().__init__(f"The service's answer could not be read ({what}){shown}")


def size_text(limit: int) -> str:
    """``1048576`` -> ``"1 MB"`` (binary megabytes, as the limits are set)."""
    mb = limit / (1024 * 1024)
    return f"{mb:.0f} MB" if mb >= 1 else f"{max(1, limit // 1024)} KB"


class AnswerTooLarge(ServiceError):
    """An answer went past its size limit (counted after decompression); reading stopped."""

    retryable = True

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.reason = f"The service sent an answer larger than {size_text(limit)}"
        super().__init__(self.reason + "; Castline stopped reading it.")


class AnswerTooSlow(ServiceError):
    """An answer (or a task) did not come within its overall deadline."""

    retryable = True

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        self.reason = "The service took too long to answer"
        extra = f" ({detail})" if detail else ""
        super().__init__(self.reason + extra + "; Castline stopped waiting. Try again later.")


class NetworkDown(ServiceError):
    """The request never left this computer (no connection): not charged."""

    retryable = True

    def __init__(self, detail: str = "") -> None:
        self.detail = redact(detail)  # the technical reason, for "Details"
        super().__init__("Can't reach the speech service. Check the internet connection; "
                         "nothing was sent or charged.")


class SubmitUncertain(ServiceError):
    """The submit was sent and may have been charged, but no usable answer came back.

    Never sent again on its own: the render journal keeps the request as *maybe charged*;
    the window asks before sending it again, the CLI needs ``--resend-unknown``.
    ``reason`` is the writer's sentence, ``detail`` the technical one, ``status`` the HTTP
    status when there was one.
    """

    def __init__(self, reason: str, detail: str = "", *, status: int | None = None) -> None:
        self.reason = reason
        self.detail = redact(detail)
        self.status = status
        extra = f" ({self.detail})" if self.detail else ""
        super().__init__(
            f"{reason}{extra}. The request had already been sent, so it may have been charged. "
            "Castline will not send it again on its own: the next render in the window asks "
            "first, and 'castline render --resend-unknown' sends it again knowingly.")


class BadAudio(ServiceError):
    def __init__(self, detail: str, *, transient: bool = False) -> None:
        self.transient = transient  # worth fetching again (broken off, garbled)
        super().__init__(f"The audio from the service is unusable: {detail}.")


class InsecureURL(ServiceError):
    def __init__(self, url: str, why: str) -> None:
        super().__init__(f"Refused {url}: {why}.")


class NoApiKey(ServiceError):
    def __init__(self) -> None:
        super().__init__(
            "No API key is set. Set APIINONE_API_KEY, or store one with "
            "'castline key set' (it goes to the system keyring), or run with --sandbox "
            "to hear the built-in stand-in service.")
