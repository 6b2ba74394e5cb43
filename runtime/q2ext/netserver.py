"""The handler's HTTP server with limits against slow or many connections (Tornado's defaults have none).

Tornado keeps an idle connection 3,600 s, waits for a body forever and accepts connections until accept()
fails with EMFILE, and then spins: its accept handler raises on every loop turn (measured: ~157,000
tracebacks in 20 s, genuine deliveries timing out). Here: a deadline for a request's headers (also the
keep-alive idle time) and one for its body; at most MAX_CONNECTIONS open connections (fewer if the file
descriptor limit is lower), where a new connection pushes out the one that has waited longest for its
next request (a slow sender, never a request being handled); the soft fd limit raised to the hard one;
and EMFILE answered by closing an idle connection, or else a pause in accepting, and one log line per interval.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import resource
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from tornado import httputil
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop, PeriodicCallback

from .logs import Throttle, throttle_logger
from .settings import Settings

log = logging.getLogger("q2ext.server")
FD_RESERVE = 64  # descriptors kept free for what else the process opens (SQLite, Kafka, logs, the listeners)
ACCEPT_PAUSE_S = 0.25  # how long accepting pauses when the process is out of descriptors
ACCEPT_BATCH = 128  # connections accepted per loop turn at most (Tornado's own heuristic)
_OUT_OF_FDS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def raise_fd_limit() -> int:
    """Raise the soft limit on open files to the hard limit; the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d to %d (%s)", soft, hard, exc)
    return soft


def connection_cap(wanted: int, fd_limit: int | None = None) -> int:
    """MAX_CONNECTIONS, lowered so that the connections fit the open-file limit with FD_RESERVE to spare."""
    if fd_limit is None:
        fd_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if fd_limit == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, fd_limit - FD_RESERVE))


class LimitedHTTPServer(HTTPServer):
    """HTTPServer with a connection cap that evicts the longest-waiting idle connection, a body deadline, and a
    calm accept loop.

    Both deadlines (headers, also the keep-alive idle time; body) are checked by one sweep per second over
    the connections waiting for or reading a request, not by Tornado's idle_connection_timeout and
    body_timeout: each of those arms a timer per request (gen.with_timeout; measured: ~10% of the handler's
    CPU per delivery for the body, ~5% for the headers, which Tornado arms at 3,600 s even when unset).
    """

    def initialize(
        self,
        *args: Any,
        max_connections: int = 10_000,
        header_timeout_s: float = 0,
        body_timeout_s: float = 0,
        **kwargs: Any,
    ) -> None:
        """Tornado's HTTPServer options, plus the connection cap and the header and body deadlines (0: none)."""
        super().initialize(*args, **kwargs)
        self.conn_params.header_timeout = None  # no timer per request: the sweep keeps this deadline
        self.max_connections = max_connections
        self.header_timeout_s = header_timeout_s
        self.body_timeout_s = body_timeout_s
        # Connections waiting for (or reading) a request, oldest first -> (since when, reading its body?).
        self._waiting: OrderedDict[Any, tuple[float, bool]] = OrderedDict()
        self._refused_log = Throttle(log, every_s=10.0, burst=1)
        self._sweep: Any = None

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        """Tornado's add_sockets, with an accept handler that survives EMFILE without spinning."""
        for sock in sockets:
            self._sockets[sock.fileno()] = sock
            self._handlers[sock.fileno()] = _Acceptor(sock, self._admit, self._refused_log, self._evict_one).remove
        deadlines = [s for s in (self.header_timeout_s, self.body_timeout_s) if s > 0]
        if deadlines and self._sweep is None:
            self._sweep = PeriodicCallback(self._close_late, 1000 * min(1.0, *(s / 4 for s in deadlines)))
            self._sweep.start()

    def stop(self) -> None:
        if self._sweep is not None:
            self._sweep.stop()
        super().stop()

    def _close_late(self) -> None:
        """Close each connection past its deadline: headers (or the next request) within HTTP_IDLE_TIMEOUT, as
        Tornado closes it, quietly; a body within HTTP_BODY_TIMEOUT after its headers, said in the log."""
        now = time.monotonic()
        late = [(conn, body) for conn, (since, body) in self._waiting.items() if 0 < self._limit(body) < now - since]
        for conn, body in late:
            if body:
                self._refused_log.warning(
                    "closing a connection whose request body did not arrive within %ds", self.body_timeout_s
                )
            conn.stream.close()

    def _limit(self, reading_body: bool) -> float:
        return self.body_timeout_s if reading_body else self.header_timeout_s

    def _admit(self, connection: socket.socket, address: Any) -> None:
        """Make room for a new connection (evicting an idle one) or close it."""
        if len(self._connections) >= self.max_connections and not self._evict_one():
            connection.close()
            self._refused_log.warning(
                "connection from %s closed: %d connections open (MAX_CONNECTIONS), none idle to make room",
                address[0] if isinstance(address, tuple) else address,
                len(self._connections),
            )
            return
        self._handle_connection(connection, address)

    def _evict_one(self) -> bool:
        """Close the connection that has waited longest for its next request; False if none is waiting."""
        while self._waiting:
            server_conn, _ = self._waiting.popitem(last=False)
            if server_conn in self._connections:
                server_conn.stream.close()
                self._connections.discard(server_conn)  # on_close() comes later; the slot is free now
                return True
        return False

    def start_request(self, server_conn: object, request_conn: httputil.HTTPConnection) -> httputil.HTTPMessageDelegate:
        """Mark the connection as waiting for a request until that request is read in full."""
        self._waiting[server_conn] = (time.monotonic(), False)
        self._waiting.move_to_end(server_conn)
        return _Reading(super().start_request(server_conn, request_conn), self._waiting, server_conn)

    def on_close(self, server_conn: object) -> None:
        self._waiting.pop(server_conn, None)
        self._connections.discard(server_conn)  # evicted connections left already


