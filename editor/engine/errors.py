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


class TaskFailed(ServiceError):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"The service could not speak this line: {reason or 'no reason given'}.")


class UnknownTask(ServiceError):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"The service no longer knows task {task_id}.")


class UnreadableAnswer(ServiceError):
    def __init__(self, what: str, answer: str | bytes) -> None:
        if isinstance(answer, bytes):
            answer = answer.decode("utf-8", errors="replace")
        quoted = " ".join(answer.split())
        if len(quoted) > 300:
            quoted = quoted[:297] + "..."
        super().__init__(f"The service's answer could not be read ({what}): «{quoted}»")


class NetworkDown(ServiceError):
    retryable = True

    def __init__(self, detail: str = "") -> None:
        extra = f" ({detail})" if detail else ""
        super().__init__("Cannot reach the speech service" + extra +
                         ". Check the internet connection and try again.")


class SubmitUncertain(ServiceError):
    """The submit may have reached the service (and been charged) but its answer was lost."""

    def __init__(self, detail: str = "") -> None:
        extra = f" ({detail})" if detail else ""
        super().__init__("The connection broke after the request was sent" + extra +
                         ", so it may already have been charged. Castline did not send it "
                         "again; render the line again to retry.")


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
