"""A small HTTP/1.1 server on asyncio streams, for the sandbox service.

Written here rather than taken from aiohttp or uvicorn because the sandbox
must misbehave on purpose at the byte level (drop a connection before or
after answering, send a truncated body under a full Content-Length, stall),
which those frameworks hide; and it adds no dependency to the app, which runs
the sandbox in-process for a writer with no key.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, unquote, urlsplit

log = logging.getLogger(__name__)
MAX_HEADER_BYTES = 64 * 1024  # the whole head; more is 431
MAX_HEADERS = 100  # header lines; more is 431
MAX_BODY_BYTES = 1024 * 1024  # the default body cap; more is 413 (a server may set its own)
HEAD_TIMEOUT = 10.0  # seconds for the rest of a head once its first byte came (slowloris)
BODY_TIMEOUT = 10.0  # seconds for a body to arrive in full
LINGER = 1.0  # seconds to read and drop what a refused client still sends, before closing

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token: methods, header names
_TARGET = re.compile(r"/[\x21-\x7e]*")  # origin-form: a path (and query) of visible ASCII
_VERSION = re.compile(r"HTTP/(\d)\.(\d)")
_DIGITS = re.compile(r"[0-9]{1,15}")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control characters but HTAB
_ONCE = frozenset({"content-length", "host", "authorization", "content-type"})


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1), with or without
    brackets; never for a wildcard or another interface."""
    host = host.strip().lower().removeprefix("[").removesuffix("]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(value: str) -> str:
    """The host part of a ``Host`` header value (``127.0.0.1:8787``, ``[::1]:8787``)."""
    if value.startswith("["):
        return value[: value.find("]") + 1] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Refused(Exception):
    """A request the server will not handle: answered with ``status`` and the connection
    closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    keep_alive: bool = True


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    drop: bool = False  # close the connection without answering
    truncate_to: int | None = None  # send only this many body bytes, then close


Handler = Callable[[Request], Awaitable[Response]]


class HttpServer:
    """Serves ``handler`` on loopback. Whatever a client sends, nothing raises out of it: a
    malformed or oversized request gets a 4xx (or 501/505) and its connection is closed, and
    other connections are served as before."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0,
                 max_body: int = MAX_BODY_BYTES) -> None:
        if not is_loopback(host):
            raise ValueError(f"the sandbox listens on loopback only, not on {host!r}: it is a "
                             "local stand-in, not a service for the network")
        self.handler = handler
        self.host = host
        self.port = port
        self.max_body = max_body
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            for task in list(self._connections):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None
            await asyncio.sleep(0)  # let the transports' connection_lost callbacks run

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                try:
                    request = await self._read(reader)
                except Refused as refused:
                    await self._refuse(reader, writer, refused)
                    break
                if request is None:
                    break
                try:
                    response = await self.handler(request)
                except Exception:
                    log.exception("sandbox handler failed")
                    response = Response(500, b'{"error": "sandbox handler failed"}',
                                        {"Content-Type": "application/json"})
                if response.delay:
                    await asyncio.sleep(response.delay)
                if response.drop:
                    break
                if not request.keep_alive:
                    response.headers.setdefault("Connection", "close")
                keep = await self._write(writer, response)
                if not keep or not request.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass
        except Exception:  # a bug here must not reach the event loop's handler (or the writer)
            log.exception("sandbox connection failed")
        finally:
            self._connections.discard(task)
            with contextlib.suppress(Exception):
                writer.close()
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      refused: Refused) -> None:
        log.info("sandbox refused a request: %s %s", refused.status, refused.message)
        body = json.dumps({"error": {"message": refused.message}}).encode()
        await self._write(writer, Response(refused.status, body, {
            "Content-Type": "application/json", "Connection": "close"}))
        # Close gently: say we are done, then drop what the client may still be sending, so
        # the kernel does not answer it with a reset that could destroy our answer in flight.
        with contextlib.suppress(Exception):
            if writer.can_write_eof():
                writer.write_eof()

            async def drain_input() -> None:
                dropped = 0
                while dropped < 4 * self.max_body + MAX_HEADER_BYTES:
                    chunk = await reader.read(64 * 1024)
                    if not chunk:
                        return
                    dropped += len(chunk)

            await asyncio.wait_for(drain_input(), LINGER)

    async def _read(self, reader: asyncio.StreamReader) -> Request | None:
        """The next request; None when the client closed the connection between requests or
        in the middle of one. Raises :class:`Refused` for anything malformed or too big."""
        try:
            first = await reader.readexactly(1)  # an idle keep-alive connection may wait
            head = first + await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
        except asyncio.IncompleteReadError:
            return None
        except asyncio.LimitOverrunError:
            raise Refused(431, "the request head is too large") from None
        except TimeoutError:
            raise Refused(408, "the request head did not arrive in time") from None
        if len(head) > MAX_HEADER_BYTES:
            raise Refused(431, "the request head is too large")
        lines = head.decode("latin-1").lstrip("\r\n")[:-4].split("\r\n")
        if len(lines) - 1 > MAX_HEADERS:
            raise Refused(431, f"more than {MAX_HEADERS} header lines")
        method, target, keep_alive = self._request_line(lines[0])
        headers = self._headers(lines[1:])
        if "host" in headers and not is_loopback(_host_name(headers["host"])):
            raise Refused(421, "this server answers only to a loopback host name")
        if "transfer-encoding" in headers:
            raise Refused(501, "Transfer-Encoding is not supported; send a Content-Length")
        connection = headers.get("connection", "").lower()
        keep_alive = "close" not in connection and (keep_alive or "keep-alive" in connection)
        length = self._content_length(headers.get("content-length"))
        try:
            body = await asyncio.wait_for(reader.readexactly(length), BODY_TIMEOUT) \
                if length else b""
        except asyncio.IncompleteReadError:
            return None
        except TimeoutError:
            raise Refused(408, "the request body did not arrive in time") from None
        parts = urlsplit(target)
        return Request(method, unquote(parts.path), dict(parse_qsl(parts.query)), headers, body,
                       keep_alive)

    @staticmethod
    def _request_line(line: str) -> tuple[str, str, bool]:
        words = line.split(" ")
        if len(words) != 3:
            raise Refused(400, "the request line must be: METHOD /path HTTP/1.1")
        method, target, version = words
        if not _TOKEN.fullmatch(method):
            raise Refused(400, "the request method is not a valid token")
        if not _TARGET.fullmatch(target):
            raise Refused(400, "the request target must be a path of visible ASCII characters")
        v = _VERSION.fullmatch(version)
        if v is None:
            raise Refused(400, "the request line does not end with an HTTP version")
        if v.group(1) != "1":
            raise Refused(505, "only HTTP/1.0 and HTTP/1.1 are spoken here")
        return method.upper(), target, v.group(2) != "0"

    @staticmethod
    def _headers(lines: list[str]) -> dict[str, str]:
        headers: dict[str, str] = {}
        for line in lines:
            name, colon, value = line.partition(":")
            if not colon or not _TOKEN.fullmatch(name):  # also folded lines, "Name :"
                raise Refused(400, "a header line is malformed")
            value = value.strip(" \t")
            if _BAD_VALUE.search(value):
                raise Refused(400, f"the {name} header holds a control character")
            key = name.lower()
            if key in headers:
                if key in _ONCE:
                    raise Refused(400, f"the {name} header is given more than once")
                headers[key] += ", " + value
            else:
                headers[key] = value
        return headers

    def _content_length(self, value: str | None) -> int:
        if value is None:
            return 0
        if not _DIGITS.fullmatch(value):
            if value.isascii() and value.isdigit():  # only digits, but far too many of them
                raise Refused(413, f"the body is larger than {self.max_body} bytes")
            raise Refused(400, "Content-Length must be a decimal number of bytes")
        length = int(value)
        if length > self.max_body:
            raise Refused(413, f"the body is larger than {self.max_body} bytes")
        return length

    async def _write(self, writer: asyncio.StreamWriter, response: Response) -> bool:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = "Status"
        headers = {"Content-Length": str(len(response.body)), "Server": "castline-sandbox",
                   **response.headers}
        head = f"HTTP/1.1 {response.status} {reason}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        writer.write(head.encode("latin-1"))
        if response.truncate_to is not None:
            writer.write(response.body[:response.truncate_to])
            await writer.drain()
            return False
        writer.write(response.body)
        await writer.drain()
        return True
