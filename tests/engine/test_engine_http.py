"""The client and render engine over real HTTP against the sandbox on loopback."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from editor.engine.answers import ALL_STATUS_WORDS, STATUS_OF, Status
from editor.engine.audio import decode
from editor.engine.client import ServiceClient, check_url
from editor.engine.errors import (
    BadAudio,
    InsecureURL,
    KeyRejected,
    NetworkDown,
    OutOfCredits,
    RateLimited,
    RequestRefused,
    ServiceBusy,
    SubmitUncertain,
    TaskFailed,
)
from editor.engine.render import MayBeCharged, RenderOutcome, Resend, Stage
from editor.engine.sandbox import AUDIO_SHAPES, Fault, Shape
from tests.engine.test_hostile_answers import Answer, Exchange, HostileServer, as_json, whole
from tests.support.engine_helpers import FAST, Rig, requests_for, running_sandbox, small_scene
from tests.support.waiting import wait_until


async def render_one(tmp_path: Path, **sandbox: object) -> tuple[RenderOutcome, Rig]:
    async with running_sandbox(**sandbox) as box:
        rig = Rig(box, tmp_path)
        try:
            outcome = await rig.render(requests_for(small_scene(1)))
        finally:
            await rig.aclose()
        return outcome, rig  # type: ignore[return-value]


@pytest.mark.parametrize("audio", AUDIO_SHAPES)
@pytest.mark.parametrize(("wrap", "id_key", "case"), [
    (False, "task_id", "lower"), (True, "taskId", "upper"), (True, "id", "title")])
async def test_every_answer_shape_renders(tmp_path: Path, audio: str, wrap: bool, id_key: str,
                                          case: str) -> None:
    async with running_sandbox() as box:
        box.shape = Shape(wrap=wrap, id_key=id_key, case=case, audio=audio)
        rig = Rig(box, tmp_path)
        outcome = await rig.render(requests_for(small_scene(1)))
        await rig.aclose()
        assert box.stats.tasks_created == 1
        assert box.stats.auth_on_audio_host == 0
        if audio == "data_url":  # the sandbox can still send one; it is refused, as documented
            (error,) = outcome.errors.values()
            assert isinstance(error, InsecureURL) and "data: URL" in str(error)
            assert not outcome.paths
            return
        assert outcome.ok, outcome.errors
        (path,) = outcome.paths.values()
        assert decode(path).seconds > 0.3


@pytest.mark.parametrize("word", ALL_STATUS_WORDS)
async def test_every_status_word_is_understood(tmp_path: Path, word: str) -> None:
    status = STATUS_OF[word]
    # The task is "running" from latency/2 to latency: wider than the 0.2 s poll cap.
    async with running_sandbox(latency=0.6) as box:
        box.shape = Shape(**{status.value: word})
        if status is Status.FAILED:
            box.faults = [Fault("task", "fail")]
        rig = Rig(box, tmp_path)
        outcome = await rig.render(requests_for(small_scene(1)))
        await rig.aclose()
        if status is Status.FAILED:
            (error,) = outcome.errors.values()
            assert isinstance(error, TaskFailed)
            assert "could not synthesise" in str(error)
        else:
            assert outcome.ok, outcome.errors
            seen = {e.stage for e in rig.events}
            if status is Status.RUNNING:
                assert Stage.RUNNING in seen


# Faults the render must get through with exactly one charged submit per request.
SURVIVABLE = [
    ("submit", "429"), ("submit", "503"), ("submit", "slow"),
    ("poll", "429"), ("poll", "500"), ("poll", "502"), ("poll", "503"), ("poll", "drop"),
    ("poll", "drop_before"), ("poll", "slow"), ("poll", "malformed"), ("poll", "html"),
    ("download", "500"), ("download", "503"), ("download", "drop"), ("download", "truncated"),
    ("download", "undecodable"), ("download", "slow"), ("download", "429"),
]


@pytest.mark.parametrize(("phase", "kind"), SURVIVABLE)
async def test_render_survives_fault_with_one_submit(tmp_path: Path, phase: str, kind: str) -> None:
    async with running_sandbox() as box:
        box.faults = [Fault(phase, kind, times=2 if phase != "submit" else 1, seconds=0.3)]
        rig = Rig(box, tmp_path)
        requests = requests_for(small_scene(3))
        outcome = await rig.render(requests)
        await rig.aclose()
        assert outcome.ok, outcome.errors
        assert len(outcome.paths) == 3
        assert box.stats.tasks_created == 3  # never charged twice
        assert box.faults[0].times == 0  # the fault really happened


# Faults after which the request may have been charged: fail clearly, never re-send.
@pytest.mark.parametrize(("kind", "error", "charged"), [
    ("drop", SubmitUncertain, 1), ("drop_before", SubmitUncertain, 0),
    ("malformed", SubmitUncertain, 1), ("html", SubmitUncertain, 0),
    ("500", SubmitUncertain, 0), ("502", SubmitUncertain, 0),
])
async def test_submit_fault_that_may_have_charged_is_not_resent(
        tmp_path: Path, kind: str, error: type, charged: int) -> None:
    async with running_sandbox() as box:
        box.faults = [Fault("submit", kind, times=-1)]
        rig = Rig(box, tmp_path)
        outcome = await rig.render(requests_for(small_scene(1)))
        assert box.stats.submits == 1  # exactly one attempt
        assert box.stats.tasks_created == charged
        (err,) = outcome.errors.values()
        assert isinstance(err, error)
        # The next run asks before sending again; declining sends nothing.
        asked: list[object] = []

        async def decline(requests: list[object]) -> Resend:
            asked.extend(requests)
            return Resend.WAIT

        rig.fresh_engine()
        again = await rig.render(requests_for(small_scene(1)), confirm_resend=decline)
        assert len(asked) == 1
        assert isinstance(next(iter(again.errors.values())), MayBeCharged)
        assert box.stats.submits == 1
        await rig.aclose()


async def test_failed_task_keeps_its_reason_and_others_finish(tmp_path: Path) -> None:
    async with running_sandbox() as box:
        box.faults = [Fault("task", "fail", times=1)]
        rig = Rig(box, tmp_path)
        requests = requests_for(small_scene(4))
        outcome = await rig.render(requests)
        assert len(outcome.paths) == 3 and len(outcome.errors) == 1
        assert "could not synthesise" in str(next(iter(outcome.errors.values())))
        charged = box.stats.tasks_created
        # A re-run pays only for the failed line.
        rig.fresh_engine()
        again = await rig.render(requests)
        await rig.aclose()
        assert again.ok
        assert box.stats.tasks_created == charged + 1
        assert again.from_cache == 3


async def test_audio_host_404_then_rerun_resumes_without_paying(tmp_path: Path) -> None:
    async with running_sandbox() as box:
        box.faults = [Fault("download", "404", times=1)]
        rig = Rig(box, tmp_path)
        requests = requests_for(small_scene(1))
        first = await rig.render(requests)
        (err,) = first.errors.values()
        assert isinstance(err, BadAudio) and "404" in str(err)
        rig.fresh_engine()
        again = await rig.render(requests)
        await rig.aclose()
        assert again.ok and again.resumed == 1
        assert box.stats.tasks_created == 1


async def test_second_render_of_unchanged_scene_makes_no_http_call(tmp_path: Path) -> None:
    async with running_sandbox() as box:
        rig = Rig(box, tmp_path)
        requests = requests_for(small_scene(3), "take")
        assert (await rig.render(requests)).ok
        sent = rig.client.requests_sent
        stats = (box.stats.submits, box.stats.polls, box.stats.downloads)
        again = await rig.render(requests)
        await rig.aclose()
        assert again.ok and again.from_cache == len(requests)
        assert rig.client.requests_sent == sent
        assert (box.stats.submits, box.stats.polls, box.stats.downloads) == stats


async def test_identical_lines_are_sent_once(tmp_path: Path) -> None:
    scene = small_scene(1)
    scene.insert_lines(1, [scene.new_line("MARA", scene.lines[0].text)])
    async with running_sandbox() as box:
        rig = Rig(box, tmp_path)
        outcome = await rig.render(requests_for(scene))
        await rig.aclose()
        assert outcome.ok and box.stats.tasks_created == 1
        ready = [e for e in rig.events if e.stage is Stage.READY]
        assert {e.line_ids[0] for e in ready} == {ln.id for ln in scene.lines}


async def test_rejected_key_out_of_credits_and_refused_field(tmp_path: Path) -> None:
    async with running_sandbox() as box:
        rig = Rig(box, tmp_path, key="aio_wrong_key_0123456789")
        out = await rig.render(requests_for(small_scene(1)))
        err = next(iter(out.errors.values()))
        assert isinstance(err, KeyRejected)
        assert "aio_wrong_key_0123456789" not in str(err)
        await rig.aclose()

        box.credits = box.credits.__class__(0)
        rig = Rig(box, tmp_path / "b")
        out = await rig.render(requests_for(small_scene(1)))
        await rig.aclose()
        assert isinstance(next(iter(out.errors.values())), OutOfCredits)
        assert "billing/credits" in str(next(iter(out.errors.values())))
        assert box.stats.tasks_created == 0

        client = ServiceClient(box.base_url, box.key, policy=FAST)
        with pytest.raises(RequestRefused) as e:
            await client.submit({"model": "elevenlabs-v3", "dialogue": [{"text": "hi"}],
                                 "stability": 7})
        assert e.value.field == "stability"
        await client.aclose()


async def test_callback_url_is_passed_through_and_polling_still_runs(tmp_path: Path) -> None:
    async with running_sandbox() as box:
        client = ServiceClient(box.base_url, box.key, policy=FAST,
                               callback_url="https://example.org/hook")
        sub = await client.submit(requests_for(small_scene(1))[0].body)
        assert box.bodies[-1]["callback_url"] == "https://example.org/hook"
        state = await client.wait(sub.task_id or "")
        assert state.audio_url
        await client.aclose()


async def test_balance_is_read_when_offered(tmp_path: Path) -> None:
    async with running_sandbox(credits=123.5) as box:
        client = ServiceClient(box.base_url, box.key, policy=FAST)
        assert await client.balance() == 123.5
        await client.aclose()
        bad = ServiceClient(box.base_url, "aio_not_the_key_000000", policy=FAST)
        with pytest.raises(KeyRejected):
            await bad.balance()  # a rejected key is an error, not "no balance"
        await bad.aclose()


async def test_balance_absent_is_not_an_error() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": "no such route"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = ServiceClient("https://api.example", "aio_x_0123456789", http=http)
    assert await client.balance() is None
    await http.aclose()


@pytest.mark.parametrize("url", [
    "http://example.com", "ftp://example.com", "file:///etc/passwd", "https://user:pw@host.example",
    "http://10.0.0.1", "javascript:alert(1)",
])
def test_insecure_service_urls_are_refused(url: str) -> None:
    with pytest.raises(InsecureURL):
        ServiceClient(url, "aio_x_0123456789")


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9",
                                 "https://apiin.one"])
def test_loopback_http_and_https_are_allowed(url: str) -> None:
    check_url(url, "service address")


@pytest.mark.parametrize("location", [
    "file:///etc/passwd", "data:audio/mpeg;base64,AAAA", "http://203.0.113.9/a.mp3",
    "ftp://cdn.example/a.mp3"])
async def test_audio_urls_with_bad_schemes_are_refused(tmp_path: Path, location: str) -> None:
    client = ServiceClient("https://api.example", "aio_x_0123456789")
    with pytest.raises(InsecureURL):
        await client.fetch_audio(location, tmp_path)
    await client.aclose()


async def test_redirect_to_another_scheme_and_oversize_are_refused(tmp_path: Path) -> None:
    wav = (Path(__file__).parents[1] / "data").glob("*.wav")
    del wav

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/redirect":
            return httpx.Response(302, headers={"Location": "file:///etc/passwd"})
        if request.url.path == "/plain":
            return httpx.Response(302, headers={"Location": "http://203.0.113.9/a.mp3"})
        return httpx.Response(200, headers={"Content-Type": "audio/mpeg",
                                            "Content-Length": str(10**9)}, content=b"x" * 10)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = ServiceClient("https://api.example", "aio_x_0123456789", http=http,
                           max_audio_bytes=1000)
    with pytest.raises(InsecureURL):
        await client.fetch_audio("https://cdn.example/redirect", tmp_path)
    with pytest.raises(InsecureURL):
        await client.fetch_audio("https://cdn.example/plain", tmp_path)
    with pytest.raises(BadAudio, match="over the"):
        await client.fetch_audio("https://cdn.example/big", tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-downloaded left behind
    await http.aclose()


async def test_key_goes_only_to_the_api_origin(tmp_path: Path) -> None:
    seen: list[tuple[str, str | None]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("authorization")))
        return httpx.Response(200, headers={"Content-Type": "audio/mpeg"}, content=b"ID3" + b"0" * 9)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = ServiceClient("https://api.example", "aio_secret_0123456789", http=http)
    for url in ("https://cdn.example/a.mp3", "https://api.example.evil.test/a.mp3",
                "https://api.example:8443/a.mp3"):
        with pytest.raises(BadAudio):  # the bytes are not real audio; the header is what counts
            await client.fetch_audio(url, tmp_path)
    assert all(auth is None for _host, auth in seen)
    await http.aclose()


async def test_one_request_can_be_cancelled_while_the_others_finish(tmp_path: Path) -> None:
    import asyncio

    async with running_sandbox(latency=1.0) as box:
        rig = Rig(box, tmp_path)
        requests = requests_for(small_scene(3))
        task = asyncio.create_task(rig.render(requests))
        await wait_until(lambda: any(e.stage is Stage.WAITING for e in rig.events), 30,
                         "a request waiting at the service")
        assert rig.engine.cancel(requests[1].key)
        outcome = await task
        await rig.aclose()
        assert outcome.cancelled == {requests[1].key}
        assert set(outcome.paths) == {requests[0].key, requests[2].key}
        assert any(e.stage is Stage.CANCELLED and e.request is requests[1] for e in rig.events)


async def test_a_request_cancelled_while_it_waits_its_turn_is_never_sent(
        tmp_path: Path) -> None:
    """Requests wait in the engine's queue for one of ``jobs`` workers. One cancelled there is
    told cancelled at once and never leaves; the worker goes on to the next."""
    import asyncio

    async with running_sandbox(latency=0.5) as box:
        rig = Rig(box, tmp_path)
        rig.engine.jobs = 1
        requests = requests_for(small_scene(4))
        task = asyncio.create_task(rig.render(requests))
        await wait_until(lambda: box.stats.submits == 1, 30, "the first request sent")
        assert rig.engine.cancel(requests[2].key)
        assert any(e.stage is Stage.CANCELLED and e.request is requests[2] for e in rig.events)
        assert not rig.engine.cancel(requests[2].key)  # once
        outcome = await task
        await rig.aclose()
        assert outcome.cancelled == {requests[2].key}
        assert set(outcome.paths) == {requests[0].key, requests[1].key, requests[3].key}
        assert box.stats.submits == 3
        assert requests[2].body not in box.bodies


async def test_cancelling_the_render_sends_nothing_more_and_names_every_request(
        tmp_path: Path) -> None:
    import asyncio

    async with running_sandbox(latency=1.0) as box:
        rig = Rig(box, tmp_path)
        requests = requests_for(small_scene(40))
        task = asyncio.create_task(rig.render(requests))
        await wait_until(lambda: box.stats.submits >= 4, 30, "the first requests sent")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await rig.aclose()
        assert box.stats.submits <= 4 + 1  # the workers' requests; none started after it
        assert not rig.engine._running and not rig.engine._waiting
        final = {e.request.key for e in rig.events if e.stage is Stage.CANCELLED}
        assert final == {r.key for r in requests}  # every one told, none left queued


async def test_polling_learns_how_long_tasks_take(tmp_path: Path) -> None:
    from editor.engine.client import PollPolicy

    async with running_sandbox(latency=0.6) as box:
        client = ServiceClient(box.base_url, box.key, policy=PollPolicy(first=0.1, factor=3.0))
        polls = []
        for _ in range(5):
            before = box.stats.polls
            sub = await client.submit(requests_for(small_scene(1))[0].body | {"stability": 0.5})
            await client.wait(sub.task_id or "", started=__import__("time").monotonic())
            polls.append(box.stats.polls - before)
        await client.aclose()
        # Once two tasks are timed, the first poll lands just before the usual finish.
        assert max(polls[2:]) <= 3
        durations = list(client._durations)
        assert all(0.55 < d < 1.4 for d in durations)  # bracketing the real 0.6 s
        assert durations[-1] < durations[0]  # and closing in on it


# --- The submit re-send rule (CONTRACT §1, issue 14), counted at a server on loopback --------

def _first_then(n: int, first: Answer, then: Answer) -> Answer:
    """``first`` for the first ``n`` requests, ``then`` after."""
    seen = [0]

    def answer(ex: Exchange) -> None:
        seen[0] += 1
        (first if seen[0] <= n else then)(ex)
    return answer


def _hang_up(ex: Exchange) -> None:
    """Reads the whole request (body and all), then closes without a word."""


def _silent(ex: Exchange) -> None:
    """Reads the request, says nothing for longer than the client's read timeout."""
    time.sleep(2.0)


