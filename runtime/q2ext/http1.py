"""A lean keep-alive HTTP/1.1 client: the relay's POSTs to handlers, the DEBUG loopback push, the console's GET.

The relay spends most of its CPU on HTTP: measured here, aiohttp (the client this replaced) cost ~400 us of
CPU per POST on this project's 2-core test machines, about as much as the handler itself. This client writes
one pre-joined request and parses one response per call over pooled keep-alive connections (no pipelining),
which is all a relay needs; anything unexpected raises HttpError and the relay retries.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl as ssl_mod
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import urlsplit

from .headers import check_header, check_headers  # noqa: F401 - part of the client's API

log = logging.getLogger("q2ext.http1")
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024


class HttpError(Exception):
    """The connection failed or the server's answer was not HTTP/1.1 as expected."""


class Response(NamedTuple):
    """A response (a NamedTuple: built per POST, half the cost of a frozen dataclass)."""

    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


Done = Callable[["Response | BaseException"], None]


class _Connection(asyncio.Protocol):
    """One TCP connection: one request in flight, its response parsed as bytes arrive, then done(result).

    Whatever the server sends, the connection holds at most MAX_HEAD_BYTES + MAX_BODY_BYTES (plus chunk
    framing) of it: an answer over the cap, framed by Content-Length, chunks or the close, fails the request
    and closes the connection; bytes sent while no request is in flight close it; nothing of an answer is
    kept once it is handed over.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.done: Done | None = None  # set while a request is in flight
        self.head: tuple[int, dict[str, str]] | None = None
        self.body_at = 0
        self.length: int | None = None
        self.chunks: _Chunks | None = None  # the chunked body being read, if the answer is chunked
        self.closed = False
        self.deadline = 0.0

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self.done is not None:
            if self.head is not None and self.length is None and self.chunks is None:  # delimited by the close
                self._finish(bytes(self.buffer[self.body_at :]))
            else:
                self._end(HttpError(f"connection closed by the server ({exc or 'no answer'})"))
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        if self.done is None:  # an idle connection must stay silent: anything it sends could pile up
            self.closed = True
            self.buffer = bytearray()
            self.transport.close()
            return
        self.buffer += data
        try:
            self._parse()
        except HttpError as exc:
            self.closed = True
            self.transport.close()
            self._end(exc)

    def _parse(self) -> None:
        if self.head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD_BYTES:
                    raise HttpError("response head too large")
                return
            self.head, self.length = _parse_head(bytes(self.buffer[:end]))
            self.body_at = end + 4
            if self.length is None and self.head[1].get("transfer-encoding", "").lower() == "chunked":
                self.chunks = _Chunks(self.body_at)
        if self.chunks is not None:
            body = self.chunks.parse(self.buffer)
            if body is not None:
                self._finish(body, self.chunks.end)
        elif self.length is not None:
            if len(self.buffer) - self.body_at >= self.length:
                self._finish(bytes(self.buffer[self.body_at : self.body_at + self.length]), self.body_at + self.length)
        elif len(self.buffer) - self.body_at > MAX_BODY_BYTES:
            raise HttpError(f"answer body over the {MAX_BODY_BYTES}-byte limit")

    def _finish(self, body: bytes, end: int | None = None) -> None:
        """Hand the answer over and forget it; bytes after its end mean the connection cannot be reused."""
        status, headers = self.head
        if end is not None and end < len(self.buffer):
            self.closed = True
            self.transport.close()
        self.buffer = bytearray()
        self.head, self.chunks = None, None
        self._end(Response(status, headers, body))

    def _end(self, result: Response | BaseException) -> None:
        """Hand the result over (once); the callback may start this connection's next request right away."""
        done, self.done = self.done, None
        if done is not None:
            done(result)

    def start(self, data: bytes, deadline: float, done: Done) -> None:
        """Send one request; done(result) is called once: the Response, or the exception that ended it."""
        self.buffer = bytearray()
        self.head, self.length, self.body_at, self.chunks = None, None, 0, None
        self.deadline = deadline
        self.done = done
        self.transport.write(data)

    def abort(self, exc: BaseException) -> None:
        """End the request in flight with exc and close: a late answer must not be read as the next one's."""
        self.closed = True
        self.buffer = bytearray()
        self.transport.close()
        self._end(exc)

    def expire(self, now: float) -> None:
        """Fail the request in flight if its deadline has passed."""
        if self.done is not None and now >= self.deadline:
            self.abort(asyncio.TimeoutError())


