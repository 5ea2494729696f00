"""Hostile answers: a service (or an audio host) that tries to exhaust memory or hang the client.

Each attack is served by a small raw-socket server on 127.0.0.1 (it writes exactly the bytes
it is told to: gzip bombs, one byte a second, a lying ``Content-Length``). The client runs in a
child process started by a small launcher, whose ``RUSAGE_CHILDREN`` ``ru_maxrss`` is the
client's own peak memory, under an address-space limit so a regression fails the test instead
of the machine. Every attack must end the way a writer can read: the child exits 0, the line's
failure is one plain sentence, no traceback, no ``MemoryError``, in a bounded time.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import socketserver
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from editor.engine.client import PollPolicy, ServiceClient
from editor.engine.errors import InsecureURL, SubmitUncertain
from tests.conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
MAX_RSS_MB = 300  # the child's peak resident memory, all of Python and httpx included
AS_LIMIT = 2048 * MB  # the child's address space: a regression gets MemoryError, not the box
KEY = "aio_hostile_test_key_0123456789"
SUBMIT = "/api/v1/audio/speech"
POLL = "/api/v1/tasks/t1"
AUDIO = "/audio/a.mp3"


# --- the hostile server ---------------------------------------------------------------------

@dataclass
class Exchange:
    """One request as the server read it, and its socket to answer on."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    sock: socket.socket

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)


Answer = Callable[[Exchange], None]


def head(status: int = 200, headers: dict[str, str] | None = None, reason: str = "OK") -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", "Connection: close",
             *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def whole(status: int, body: bytes, ctype: str = "application/json",
          extra: dict[str, str] | None = None) -> Answer:
    def answer(ex: Exchange) -> None:
        ex.send(head(status, {"Content-Type": ctype, "Content-Length": str(len(body)),
                              **(extra or {})}) + body)
    return answer


def as_json(obj: object, status: int = 200, extra: dict[str, str] | None = None) -> Answer:
    return whole(status, json.dumps(obj).encode(), extra=extra)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(30)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return
            data += chunk
        top, _, body = data.partition(b"\r\n\r\n")
        first, *rest = top.decode("latin-1").split("\r\n")
        method, path, _ = first.split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in rest)}
        while len(body) < int(headers.get("content-length", "0")):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        owner = self.server.owner
        with owner.lock:
            owner.seen.append((method, path))
        answer = owner.routes.get((method, path), whole(404, b'{"error": "no such route"}'))
        with contextlib.suppress(OSError):  # the client hung up: what a bounded client does
            answer(Exchange(method, path, headers, body, sock))


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    owner: HostileServer


@dataclass
class HostileServer:
    """A raw HTTP/1.1 server on loopback; ``routes`` maps (method, path) to what it writes."""

    routes: dict[tuple[str, str], Answer] = field(default_factory=dict)
    seen: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def count(self, method: str, path: str) -> int:
        with self.lock:
            return self.seen.count((method, path))

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


# --- the weapons ----------------------------------------------------------------------------