ERR = {"error": {"message": "Upstream worker error"}}
TASK_OK = as_json({"task_id": "t1", "status": "pending"})
ONE = {"model": "elevenlabs-v3", "dialogue": [{"text": "Hello there.", "voice": "Sarah"}]}

# (case, what the server answers, the error the submit ends with, submits that arrived)
RESEND_RULE = [
    # may have been charged: exactly one submit, never re-sent
    ("500", as_json(ERR, 500), SubmitUncertain, 1),
    ("502", as_json(ERR, 502), SubmitUncertain, 1),
    ("504", as_json(ERR, 504), SubmitUncertain, 1),
    ("503 without Retry-After", as_json(ERR, 503), SubmitUncertain, 1),
    ("503 with an unreadable Retry-After", as_json(ERR, 503, {"Retry-After": "soon"}),
     SubmitUncertain, 1),
    ("dropped after the body", _hang_up, SubmitUncertain, 1),
    ("read timeout", _silent, SubmitUncertain, 1),
    ("unreadable 2xx", whole(200, b"<html>Bad Gateway</html>", "text/html"), SubmitUncertain, 1),
    ("2xx without a task id", as_json({"ok": True}), SubmitUncertain, 1),
    ("redirect", whole(307, b"", extra={"Location": "/elsewhere"}), SubmitUncertain, 1),
    ("unexpected 404", as_json({"error": "no route"}, 404), SubmitUncertain, 1),
    # refused outright: not charged, not re-sent either (sending again cannot help)
    ("401", as_json({"error": "Invalid API key"}, 401), KeyRejected, 1),
    ("402", as_json({"error": "Insufficient credits"}, 402), OutOfCredits, 1),
    ("422", as_json({"error": "bad voice", "field": "voice"}, 422), RequestRefused, 1),
    # "not now": re-sent, up to the four attempts
    ("429 every time", as_json(ERR, 429, {"Retry-After": "0"}), RateLimited, 4),
    ("503 with Retry-After every time", as_json(ERR, 503, {"Retry-After": "0"}), ServiceBusy, 4),
    ("429 once", _first_then(1, as_json(ERR, 429, {"Retry-After": "0"}), TASK_OK), None, 2),
    ("503 with Retry-After twice",
     _first_then(2, as_json(ERR, 503, {"Retry-After": "0.1"}), TASK_OK), None, 2 + 1),
]


