"""Reading every answer shape of CONTRACT §1 (pure functions, no network)."""

from __future__ import annotations

import base64
import json

import pytest

from editor.engine import answers
from editor.engine.answers import Status
from editor.engine.errors import InsecureURL, UnreadableAnswer

WORDS = {
    Status.WAITING: ["pending", "queued", "waiting", "submitted", "created"],
    Status.RUNNING: ["processing", "running", "in_progress", "generating"],
    Status.FINISHED: ["completed", "succeeded", "success", "done", "finished"],
    Status.FAILED: ["failed", "error", "cancelled", "canceled", "expired", "timeout"],
}
AUDIO = "https://cdn.example/a.mp3"


def read(obj: object) -> answers.TaskState:
    raw = json.dumps(obj)
    return answers.read_task(json.loads(raw), raw)


@pytest.mark.parametrize(("word", "status"), [(w, s) for s, ws in WORDS.items() for w in ws])
@pytest.mark.parametrize("case", [str.lower, str.upper, str.title])
def test_every_status_word_in_any_case(word: str, status: Status, case: object) -> None:
    obj = {"task_id": "t1", "status": case(word)}  # type: ignore[operator]
    if status is Status.FINISHED:
        obj["audio_url"] = AUDIO
    if status is Status.FAILED:
        obj["error"] = {"message": "voice not found"}
    state = read(obj)
    assert state.status is status
    if status is Status.FAILED:
        assert state.message == "voice not found"


@pytest.mark.parametrize("obj", [
    {"audio_url": AUDIO}, {"url": AUDIO}, {"audio": AUDIO}, {"file_url": AUDIO},
    {"result_url": AUDIO}, {"output": {"audio_url": AUDIO}}, {"output": [{"url": AUDIO}]},
    {"result": {"file_url": AUDIO}}, {"result": [{"audio_url": AUDIO, "format": "mp3"}]},
    {"output": AUDIO}, {"data": {"result": {"url": AUDIO}}},
])
def test_audio_url_in_every_place(obj: dict) -> None:
    state = read({"status": "completed", **obj})
    assert state.audio_url == AUDIO


def test_base64_audio_in_its_own_field() -> None:
    blob = b"ID3" + bytes(range(256)) * 4
    enc = base64.b64encode(blob).decode()
    assert read({"status": "done", "audio_base64": enc}).audio_bytes == blob
    assert read({"status": "done", "audio": enc}).audio_bytes == blob
    assert read({"status": "done", "output": {"audio": enc}}).audio_bytes == blob


@pytest.mark.parametrize("obj", [
    {"audio": "data:audio/mpeg;base64,{enc}"}, {"audio_url": "data:audio/mpeg;base64,{enc}"},
    {"audio_base64": "data:audio/mpeg;base64,{enc}"}, {"output": "Data:audio/wav,{enc}"},
    {"result": [{"url": "  data:;base64,{enc}"}]}, {"data": {"output": {"file_url": "data:,x"}}},
])
def test_data_urls_are_refused_wherever_they_appear(obj: dict) -> None:
    enc = base64.b64encode(b"ID3" + bytes(range(256)) * 4).decode()
    with pytest.raises(InsecureURL, match="data: URL"):
        read(json.loads(json.dumps(obj).replace("{enc}", enc)) | {"status": "done"})


@pytest.mark.parametrize("obj", [{"task_id": "abc"}, {"taskId": "abc"}, {"id": "abc"},
                                 {"data": {"task_id": "abc"}}, {"data": {"id": "abc"}}])
def test_task_id_keys_and_data_wrapper(obj: dict) -> None:
    assert answers.read_task_id(answers.unwrap(obj)) == "abc"


def test_numeric_task_id() -> None:
    assert answers.read_task_id({"id": 42}) == "42"


@pytest.mark.parametrize(("obj", "message"), [
    ({"error": {"message": "bad voice"}}, "bad voice"), ({"error": "bad voice"}, "bad voice"),
    ({"message": "bad voice"}, "bad voice"), ({"detail": "bad voice"}, "bad voice"),
    ({"msg": "bad voice"}, "bad voice"), ({"data": {"error": "bad voice"}}, "bad voice"),
])
def test_error_message_places(obj: dict, message: str) -> None:
    assert answers.read_error(obj) == message


def test_progress_as_fraction_or_percent() -> None:
    assert read({"status": "running", "task_id": "t", "progress": 40}).progress == 0.4
    assert read({"status": "running", "task_id": "t", "progress": 0.25}).progress == 0.25


@pytest.mark.parametrize(("obj", "why"), [
    ({"status": "teleporting"}, "unknown task status"),
    ({"status": "completed"}, "no audio is named"),
    ({"hello": "world"}, "no task status"),
    ([1, 2], "expected a JSON object"),
])
def test_unreadable_answers_are_clear_errors_quoting_them(obj: object, why: str) -> None:
    with pytest.raises(UnreadableAnswer, match=why):
        read(obj)


def test_unreadable_answer_quotes_with_key_redacted() -> None:
    from editor.engine.redact import register

    register("aio_fake-test-key-123456")
    with pytest.raises(UnreadableAnswer) as e:
        answers.parse_json(b"<html>token aio_fake-test-key-123456</html>", "the answer")
    assert "aio_fake-test-key-123456" not in str(e.value)
    assert "<html>token [redacted]</html>" in str(e.value)
