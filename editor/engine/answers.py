"""Read the service's answers, whatever shape they come in (CONTRACT §1).

The live service's JSON is not published, so every reader here accepts each
documented variant and reports anything else as :class:`UnreadableAnswer`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from editor.engine.errors import InsecureURL, UnreadableAnswer


class Status(StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


_STATUS_WORDS = {
    Status.WAITING: ("pending", "queued", "waiting", "submitted", "created"),
    Status.RUNNING: ("processing", "running", "in_progress", "generating"),
    Status.FINISHED: ("completed", "succeeded", "success", "done", "finished"),
    Status.FAILED: ("failed", "error", "cancelled", "canceled", "expired", "timeout"),
}
STATUS_OF = {word: status for status, words in _STATUS_WORDS.items() for word in words}
ALL_STATUS_WORDS = tuple(STATUS_OF)

_URL_KEYS = ("audio_url", "url", "audio", "file_url", "result_url")
_B64_KEYS = ("audio_base64", "audio_b64", "base64", "b64", "audio_data", "audio")
_NESTS = ("output", "result", "results", "outputs")


@dataclass(frozen=True, slots=True)
class TaskState:
    status: Status
    task_id: str | None = None
    progress: float | None = None  # 0..1 when the service reports it
    audio_url: str | None = None
    audio_bytes: bytes | None = None
    message: str | None = None
    credits_left: float | None = None


def parse_json(body: bytes | str, what: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise UnreadableAnswer(f"{what} is not JSON", body) from None


def unwrap(obj: Any) -> dict[str, Any]:
    """The payload: ``obj["data"]`` when the answer wraps everything in it."""
    if not isinstance(obj, dict):
        raise UnreadableAnswer("expected a JSON object", json.dumps(obj)[:300])
    data = obj.get("data")
    if isinstance(data, dict):
        merged = {k: v for k, v in obj.items() if k != "data"}
        merged.update(data)
        return merged
    return obj


def read_task_id(payload: dict[str, Any]) -> str | None:
    for key in ("task_id", "taskId", "id"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


def read_error(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    err = payload.get("error")
    if isinstance(err, dict):
        for key in ("message", "detail", "msg", "reason"):
            if isinstance(err.get(key), str) and err[key].strip():
                return str(err[key]).strip()
    if isinstance(err, str) and err.strip():
        return err.strip()
    for key in ("message", "detail", "msg", "reason", "error_message"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, list) and value:  # FastAPI-style validation detail
            return json.dumps(value, ensure_ascii=False)[:300]
    data = payload.get("data")
    return read_error(data) if isinstance(data, dict) else None


def read_error_field(payload: Any) -> str | None:
    """The request field a 400/422 answer complains of, when it names one."""
    if not isinstance(payload, dict):
        return None
    for src in (payload, payload.get("error"), payload.get("data")):
        if isinstance(src, dict):
            for key in ("field", "param", "parameter", "loc"):
                v = src.get(key)
                if isinstance(v, str) and v:
                    return v
                if isinstance(v, list) and v:
                    return ".".join(str(x) for x in v if x != "body")
    detail = payload.get("detail")
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        loc = detail[0].get("loc")
        if isinstance(loc, list):
            return ".".join(str(x) for x in loc if x != "body")
    return None


def read_status(payload: dict[str, Any], raw: bytes | str) -> Status | None:
    for key in ("status", "state", "task_status"):
        word = payload.get(key)
        if isinstance(word, str):
            status = STATUS_OF.get(word.strip().lower().replace("-", "_").replace(" ", "_"))
            if status is None:
                raise UnreadableAnswer(f"unknown task status {word!r}", raw)
            return status
    return None


def read_progress(payload: dict[str, Any]) -> float | None:
    for key in ("progress", "percent", "percentage"):
        v = payload.get(key)
        if isinstance(v, int | float) and not isinstance(v, bool):
            value = float(v)
            if value > 1.0:
                value /= 100.0
            return min(max(value, 0.0), 1.0)
    return None


def read_credits(payload: dict[str, Any]) -> float | None:
    for key in ("credits", "balance", "credit_balance", "credits_remaining", "remaining_credits",
                "credits_left"):
        v = payload.get(key)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return float(v)
        if isinstance(v, str):
            try:
                return float(v)
            except ValueError:
                continue
        if isinstance(v, dict):
            inner = read_credits(v)
            if inner is not None:
                return inner
    return None


def _looks_like_url(s: str) -> bool:
    return "://" in s[:16] or s.startswith("/")


def _refuse_data_url(s: str) -> None:
    """A ``data:`` URL is refused wherever it appears (README, CONTRACT §1: audio comes as an
    https address or as base64 in a field of its own, never as an inline URL)."""
    if s.lstrip()[:5].lower() == "data:":
        shown = s.strip()[:32] + ("…" if len(s.strip()) > 32 else "")
        raise InsecureURL(shown, "the service named its audio as a data: URL, which Castline "
                          "does not accept (only an https address, or base64 audio in a field "
                          "of its own)")


def _decode_b64(s: str) -> bytes | None:
    if len(s) < 16:
        return None
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        try:
            return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
        except (binascii.Error, ValueError):
            return None


def find_audio(payload: Any, depth: int = 0) -> tuple[str | None, bytes | None]:
    """(audio URL, inline audio bytes): one of them, or (None, None).

    Raises :class:`InsecureURL` for a ``data:`` URL met on the way.
    """
    if depth > 4:
        return None, None
    if isinstance(payload, list):
        for item in payload:
            url, data = find_audio(item, depth + 1)
            if url or data:
                return url, data
        return None, None
    if isinstance(payload, str):
        _refuse_data_url(payload)
        if _looks_like_url(payload):
            return payload, None
        data = _decode_b64(payload)
        return (None, data) if data else (None, None)
    if not isinstance(payload, dict):
        return None, None
    for key in _URL_KEYS:
        v = payload.get(key)
        if isinstance(v, str):
            _refuse_data_url(v)
            if _looks_like_url(v):
                return v, None
        if isinstance(v, dict | list):
            url, data = find_audio(v, depth + 1)
            if url or data:
                return url, data
    for key in _B64_KEYS:
        v = payload.get(key)
        if isinstance(v, str):
            _refuse_data_url(v)
            data = _decode_b64(v)
            if data:
                return None, data
    for key in _NESTS:
        if key in payload:
            url, data = find_audio(payload[key], depth + 1)
            if url or data:
                return url, data
    return None, None


def read_task(obj: Any, raw: bytes | str) -> TaskState:
    """A poll (or submit) answer as a :class:`TaskState`."""
    payload = unwrap(obj)
    status = read_status(payload, raw)
    url, data = find_audio(payload)
    if status is None:
        if url or data:
            status = Status.FINISHED
        elif read_task_id(payload):
            status = Status.WAITING
        else:
            raise UnreadableAnswer("no task status in it", raw)
    message = read_error(payload) if status is Status.FAILED else None
    if status is Status.FINISHED and not (url or data):
        raise UnreadableAnswer("the task is finished but no audio is named", raw)
    return TaskState(status, read_task_id(payload), read_progress(payload), url, data, message,
                     read_credits(payload))