class _Chunks:
    """A chunked body read as it arrives: the chunks' spans so far, and where the next size line starts."""

    __slots__ = ("at", "end", "size", "spans")

    def __init__(self, at: int) -> None:
        self.at = at
        self.end = at
        self.size = 0
        self.spans: list[tuple[int, int]] = []

    def parse(self, buffer: bytearray) -> bytes | None:
        """The whole body once the last chunk and the trailer are in; None while more must come."""
        while True:
            line_end = buffer.find(b"\r\n", self.at)
            if line_end < 0:
                if len(buffer) - self.at > 1024:
                    raise HttpError("chunk size line too long")
                return None
            size = _chunk_size(bytes(buffer[self.at : line_end]))
            if size == 0:
                trailer_end = buffer.find(b"\r\n\r\n", line_end)
                if trailer_end < 0:
                    if len(buffer) - line_end > MAX_HEAD_BYTES:
                        raise HttpError("chunk trailer too large")
                    return None
                self.end = trailer_end + 4
                return b"".join(bytes(buffer[a:b]) for a, b in self.spans)
            if self.size + size > MAX_BODY_BYTES:
                raise HttpError(f"answer body over the {MAX_BODY_BYTES}-byte limit")
            data_end = line_end + 2 + size
            if len(buffer) < data_end + 2:
                return None
            if buffer[data_end : data_end + 2] != b"\r\n":
                raise HttpError("chunk not followed by CRLF")
            self.size += size
            self.spans.append((line_end + 2, data_end))
            self.at = data_end + 2


def _chunk_size(line: bytes) -> int:
    """A chunk size line's hex size (extensions after ';' ignored); ASCII hex digits only."""
    text = line.split(b";", 1)[0].strip()
    if not text or len(text) > 8 or text.strip(b"0123456789abcdefABCDEF"):
        raise HttpError(f"bad chunk size line {line[:20]!r}")
    return int(text, 16)


def _ascii_digits(text: str) -> bool:
    """Only 0-9 (str.isdigit() also accepts '²' and other Unicode digits, which int() then refuses)."""
    return text.isascii() and text.isdigit()