class _Reading(httputil.HTTPMessageDelegate):
    """Pass-through delegate that notes when the request's headers came and when it was read in full."""

    __slots__ = ("delegate", "waiting", "server_conn")

    def __init__(self, delegate: httputil.HTTPMessageDelegate, waiting: OrderedDict, server_conn: object) -> None:
        self.delegate = delegate
        self.waiting = waiting
        self.server_conn = server_conn

    def headers_received(self, start_line, headers):
        if self.server_conn in self.waiting:
            self.waiting[self.server_conn] = (time.monotonic(), True)  # the body deadline counts from here
        return self.delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes):
        return self.delegate.data_received(chunk)

    def finish(self) -> None:
        self.waiting.pop(self.server_conn, None)
        self.delegate.finish()

    def on_connection_close(self) -> None:
        self.waiting.pop(self.server_conn, None)
        self.delegate.on_connection_close()


class _Acceptor:
    """Accept connections on one listening socket; out of descriptors: close an idle connection to make room,
    or else pause accepting briefly and say so once per interval."""

    def __init__(
        self,
        sock: socket.socket,
        callback: Callable[[socket.socket, Any], None],
        notes: Throttle,
        make_room: Callable[[], bool] = lambda: False,
    ) -> None:
        self.sock = sock
        self.callback = callback
        self.make_room = make_room
        self.notes = notes
        self.loop = IOLoop.current()
        self.removed = False
        self.loop.add_handler(sock, self._ready, IOLoop.READ)

    def _ready(self, _fd: Any, _events: int) -> None:
        for _ in range(ACCEPT_BATCH):
            if self.removed:
                return
            try:
                connection, address = self.sock.accept()
            except BlockingIOError:
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                if exc.errno not in _OUT_OF_FDS:
                    raise
                if self.make_room():  # an idle connection closed: its descriptor takes the new one
                    continue
                return self._pause(exc)
            self.callback(connection, address)

    def _pause(self, exc: OSError) -> None:
        """Stop watching the socket briefly: the pending connections wait in the backlog instead of spinning."""
        self.notes.warning(
            "cannot accept connections (%s): out of file descriptors; pausing accepts for %.2fs "
            "(lower MAX_CONNECTIONS or raise `ulimit -n`)",
            exc.strerror or exc,
            ACCEPT_PAUSE_S,
        )
        self.loop.remove_handler(self.sock)
        self.loop.call_later(ACCEPT_PAUSE_S, self._resume)

    def _resume(self) -> None:
        if not self.removed:
            self.loop.add_handler(self.sock, self._ready, IOLoop.READ)

    def remove(self) -> None:
        if not self.removed:
            self.removed = True
            with contextlib.suppress(KeyError, ValueError):
                self.loop.remove_handler(self.sock)


def make_server(app: Any, settings: Settings) -> LimitedHTTPServer:
    """The HTTP server with the settings' limits (timeouts, body size, connection cap)."""
    return LimitedHTTPServer(
        app,
        max_body_size=settings.MAX_BODY_BYTES,
        xheaders=False,
        max_connections=connection_cap(settings.MAX_CONNECTIONS),
        header_timeout_s=settings.HTTP_IDLE_TIMEOUT_SECONDS,
        body_timeout_s=settings.HTTP_BODY_TIMEOUT_SECONDS,
    )


def start_limits(settings: Settings) -> None:
    """At start: raise the fd limit, and say which connection limits are in force."""
    soft = raise_fd_limit()
    for name in ("tornado.access", "tornado.general"):  # a line per refused request or slow body: throttled
        throttle_logger(name)
    log.debug(
        "open-file limit %d: at most %d connections; headers within %ds, body within %ds",
        soft,
        connection_cap(settings.MAX_CONNECTIONS, soft),
        settings.HTTP_IDLE_TIMEOUT_SECONDS,
        settings.HTTP_BODY_TIMEOUT_SECONDS,
    )