@pytest.mark.parametrize(("case", "answer", "error", "arrived"), RESEND_RULE,
                         ids=[c[0] for c in RESEND_RULE])
async def test_submit_is_resent_only_when_it_provably_was_not_taken(
        case: str, answer: Answer, error: type | None, arrived: int) -> None:
    with HostileServer() as server:
        server.routes[("POST", "/api/v1/audio/speech")] = answer
        client = ServiceClient(server.url, "aio_resend_rule_0123456789", policy=FAST, timeout=0.5)
        try:
            if error is None:
                assert (await client.submit(ONE)).task_id == "t1"
            else:
                with pytest.raises(error) as caught:
                    await client.submit(ONE)
        finally:
            await client.aclose()
        assert server.count("POST", "/api/v1/audio/speech") == arrived
    if error is SubmitUncertain:
        message = str(caught.value)
        assert "may have been charged" in message and "--resend-unknown" in message
        assert "render the line again" not in message and "\n" not in message
        assert isinstance(caught.value, SubmitUncertain)
        if case[:3].isdigit():
            assert caught.value.status == int(case[:3])


async def test_submit_that_never_left_is_sent_again() -> None:
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))
    port = refused.getsockname()[1]
    refused.close()  # nothing listens there: every connect is refused
    client = ServiceClient(f"http://127.0.0.1:{port}", "aio_resend_rule_0123456789", policy=FAST)
    try:
        with pytest.raises(NetworkDown):
            await client.submit(ONE, attempts=2)
    finally:
        await client.aclose()
    assert client.requests_sent == 2  # re-sent: a refused connection carried no request