def _parse_head(head: bytes) -> tuple[tuple[int, dict[str, str]], int | None]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not _ascii_digits(parts[1]) or len(parts[1]) != 3:
        raise HttpError(f"not an HTTP/1.x status line: {lines[0][:60]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    encoding = headers.get("transfer-encoding", "").lower()
    if encoding and encoding != "chunked":
        raise HttpError(f"unsupported Transfer-Encoding {encoding[:30]!r}")
    length = headers.get("content-length")
    if encoding:
        length = None  # RFC 9112 6.3: Transfer-Encoding overrides Content-Length
    elif length is not None and (not _ascii_digits(length) or len(length) > 12 or int(length) > MAX_BODY_BYTES):
        raise HttpError(f"bad Content-Length {length[:20]!r}")
    status = int(parts[1])
    if length is None and not encoding and (status in (204, 304) or 100 <= status < 200):
        length = "0"
    return (status, headers), (int(length) if length is not None else None)


class Client:
    """Requests (POSTs, and the console's GETs) to one origin (http:// or https://) over kept-alive connections."""

    def __init__(self, base_url: str, timeout: float = 10.0, ssl_context: ssl_mod.SSLContext | None = None) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"{base_url!r} is not an http:// or https:// URL")
        self.host = url.hostname
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self.ssl = (ssl_context or ssl_mod.create_default_context()) if url.scheme == "https" else None
        self.host_header = url.netloc.encode("latin-1")
        self.timeout = timeout
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()  # every connection made, until closed: the sweep checks their deadlines
        self._sweep: asyncio.TimerHandle | None = None

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> Response:
        """One POST; raises HttpError, OSError (cannot connect) or asyncio.TimeoutError."""
        future = asyncio.get_running_loop().create_future()
        pending = self.send(path, headers, body, functools.partial(_settle, future))
        try:
            return await future
        except asyncio.CancelledError:
            pending.cancel()
            raise

    def send(self, path: str, headers: dict[str, str], body: bytes, done: Done) -> _Pending:
        """post() without a coroutine or a future: done(Response or exception) is called once, from the loop.

        The relay POSTs each record this way: a task per POST cost it ~15% of its CPU. An idle connection is
        used at once; a new one is connected in a task. An idle connection the server closed meanwhile is
        replaced once, as post() always did.
        """
        head = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
        data = b"".join(
            (b"POST ", path.encode("latin-1"), b" HTTP/1.1\r\nHost: ", self.host_header, b"\r\n")
            + (head.encode("latin-1"), b"Content-Length: ", str(len(body)).encode(), b"\r\n\r\n", body)
        )
        return self._request(data, done)

    async def get(self, path: str) -> Response:
        """One GET (what the DEBUG console asks a relay's /metrics with); raises as post() does."""
        data = b"".join((b"GET ", path.encode("latin-1"), b" HTTP/1.1\r\nHost: ", self.host_header, b"\r\n\r\n"))
        future = asyncio.get_running_loop().create_future()
        pending = self._request(data, functools.partial(_settle, future))
        try:
            return await future
        except asyncio.CancelledError:
            pending.cancel()
            raise

    def _request(self, data: bytes, done: Done) -> _Pending:
        """Send a whole request on an idle connection, or on a new one; done(result) is called once."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        self._sweep_soon(loop)
        conn = self._idle_connection()
        if conn is None:
            return self._send_on_new(data, deadline, done)
        pending = _Pending(conn)

        def answered(result: Response | BaseException) -> None:
            if isinstance(result, HttpError) and not pending.cancelled:  # closed while idle: once more, new one
                self._send_on_new(data, deadline, done, pending)
            else:
                self._answered(conn, result, done)

        conn.start(data, deadline, answered)
        return pending

    def _send_on_new(self, data: bytes, deadline: float, done: Done, pending: _Pending | None = None) -> _Pending:
        """Connect in a task, then send; pending (if given) now tracks that task and the new connection."""
        pending = pending or _Pending(None)
        pending.conn = None

        async def connect_and_send() -> None:
            try:
                conn = await self._connect()
            except BaseException as exc:
                if not isinstance(exc, asyncio.CancelledError):
                    _call(done, exc)
                raise
            self._open.add(conn)
            if pending.cancelled:
                conn.transport.close()
                return
            pending.conn = conn
            conn.start(data, deadline, lambda result: self._answered(conn, result, done))

        pending.task = asyncio.ensure_future(connect_and_send())
        pending.task.add_done_callback(_quiet)
        return pending

    def _answered(self, conn: _Connection, result: Response | BaseException, done: Done) -> None:
        """Keep the connection for the next request if it may be reused, then hand the result over."""
        if isinstance(result, Response) and not (
            conn.closed or result.headers.get("connection", "").lower() == "close"
        ):
            self._idle.append(conn)
        else:
            conn.transport.close()
        _call(done, result)

    def _sweep_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        """One timer per client, not one per request (a timer per POST costs measurable CPU in the relay)."""
        if self._sweep is None:
            self._sweep = loop.call_later(min(1.0, self.timeout / 4), self._sweep_now, loop)

    def _sweep_now(self, loop: asyncio.AbstractEventLoop) -> None:
        """Time out the requests past their deadline; keep sweeping while a connection is open."""
        self._sweep = None
        now = loop.time()
        for conn in list(self._open):
            if conn.closed:
                self._open.discard(conn)
            else:
                conn.expire(now)
        if self._open:
            self._sweep_soon(loop)

    def _idle_connection(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, conn = await asyncio.wait_for(
            loop.create_connection(_Connection, self.host, self.port, ssl=self.ssl), self.timeout
        )
        return conn

    def close(self) -> None:
        """Close the idle connections."""
        for conn in self._idle:
            conn.transport.close()
        self._idle.clear()
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None


class _Pending:
    """A request started by Client.send(): its connection, or the task connecting one; cancel() drops it."""

    __slots__ = ("conn", "task", "cancelled")

    def __init__(self, conn: _Connection | None) -> None:
        self.conn = conn
        self.task: asyncio.Task | None = None
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        if self.conn is not None and self.conn.done is not None:
            self.conn.abort(asyncio.CancelledError())
        if self.task is not None:
            self.task.cancel()


def _settle(future: asyncio.Future, result: Response | BaseException) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


def _call(done: Done, result: Response | BaseException) -> None:
    """done(result); a bug in it is logged, never raised into the protocol callbacks (it would kill the connection)."""
    try:
        done(result)
    except Exception:
        log.exception("a callback of the HTTP client raised")


def _quiet(task: asyncio.Task) -> None:
    if not task.cancelled():
        task.exception()  # already handed to done(); retrieved so asyncio does not log it again
