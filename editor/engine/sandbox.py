"""``castline sandbox``: the project's stand-in for API in One, over real HTTP.

It speaks CONTRACT §1 on loopback only: checks the key, keeps a credit ledger with
the real price formula (402 when spent), finishes tasks after a set latency,
and serves the audio from a second port (another origin, so tests can prove
the key never reaches it). Switches make it answer in every documented shape
and misbehave in every way a client must survive.

Its control endpoints (``POST /_sandbox/config``, ``GET /_sandbox/stats``) need the same
``Authorization: Bearer <key>`` as the API, so no other local user (or web page) can switch
faults on or read the ledger under a running editor. Bodies are capped at 1 MB (413), and
malformed requests get a 4xx from :mod:`editor.engine.httpserver`.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

from editor.core.catalog import model as model_info
from editor.core.catalog import models, request_cost
from editor.engine.httpserver import HttpServer, Request, Response
from editor.engine.voice import speak_dialogue

log = logging.getLogger(__name__)
MAX_REQUEST_BYTES = 1024 * 1024  # a submit or config body; more is 413 Payload Too Large
PHASES = ("submit", "poll", "download", "task")
KINDS = ("429", "500", "502", "503", "drop", "drop_before", "slow", "malformed", "html",
         "fail", "404", "truncated", "undecodable")
AUDIO_SHAPES = ("audio_url", "url", "audio", "file_url", "result_url", "output.audio_url",
                "output[].url", "result.file_url", "result[].audio_url", "output.url",
                "base64", "data_url", "direct")


@dataclass(slots=True)
class Fault:
    phase: str
    kind: str
    times: int = 1  # how many matching requests get it; -1: all of them
    seconds: float = 1.0  # Retry-After for 429/503, the stall for "slow"

    def __post_init__(self) -> None:
        if isinstance(self.times, bool) or not isinstance(self.times, int):
            raise TypeError("fault times must be a whole number (-1: every time)")
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, int | float) \
                or not 0 <= self.seconds <= 3600:
            raise ValueError("fault seconds must be a number from 0 to 3600")
        if self.phase not in PHASES:
            raise ValueError(f"fault phase must be one of {', '.join(PHASES)}")
        if self.kind not in KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(KINDS)}")

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """``phase:kind[:times[:seconds]]``, e.g. ``poll:503:2`` or ``submit:slow:1:5``."""
        parts = spec.split(":")
        if len(parts) < 2:
            raise ValueError(f"fault {spec!r}: expected phase:kind[:times[:seconds]]")
        times = int(parts[2]) if len(parts) > 2 and parts[2] else 1
        seconds = float(parts[3]) if len(parts) > 3 else 1.0
        return cls(parts[0], parts[1], times, seconds)


@dataclass(slots=True)
class Shape:
    """How answers are worded (every variant CONTRACT §1 says a client must read)."""

    wrap: bool = False  # everything inside {"data": ...}
    id_key: str = "task_id"  # task_id | taskId | id
    waiting: str = "pending"
    running: str = "processing"
    finished: str = "completed"
    failed: str = "failed"
    case: str = "lower"  # lower | upper | title
    audio: str = "audio_url"  # one of AUDIO_SHAPES
    error: str = "error.message"  # error.message | error | message | detail | msg
    progress: bool = True

    @classmethod
    def parse(cls, spec: str) -> Shape:
        """``key=value,key=value``, e.g. ``wrap=1,id_key=taskId,audio=output[].url``."""
        shape = cls()
        for item in filter(None, (s.strip() for s in spec.split(","))):
            key, _, value = item.partition("=")
            if not hasattr(shape, key):
                raise ValueError(f"unknown shape switch {key!r}")
            current = getattr(shape, key)
            setattr(shape, key, value.lower() in ("1", "true", "yes") if isinstance(current, bool)
                    else value)
        if shape.audio not in AUDIO_SHAPES:
            raise ValueError(f"audio shape must be one of {', '.join(AUDIO_SHAPES)}")
        return shape

    def word(self, status: str) -> str:
        w: str = getattr(self, status)
        return w.upper() if self.case == "upper" else w.title() if self.case == "title" else w


@dataclass(slots=True)
class Task:
    id: str
    body: dict[str, Any]
    cost: Fraction
    created: float
    fail: str | None = None
    audio_name: str | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(slots=True)
class Stats:
    submits: int = 0  # submit requests received
    tasks_created: int = 0  # requests accepted and charged
    polls: int = 0
    downloads: int = 0
    balance_checks: int = 0
    auth_on_audio_host: int = 0  # requests to the audio host that carried Authorization
    key_in_url: int = 0  # requests whose URL carried the key
    charged: float = 0.0


class Sandbox:
    def __init__(self, key: str | None = None, *, credits: float = 10_000.0,
                 latency: float = 1.0, audio_format: str = "mp3", host: str = "127.0.0.1",
                 port: int = 0, audio_port: int = 0, use_espeak: bool | None = None) -> None:
        self.key = key or "aio_sandbox_" + secrets.token_hex(12)
        self.credits = Fraction(str(credits))
        self.latency = latency
        self.audio_format = audio_format
        self.use_espeak = shutil.which("espeak-ng") is not None if use_espeak is None else use_espeak
        self.faults: list[Fault] = []
        self.shape = Shape()
        self.stats = Stats()
        self.tasks: dict[str, Task] = {}
        self._readings: dict[str, int] = {}
        self.audio: dict[str, bytes] = {}
        self.bodies: list[dict[str, Any]] = []
        self._api = HttpServer(self._handle_api, host, port, max_body=MAX_REQUEST_BYTES)
        self._audio_host = HttpServer(self._handle_audio, host, audio_port, max_body=0)
        self._jobs: set[asyncio.Task[None]] = set()
        self._counter = 0

    # --- life ------------------------------------------------------------------

    async def start(self) -> Sandbox:
        await self._api.start()
        await self._audio_host.start()
        return self

    async def close(self) -> None:
        for job in list(self._jobs):
            job.cancel()
        await self._api.close()
        await self._audio_host.close()

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return self._api.url

    @property
    def audio_base_url(self) -> str:
        # Another port is another origin (scheme, host, port), as a CDN would be.
        return self._audio_host.url

    def configure(self, config: dict[str, Any]) -> None:
        """Apply switches; raises ValueError (nothing changed) when any of them is wrong."""
        try:
            self._configure(config)
        except (TypeError, AttributeError, ArithmeticError) as e:
            raise ValueError(f"bad sandbox config: {e}") from None

    def _configure(self, config: dict[str, Any]) -> None:
        if not isinstance(config, dict):
            raise TypeError("the config must be a JSON object")
        faults, shape = self.faults, self.shape
        latency, credits = self.latency, self.credits
        audio_format = self.audio_format
        if "faults" in config:
            if not isinstance(config["faults"], list):
                raise ValueError("faults must be a list")
            faults = [Fault(**f) if isinstance(f, dict) else Fault.parse(f)
                      for f in config["faults"]]
        if "shape" in config:
            s = config["shape"]
            shape = Shape.parse(s) if isinstance(s, str) else Shape(**s)
        if "latency" in config:
            latency = float(config["latency"])
        if "credits" in config:
            credits = Fraction(str(config["credits"]))
        if "audio_format" in config:
            audio_format = str(config["audio_format"])
            if audio_format not in ("mp3", "wav"):
                raise ValueError("audio_format must be mp3 or wav")
        self.faults, self.shape = faults, shape
        self.latency, self.credits, self.audio_format = latency, credits, audio_format

    def _take_fault(self, phase: str) -> Fault | None:
        for fault in self.faults:
            if fault.phase == phase and fault.times != 0:
                if fault.times > 0:
                    fault.times -= 1
                return fault
        return None

    # --- answers ------------------------------------------------------------------

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        if self.shape.wrap and status < 400:
            payload = {"code": 0, "data": payload}
        return Response(status, json.dumps(payload).encode(),
                        {"Content-Type": "application/json", **(headers or {})})

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None,
               field_name: str | None = None) -> Response:
        style = self.shape.error
        payload: dict[str, Any]
        if style == "error.message":
            payload = {"error": {"message": message}}
            if field_name:
                payload["error"]["field"] = field_name
        else:
            payload = {style: message}
            if field_name:
                payload["field"] = field_name
        return Response(status, json.dumps(payload).encode(),
                        {"Content-Type": "application/json", **(headers or {})})

    def _misbehave(self, fault: Fault) -> Response | None:
        kind = fault.kind
        if kind == "429":
            return self._error(429, "Too many requests", {"Retry-After": f"{fault.seconds:g}"})
        if kind in ("500", "502", "503"):
            headers = {"Retry-After": f"{fault.seconds:g}"} if kind == "503" else {}
            return self._error(int(kind), "Upstream worker error", headers)
        if kind == "drop_before":
            return Response(drop=True)
        if kind == "html":
            return Response(200, b"<!doctype html><html><body><h1>502 Bad Gateway</h1>"
                            b"</body></html>", {"Content-Type": "text/html"})
        return None

    def _authorised(self, request: Request) -> bool:
        if self.key in request.path or self.key in json.dumps(request.query):
            self.stats.key_in_url += 1
        given = request.headers.get("authorization", "").encode("latin-1", "replace")
        return hmac.compare_digest(given, f"Bearer {self.key}".encode("latin-1", "replace"))

    async def _control(self, request: Request) -> Response:
        """``/_sandbox/*``: the same key as the API, or 401 (and nothing changes)."""
        if not self._authorised(request):
            return self._error(401, "The sandbox's control endpoints need its key: "
                               "Authorization: Bearer <key>")
        if request.path == "/_sandbox/stats" and request.method == "GET":
            return Response(200, json.dumps(self.snapshot()).encode(),
                            {"Content-Type": "application/json"})
        if request.path == "/_sandbox/config" and request.method == "POST":
            try:
                self.configure(json.loads(request.body or b"{}"))
            except (ValueError, RecursionError) as e:
                return self._error(400, str(e) if not isinstance(e, RecursionError)
                                   else "the config is nested too deeply")
            return Response(200, b'{"ok": true}', {"Content-Type": "application/json"})
        return self._error(404, f"No route {request.method} {request.path}")

    async def _handle_api(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_sandbox/"):
            return await self._control(request)
        if path == "/api/v1/audio/speech" and request.method == "POST":
            return await self._submit(request)
        if path.startswith("/api/v1/tasks/") and request.method == "GET":
            return await self._poll(request, path.removeprefix("/api/v1/tasks/"))
        if path == "/api/v1/credits" and request.method == "GET":
            if not self._authorised(request):
                return self._error(401, "Invalid API key")
            self.stats.balance_checks += 1
            return self._json(200, {"credits": float(self.credits)})
        return self._error(404, f"No route {request.method} {path}")

    def _validate(self, body: Any) -> tuple[str, str] | None:
        if not isinstance(body, dict):
            return ("body", "the body must be a JSON object")
        if body.get("model") not in models():
            return ("model", f"unknown model {body.get('model')!r}")
        dialogue = body.get("dialogue")
        if not isinstance(dialogue, list) or not dialogue:
            return ("dialogue", "dialogue must be a non-empty array")
        for i, item in enumerate(dialogue):
            if not isinstance(item, dict) or not isinstance(item.get("text"), str) \
                    or not item["text"].strip():
                return (f"dialogue[{i}].text", "each dialogue item needs non-empty text")
            if "voice" in item and not isinstance(item["voice"], str):
                return (f"dialogue[{i}].voice", "voice must be a string")
        stability = body.get("stability", 0.5)
        if isinstance(stability, bool) or not isinstance(stability, int | float) \
                or not 0 <= stability <= 1:
            return ("stability", "stability must be a number from 0 to 1")
        if not isinstance(body.get("language_code", "auto"), str):
            return ("language_code", "language_code must be a string")
        info = model_info(body["model"])
        chars = sum(len(d["text"]) for d in dialogue)
        if chars > info.max_chars * 3:
            return ("dialogue", f"the request has {chars} characters; the limit is "
                    f"{info.max_chars * 3}")
        return None

    async def _submit(self, request: Request) -> Response:
        self.stats.submits += 1
        fault = self._take_fault("submit")
        if fault and fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
            fault = None
        if fault:
            early = self._misbehave(fault)
            if early is not None:
                return early
        if not self._authorised(request):
            return self._error(401, "Invalid API key")
        try:
            body = json.loads(request.body)
        except (ValueError, RecursionError):
            return self._error(400, "The body is not valid JSON", field_name="body")
        problem = self._validate(body)
        if problem:
            return self._error(422, problem[1], field_name=problem[0])
        info = model_info(body["model"])
        cost = request_cost(sum(len(d["text"]) for d in body["dialogue"]), info)
        if cost > self.credits:
            return self._error(402, f"Insufficient credits: {float(self.credits):.2f} left, "
                               f"{float(cost):.2f} needed")
        self.credits -= cost
        self.stats.charged += float(cost)
        self.stats.tasks_created += 1
        self.bodies.append(body)
        self._counter += 1
        # The id names the audio on the audio host, which (like a CDN) takes no key: 128 random
        # bits keep another local user from guessing a writer's lines out of it.
        task = Task(f"task_{self._counter:05d}_{secrets.token_hex(16)}", body, cost,
                    time.monotonic())
        task_fault = self._take_fault("task")
        if task_fault and task_fault.kind == "fail":
            task.fail = "Voice generation failed: the model could not synthesise this text"
        self.tasks[task.id] = task
        job = asyncio.create_task(self._synthesise(task))
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)

        if fault and fault.kind == "drop":  # charged, then the answer is lost
            return Response(drop=True)
        if fault and fault.kind == "malformed":
            return Response(200, b'{"task_id": "' + task.id.encode() + b'", "status": ',
                            {"Content-Type": "application/json"})
        if self.shape.audio == "direct":
            await task.ready.wait()
            assert task.audio_name is not None
            ctype = "audio/mpeg" if self.audio_format == "mp3" else "audio/wav"
            return Response(200, self.audio[task.audio_name], {"Content-Type": ctype})
        return self._json(200, {self.shape.id_key: task.id, "status": self.shape.word("waiting")})

    async def _synthesise(self, task: Task) -> None:
        # Like v3, the same request reads a little differently each time it is sent.
        said = json.dumps(task.body.get("dialogue"), sort_keys=True)
        self._readings[said] = reading = self._readings.get(said, -1) + 1
        try:
            data = await speak_dialogue(task.body["dialogue"],
                                        task.body.get("language_code", "auto"),
                                        self.audio_format, self.use_espeak, take=reading)
        except Exception as e:  # the task fails with a reason; it never runs for ever
            log.warning("sandbox synthesis failed: %s", e)
            task.fail = task.fail or "Voice generation failed: the sandbox could not speak this"
            data = b""
        name = f"{task.id}.{self.audio_format}"
        self.audio[name] = data
        task.audio_name = name
        task.ready.set()

    def _audio_fields(self, task: Task) -> dict[str, Any]:
        assert task.audio_name is not None
        url = f"{self.audio_base_url}/audio/{task.audio_name}"
        style = self.shape.audio
        if style in ("base64", "direct"):
            return {"audio_base64": base64.b64encode(self.audio[task.audio_name]).decode()}
        if style == "data_url":
            mime = "audio/mpeg" if self.audio_format == "mp3" else "audio/wav"
            return {"audio": f"data:{mime};base64,"
                    + base64.b64encode(self.audio[task.audio_name]).decode()}
        if "." in style:
            outer, inner = style.split(".", 1)
            if outer.endswith("[]"):
                return {outer[:-2]: [{inner: url, "format": self.audio_format}]}
            return {outer: {inner: url}}
        return {style: url}

    async def _poll(self, request: Request, task_id: str) -> Response:
        self.stats.polls += 1
        fault = self._take_fault("poll")
        if fault and fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
            fault = None
        if fault:
            if fault.kind == "drop":
                return Response(drop=True)
            if fault.kind == "malformed":
                return Response(200, b'{"status": "compl', {"Content-Type": "application/json"})
            early = self._misbehave(fault)
            if early is not None:
                return early
        if not self._authorised(request):
            return self._error(401, "Invalid API key")
        task = self.tasks.get(task_id)
        if task is None:
            return self._error(404, f"Task {task_id} not found")
        elapsed = time.monotonic() - task.created
        payload: dict[str, Any] = {self.shape.id_key: task.id}
        if elapsed >= self.latency and task.ready.is_set():
            if task.fail:
                payload["status"] = self.shape.word("failed")
                payload["error"] = {"message": task.fail} if self.shape.error == "error.message" \
                    else task.fail
            else:
                payload["status"] = self.shape.word("finished")
                payload.update(self._audio_fields(task))
        elif elapsed >= self.latency / 2:
            payload["status"] = self.shape.word("running")
            if self.shape.progress:
                payload["progress"] = round(min(99, 100 * elapsed / max(self.latency, 1e-6)))
        else:
            payload["status"] = self.shape.word("waiting")
        return self._json(200, payload)

    async def _handle_audio(self, request: Request) -> Response:
        self.stats.downloads += 1
        if "authorization" in request.headers:
            self.stats.auth_on_audio_host += 1
        if self.key in request.path or self.key in json.dumps(request.query):
            self.stats.key_in_url += 1
        name = request.path.removeprefix("/audio/")
        data = self.audio.get(name)
        fault = self._take_fault("download")
        if fault:
            if fault.kind == "404":
                return Response(404, b"Not Found", {"Content-Type": "text/plain"})
            if fault.kind == "drop":
                return Response(drop=True)
            if fault.kind == "slow":
                await asyncio.sleep(fault.seconds)
            elif fault.kind == "truncated" and data:
                return Response(200, data, {"Content-Type": "audio/mpeg"},
                                truncate_to=len(data) // 3)
            elif fault.kind == "undecodable":
                return Response(200, b"\xff\xfb" + secrets.token_bytes(4000),
                                {"Content-Type": "audio/mpeg"})
            else:
                early = self._misbehave(fault)
                if early is not None:
                    return early
        if data is None:
            return Response(404, b"Not Found", {"Content-Type": "text/plain"})
        ctype = "audio/mpeg" if name.endswith(".mp3") else "audio/wav"
        return Response(200, data, {"Content-Type": ctype})

    def snapshot(self) -> dict[str, Any]:
        return {**asdict(self.stats), "credits": float(self.credits),
                "open_tasks": sum(1 for t in self.tasks.values() if not t.ready.is_set())}


async def serve_forever(sandbox: Sandbox, announce: Any = print) -> None:
    await sandbox.start()
    announce(f"Castline sandbox: API on {sandbox.base_url}, audio on {sandbox.audio_base_url}")
    announce(f"Sandbox key: {sandbox.key}")
    announce("Control (the same key): GET /_sandbox/stats, POST /_sandbox/config with "
             "'Authorization: Bearer <key>'")
    announce(f"Use: APIINONE_BASE_URL={sandbox.base_url} APIINONE_API_KEY={sandbox.key} "
             "castline render SCENE -o out.wav")
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.close()
