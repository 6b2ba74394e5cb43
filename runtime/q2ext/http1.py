"""A lean keep-alive HTTP/1.1 client for the relay's POSTs to handlers.

The relay spends most of its CPU on HTTP: measured here, aiohttp cost ~400 us of CPU per POST on this
project's 2-core test machines, about as much as the handler itself. This client writes one pre-joined
request and parses one response per call over pooled keep-alive connections (no pipelining), which is
all a relay needs; anything unexpected raises HttpError and the relay retries.
"""

from __future__ import annotations

import asyncio
import re
import ssl as ssl_mod
from typing import NamedTuple
from urllib.parse import urlsplit

_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_BAD_VALUE = re.compile(r"[^\t\x20-\x7e]")  # printable ASCII only: no CR/LF/NUL to split a request
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024


class HttpError(Exception):
    """The connection failed or the server's answer was not HTTP/1.1 as expected."""


class Response(NamedTuple):
    """A response (a NamedTuple: built per POST, half the cost of a frozen dataclass)."""

    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


def check_header(name: str, value: str) -> None:
    """Refuse a header that could split the request (CR, LF, NUL...) or is not an HTTP token name."""
    if not _TOKEN.match(name.encode("latin-1", "replace")) or _BAD_VALUE.search(value):
        raise ValueError(f"header {name[:40]!r} is not a valid HTTP header")


_good_names: set[str] = set()  # header names that passed check_header (records carry the same few)


def check_headers(headers: dict[str, str]) -> None:
    """check_header() for every header, on a fast path: the relay checks each record it delivers."""
    values = "".join(headers.values())
    if not (values.isascii() and values.isprintable()) and _BAD_VALUE.search(values):  # TAB passes the regex
        _check_each(headers)
    for name in headers:
        if name not in _good_names:
            check_header(name, "")
            if len(_good_names) < 1024:
                _good_names.add(name)


def _check_each(headers: dict[str, str]) -> None:
    for name, value in headers.items():
        check_header(name, value)


class _Connection(asyncio.Protocol):
    """One TCP connection: one request in flight, its response parsed as bytes arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.head: tuple[int, dict[str, str]] | None = None
        self.body_at = 0
        self.length: int | None = None
        self.closed = False
        self.deadline = 0.0

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            if self.head is not None and self.length is None:  # body delimited by the close
                self._finish(bytes(self.buffer[self.body_at :]))
            else:
                self.waiter.set_exception(HttpError(f"connection closed by the server ({exc or 'no answer'})"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        try:
            self._parse()
        except HttpError as exc:
            self.waiter.set_exception(exc)
            self.transport.close()

    def _parse(self) -> None:
        if self.head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD_BYTES:
                    raise HttpError("response head too large")
                return
            self.head, self.length = _parse_head(bytes(self.buffer[:end]))
            self.body_at = end + 4
        if self.length is not None and len(self.buffer) - self.body_at >= self.length:
            self._finish(bytes(self.buffer[self.body_at : self.body_at + self.length]))

    def _finish(self, body: bytes) -> None:
        status, headers = self.head
        self.waiter.set_result(Response(status, headers, body))

    async def request(self, data: bytes, deadline: float) -> Response:
        """Send one request and wait for its response; the client's sweep fails it after the deadline."""
        self.buffer.clear()
        self.head, self.length, self.body_at = None, None, 0
        waiter = self.waiter = asyncio.get_running_loop().create_future()
        self.deadline = deadline
        self.transport.write(data)
        try:
            return await waiter
        except asyncio.TimeoutError:
            self.transport.close()  # a late answer must not be read as the next request's
            raise

    def expire(self, now: float) -> None:
        """Fail the request in flight if its deadline has passed."""
        if self.waiter is not None and not self.waiter.done() and now >= self.deadline:
            self.waiter.set_exception(asyncio.TimeoutError())


def _parse_head(head: bytes) -> tuple[tuple[int, dict[str, str]], int | None]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpError(f"not an HTTP/1.x status line: {lines[0][:60]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise HttpError("chunked responses are not supported by the relay's client")
    length = headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        raise HttpError(f"bad Content-Length {length[:20]!r}")
    status = int(parts[1])
    if length is None and (status in (204, 304) or 100 <= status < 200):
        length = "0"
    return (status, headers), (int(length) if length is not None else None)


class Client:
    """POSTs to one origin (http:// or https://) over a pool of kept-alive connections."""

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
        head = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
        data = b"".join(
            (b"POST ", path.encode("latin-1"), b" HTTP/1.1\r\nHost: ", self.host_header, b"\r\n")
            + (head.encode("latin-1"), b"Content-Length: ", str(len(body)).encode(), b"\r\n\r\n", body)
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        self._sweep_soon(loop)
        conn = self._idle_connection()
        if conn is not None:
            try:
                response = await conn.request(data, deadline)
            except HttpError:  # the server closed the idle connection meanwhile: once more on a new one
                conn.transport.close()
                conn = None
            except BaseException:
                conn.transport.close()
                raise
        if conn is None:
            conn = await self._connect()
            self._open.add(conn)
            try:
                response = await conn.request(data, deadline)
            except BaseException:
                conn.transport.close()
                raise
        if conn.closed or response.headers.get("connection", "").lower() == "close":
            conn.transport.close()
        else:
            self._idle.append(conn)
        return response

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