@pytest.mark.parametrize(("answer", "charged"), [
    (as_json(ERR, 503, {"Retry-After": "0"}), False),
    (as_json(ERR, 429, {"Retry-After": "0"}), False),
    (as_json({"error": "bad voice"}, 422), False),
    (as_json(ERR, 503), True),
    (as_json(ERR, 500), True),
    (_hang_up, True),
], ids=["503-retry-after", "429", "422", "503-bare", "500", "dropped"])
async def test_render_keeps_only_maybe_charged_submits_in_the_journal(
        tmp_path: Path, answer: Answer, charged: bool) -> None:
    from editor.engine.cache import AudioCache
    from editor.engine.journal import Journal
    from editor.engine.render import NOT_CHARGED, RenderEngine

    with HostileServer() as server:
        server.routes[("POST", "/api/v1/audio/speech")] = answer
        client = ServiceClient(server.url, "aio_resend_rule_0123456789", policy=FAST)
        engine = RenderEngine(client, AudioCache(tmp_path / "cache"),
                              Journal(tmp_path / "state" / "journal.jsonl"))
        (request,) = requests_for(small_scene(1))
        try:
            outcome = await engine.run([request])
        finally:
            await client.aclose()
    (error,) = outcome.errors.values()
    assert isinstance(error, SubmitUncertain) is charged
    assert isinstance(error, NOT_CHARGED) is not charged
    entry = engine.journal.get(engine.service, request.key)
    kept = entry is not None and entry.state == "intent"
    assert kept is charged  # maybe charged: kept for the writer to decide; else forgotten