@cache
def gzip_bomb(gigabytes: int = 1) -> bytes:
    """A valid gzip member of ``gigabytes`` GB of zeros, about 1 MB per GB on the wire.

    Deflate with a full flush after each MB restarts from an empty window, so every MB of
    zeros compresses to the same bytes: compress one, repeat it (no minutes spent deflating).
    """
    zeros = bytes(MB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    tail = deflate.flush(zlib.Z_FINISH)
    n = gigabytes * 1024
    crc = 0
    for _ in range(n):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    trailer = crc.to_bytes(4, "little") + ((n * MB) & 0xFFFFFFFF).to_bytes(4, "little")
    return header + segment * n + tail + trailer


def double_gzip_bomb() -> bytes:
    """``Content-Encoding: gzip, gzip``: a few KB on the wire, a GB after both layers."""
    return zlib.compress(gzip_bomb(), 9, wbits=31)


def test_the_bombs_are_real() -> None:
    bomb = gzip_bomb()
    assert len(bomb) < 1.2 * MB
    inflate = zlib.decompressobj(31)
    total = 0
    data = bomb
    while data:
        total += len(inflate.decompress(data, 64 * MB))
        data = inflate.unconsumed_tail
    assert inflate.eof and total == 1024 * MB  # a whole, valid gzip of 1 GB
    assert len(double_gzip_bomb()) < 64 * 1024
    assert zlib.decompress(double_gzip_bomb(), 31) == bomb


def bomb(status: int = 200, ctype: str = "application/json",
         encoding: str = "gzip") -> Answer:
    body = double_gzip_bomb() if encoding == "gzip, gzip" else gzip_bomb()
    return whole(status, body, ctype, {"Content-Encoding": encoding})


def drip(status: int = 200, ctype: str = "application/json", every: float = 1.0,
         headers_too: bool = False) -> Answer:
    """An answer that never ends: one byte a second for a minute, or until hung up on.

    ``headers_too``: the status line and headers drip as well; otherwise they come at once.
    """
    def answer(ex: Exchange) -> None:
        top = head(status, {"Content-Type": ctype, "Content-Length": "60"})
        body = b'{"task_id": "t1", "status": "pending", "padding": "' + b"x" * 60
        dripped = top + body if headers_too else body
        if not headers_too:
            ex.send(top)
        for byte in dripped:
            ex.send(bytes([byte]))
            time.sleep(every)
    return answer


def short_body(status: int = 200, declared: int = 500, ctype: str = "application/json") -> Answer:
    """Promises ``declared`` bytes, sends a few, hangs up."""
    def answer(ex: Exchange) -> None:
        ex.send(head(status, {"Content-Type": ctype, "Content-Length": str(declared)})
                + b'{"task_id": "t1", ')
    return answer


# --- the victim, in a child process ---------------------------------------------------------

CHILD = r"""
import asyncio, json, resource, sys, time
from pathlib import Path

args = json.loads(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (args["as_limit"], args["as_limit"]))

from editor.engine.client import PollPolicy, ServiceClient
from editor.engine.errors import ServiceError


async def main() -> None:
    client = ServiceClient(
        args["base"], args["key"],
        policy=PollPolicy(first=0.05, factor=1.5, cap=0.2, jitter=0.1,
                          deadline=args["task_deadline"], max_retry_wait=0.3),
        request_deadline=args["request_deadline"], download_deadline=args["download_deadline"])
    started = time.monotonic()
    try:
        if args["action"] == "submit":
            sub = await client.submit({"model": "elevenlabs-v3",
                                       "dialogue": [{"text": "Hello.", "voice": "Sarah"}]})
            result = {"ok": repr(sub)[:200]}
        elif args["action"] == "wait":
            state = await client.wait("t1")
            result = {"ok": repr(state)[:200]}
        else:
            path = await client.fetch_audio(args["base"] + args["audio"], Path(args["dir"]))
            result = {"ok": str(path)}
    except ServiceError as e:
        result = {"error": type(e).__name__, "message": str(e)}
    result["seconds"] = time.monotonic() - started
    await client.aclose()
    print(json.dumps(result))


asyncio.run(main())
"""


# The parent of the client is this small launcher, not pytest: a child's ru_maxrss starts from
# its parent's resident size at fork (Linux keeps the pre-exec high-water mark), so measuring a
# direct child of a big pytest process would report pytest's size, not the client's.
LAUNCHER = r"""
import json, resource, subprocess, sys

child, args, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
try:
    done = subprocess.run([sys.executable, "-c", child, args], capture_output=True,
                          timeout=limit)
    code, out, err = done.returncode, done.stdout, done.stderr
except subprocess.TimeoutExpired as e:  # a hung client: killed, and the test fails
    code, out, err = -9, e.stdout or b"", e.stderr or b""
print(json.dumps({"returncode": code, "stdout": out.decode(errors="replace"),
                  "stderr": err.decode(errors="replace"),
                  "peak_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


@dataclass
class Run:
    result: dict[str, Any]
    peak_mb: float
    returncode: int
    stderr: str

    @property
    def message(self) -> str:
        return str(self.result.get("message", ""))


def run_child(server: HostileServer, action: str, tmp_path: Path, *, request_deadline: float = 2.0,
              task_deadline: float = 4.0, download_deadline: float = 4.0,
              limit: float = 30.0) -> Run:
    """Run the client in a grandchild; its peak memory is RUSAGE_CHILDREN of its launcher."""
    args = {"base": server.url, "key": KEY, "action": action, "audio": AUDIO,
            "dir": str(tmp_path / "downloads"), "as_limit": AS_LIMIT,
            "request_deadline": request_deadline, "task_deadline": task_deadline,
            "download_deadline": download_deadline}
    done = subprocess.run([sys.executable, "-c", LAUNCHER, CHILD, json.dumps(args), str(limit)],
                          cwd=ROOT, env=subprocess_env(), capture_output=True, check=False,
                          timeout=limit + 30)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    launched = json.loads(done.stdout)
    lines = launched["stdout"].strip().splitlines()
    result = json.loads(lines[-1]) if lines else {}
    return Run(result, launched["peak_kb"] / 1024, launched["returncode"], launched["stderr"])


def assert_plain_failure(run: Run, error: str, words: str) -> None:
    print(f"{run.result.get('error')} after {run.result.get('seconds', -1):.1f} s, peak "
          f"{run.peak_mb:.0f} MB: {run.message}")  # the README's Security figures
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr and "MemoryError" not in run.stderr, run.stderr[-2000:]
    assert run.result.get("error") == error, run.result
    assert words in run.message.lower(), run.message
    assert "\n" not in run.message and len(run.message) > 30
    assert KEY not in run.message
    assert run.peak_mb < MAX_RSS_MB, f"the client grew to {run.peak_mb:.0f} MB"


TASK = {"task_id": "t1", "status": "pending"}


# --- A: gzip bombs --------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["gzip", "gzip, gzip"])
def test_gzip_bomb_poll_answer_fails_the_line_plainly(hostile: HostileServer, tmp_path: Path,
                                                      encoding: str) -> None:
    hostile.routes[("GET", POLL)] = bomb(encoding=encoding)
    run = run_child(hostile, "wait", tmp_path)
    assert_plain_failure(run, "AnswerTooLarge", "the service sent an answer larger than 1 mb")
    assert hostile.count("GET", POLL) >= 2  # a poll is retried under the usual rules


def test_gzip_bomb_submit_answer_is_maybe_charged_and_sent_once(hostile: HostileServer,
                                                                tmp_path: Path) -> None:
    hostile.routes[("POST", SUBMIT)] = bomb()
    run = run_child(hostile, "submit", tmp_path)
    assert_plain_failure(run, "SubmitUncertain", "the service sent an answer larger than 1 mb")
    assert "may have been charged" in run.message.lower()
    assert hostile.count("POST", SUBMIT) == 1


@pytest.mark.parametrize(("method", "status", "action", "error"), [
    ("POST", 422, "submit", "RequestRefused"),  # a refusal: not charged, and not re-sent
    ("POST", 500, "submit", "SubmitUncertain"),
    ("GET", 503, "wait", "ServiceUnavailable"),
])
def test_gzip_bomb_error_body_is_cut(hostile: HostileServer, tmp_path: Path, method: str,
                                     status: int, action: str, error: str) -> None:
    hostile.routes[(method, SUBMIT if method == "POST" else POLL)] = bomb(status)
    run = run_child(hostile, action, tmp_path)
    assert_plain_failure(run, error, f"{status}" if status != 422 else "refused")


@pytest.mark.parametrize("encoding", ["gzip", "gzip, gzip"])
def test_gzip_bomb_audio_stops_at_the_download_cap(hostile: HostileServer, tmp_path: Path,
                                                   encoding: str) -> None:
    hostile.routes[("GET", AUDIO)] = bomb(ctype="audio/mpeg", encoding=encoding)
    run = run_child(hostile, "download", tmp_path)
    assert_plain_failure(run, "BadAudio", "over the 100 mb limit")
    assert hostile.count("GET", AUDIO) == 1  # too big is not worth fetching again
    left = list((tmp_path / "downloads").glob("*")) if (tmp_path / "downloads").exists() else []
    assert left == []  # nothing half-written left behind


def test_gzip_bomb_submit_audio_answer_is_bounded(hostile: HostileServer, tmp_path: Path) -> None:
    hostile.routes[("POST", SUBMIT)] = bomb(ctype="audio/mpeg")
    run = run_child(hostile, "submit", tmp_path)
    assert_plain_failure(run, "SubmitUncertain", "larger than 100 mb")
    assert hostile.count("POST", SUBMIT) == 1


# --- A: answers that never end ---------------------------------------------------------------

@pytest.mark.parametrize("headers_too", [False, True])
def test_dripping_submit_answer_times_out_once(hostile: HostileServer, tmp_path: Path,
                                               headers_too: bool) -> None:
    hostile.routes[("POST", SUBMIT)] = drip(headers_too=headers_too)
    run = run_child(hostile, "submit", tmp_path, request_deadline=2.0)
    assert_plain_failure(run, "SubmitUncertain", "the service took too long to answer")
    assert 1.9 < run.result["seconds"] < 2.0 + 3.0
    assert hostile.count("POST", SUBMIT) == 1  # it may have been charged: never re-sent


def test_dripping_poll_is_retried_and_the_task_deadline_holds(hostile: HostileServer,
                                                              tmp_path: Path) -> None:
    hostile.routes[("GET", POLL)] = drip()
    run = run_child(hostile, "wait", tmp_path, request_deadline=1.5, task_deadline=4.0)
    assert_plain_failure(run, "AnswerTooSlow", "the service took too long to answer")
    assert 3.9 < run.result["seconds"] < 4.0 + 3.0  # the task deadline, not a read timeout
    assert hostile.count("GET", POLL) >= 2


def test_dripping_audio_stops_at_the_download_deadline(hostile: HostileServer,
                                                       tmp_path: Path) -> None:
    hostile.routes[("GET", AUDIO)] = drip(ctype="audio/mpeg")
    run = run_child(hostile, "download", tmp_path, download_deadline=3.0)
    assert_plain_failure(run, "AnswerTooSlow", "the service took too long to answer")
    assert 2.9 < run.result["seconds"] < 3.0 + 3.0


def test_task_that_never_finishes_hits_the_task_deadline(hostile: HostileServer,
                                                         tmp_path: Path) -> None:
    hostile.routes[("GET", POLL)] = as_json(TASK)
    run = run_child(hostile, "wait", tmp_path, task_deadline=2.0)
    assert_plain_failure(run, "AnswerTooSlow", "took too long")
    assert 1.9 < run.result["seconds"] < 2.0 + 3.0


# --- A: lying Content-Length -----------------------------------------------------------------

def test_submit_answer_shorter_than_its_length_is_maybe_charged(hostile: HostileServer,
                                                                tmp_path: Path) -> None:
    hostile.routes[("POST", SUBMIT)] = short_body()
    run = run_child(hostile, "submit", tmp_path)
    assert_plain_failure(run, "SubmitUncertain", "may have been charged")
    assert hostile.count("POST", SUBMIT) == 1


def test_poll_answer_shorter_than_its_length_is_retried(hostile: HostileServer,
                                                        tmp_path: Path) -> None:
    hostile.routes[("GET", POLL)] = short_body()
    run = run_child(hostile, "wait", tmp_path, task_deadline=2.0)
    # Retried until the task's deadline: the last attempt either broke off like the others
    # or was cut by the deadline itself (on a busy machine); both end in a plain reason.
    words = {"NetworkDown": "can't reach", "AnswerTooSlow": "took too long"}
    error = str(run.result.get("error"))
    assert error in words, run.result
    assert_plain_failure(run, error, words[error])
    assert hostile.count("GET", POLL) >= 2


def test_poll_answer_declaring_a_huge_length_is_not_read(hostile: HostileServer,
                                                         tmp_path: Path) -> None:
    hostile.routes[("GET", POLL)] = short_body(declared=10**12)
    run = run_child(hostile, "wait", tmp_path)
    assert_plain_failure(run, "AnswerTooLarge", "larger than 1 mb")


def test_audio_longer_than_its_length_is_cut_and_fetched_again(hostile: HostileServer,
                                                              tmp_path: Path) -> None:
    def answer(ex: Exchange) -> None:  # says 100 bytes, sends 5 MB
        ex.send(head(200, {"Content-Type": "audio/mpeg", "Content-Length": "100"})
                + b"ID3" + bytes(5 * MB))
    hostile.routes[("GET", AUDIO)] = answer
    run = run_child(hostile, "download", tmp_path)
    assert_plain_failure(run, "BadAudio", "unusable")
    assert hostile.count("GET", AUDIO) == 3  # garbled audio is fetched again, three times in all


# --- data: URLs -------------------------------------------------------------------------------

MP3 = base64.b64encode(b"ID3" + bytes(range(256)) * 8).decode()


@pytest.mark.parametrize("answer", [
    {"status": "completed", "audio_url": f"data:audio/mpeg;base64,{MP3}"},
    {"status": "completed", "audio": f"data:audio/mpeg;base64,{MP3}"},
    {"status": "completed", "output": {"url": f"DATA:audio/mpeg;base64,{MP3}"}},
    {"status": "completed", "result": [f" data:audio/mpeg;base64,{MP3}"]},
])
async def test_data_url_audio_in_a_poll_answer_is_refused(hostile: HostileServer,
                                                          answer: dict[str, Any]) -> None:
    hostile.routes[("GET", POLL)] = as_json(answer)
    client = ServiceClient(hostile.url, KEY, policy=PollPolicy(first=0.05, deadline=5.0))
    try:
        with pytest.raises(InsecureURL, match="data: URL"):
            await client.wait("t1")
    finally:
        await client.aclose()


async def test_data_url_in_a_submit_answer_is_maybe_charged(hostile: HostileServer) -> None:
    hostile.routes[("POST", SUBMIT)] = as_json({"status": "completed",
                                                "audio_url": f"data:audio/mpeg;base64,{MP3}"})
    client = ServiceClient(hostile.url, KEY)
    try:
        with pytest.raises(SubmitUncertain) as caught:
            await client.submit({"model": "elevenlabs-v3", "dialogue": [{"text": "Hi."}]})
    finally:
        await client.aclose()
    assert "data: URL" in (caught.value.detail or "")
    assert hostile.count("POST", SUBMIT) == 1
