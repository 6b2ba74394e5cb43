"""Slow and many connections: timeouts, the connection cap, the fd limit, and EMFILE without a log flood.

Each test runs `python -m q2ext run` of the fixture project in its own process, as production does.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import http.client
import logging
import resource
import selectors
import socket
import time
from pathlib import Path

from q2ext import delivery, envelope

from .conftest import PATH

SLOW_CONNECTIONS = 1100
GENUINE = 20
GENEROUS_S = 5.0  # a genuine delivery among the slow connections is answered well within this


def _raise_own_fd_limit(needed: int) -> None:
    """This test process holds the slow connections itself: it needs more than 1,024 descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    assert hard == resource.RLIM_INFINITY or hard >= needed, f"raise the hard open-file limit ({hard}) to {needed}"
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _open_slow(port: int, count: int) -> list[socket.socket]:
    """count connections that each send a request head promising a body that never comes."""
    socks = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        socks.append(sock)
    head = f"POST {PATH} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n".encode()
    for sock in socks:
        sock.settimeout(30)
        with contextlib.suppress(OSError):  # closed by the server already (the cap): that is its job
            sock.sendall(head)
    return socks


def _wait_until_seen(socks: list[socket.socket], deadline_s: float = 60) -> int:
    """Wait until the server read every slow request's head (it answers 100 Continue) or closed the connection.

    Proof that the server went through all of them, whatever the kernel's accept queue did; how many it holds.
    """
    waiting = {sock.fileno(): sock for sock in socks}
    held = 0
    deadline = time.monotonic() + deadline_s
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            selector.register(sock, selectors.EVENT_READ)
        while waiting:
            left = deadline - time.monotonic()
            assert left > 0, f"the server never answered {len(waiting)} of {len(socks)} connections"
            for key, _ in selector.select(left):
                sock = waiting.pop(key.fd)
                selector.unregister(sock)
                with contextlib.suppress(OSError):
                    held += sock.recv(64).startswith(b"HTTP/1.1 100")
    return held


def _get(port: int, path: str, timeout: float = 60) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def _deliver(port: int, ring, text: str) -> tuple[int, float]:
    """One genuine delivery on a new connection: its status and how long it took."""
    sealed = envelope.seal(text, "Lowercase", ring.active)
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", PATH, body=sealed.body, headers=delivery.sign(sealed.headers, ring.delivery))
        status = conn.getresponse().status
    finally:
        conn.close()
    return status, time.monotonic() - started


def test_1100_slow_connections_at_1024_fds_leave_genuine_deliveries_served(spawn, ring):
    _raise_own_fd_limit(SLOW_CONNECTIONS + 200)
    server = spawn(nofile=(1024, 1024))  # soft = hard: raising the soft limit cannot help here
    socks = _open_slow(server.port, SLOW_CONNECTIONS)
    try:
        assert _wait_until_seen(socks) > 0
        assert _get(server.port, "/health") == 200
        answers = [_deliver(server.port, ring, f"genuine {i}") for i in range(GENUINE)]
    finally:
        for sock in socks:
            sock.close()
    log = server.stop()
    assert [status for status, _ in answers] == [200] * GENUINE
    assert max(seconds for _, seconds in answers) < GENEROUS_S
    assert len(log.splitlines()) < 40, f"the server logged {len(log.splitlines())} lines:\n{log[-3000:]}"
    assert "Traceback" not in log


def test_soft_open_file_limit_is_raised_to_the_hard_limit_at_start(spawn):
    server = spawn(nofile=(1024, 4096))
    limits = Path(f"/proc/{server.proc.pid}/limits").read_text()
    line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
    assert line.split()[3:5] == ["4096", "4096"], line


def _closed_by_server(sock: socket.socket, deadline_s: float = 60) -> bool:
    """True once the server closes the connection (recv sees EOF or a reset) within the deadline."""
    sock.settimeout(deadline_s)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def test_request_whose_body_never_arrives_is_closed_after_the_body_timeout(spawn):
    server = spawn(Q2EXT_HTTP_BODY_TIMEOUT_SECONDS="1")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly this")
        assert _closed_by_server(sock)


def test_connection_that_never_finishes_its_headers_is_closed_after_the_idle_timeout(spawn):
    server = spawn(Q2EXT_HTTP_IDLE_TIMEOUT_SECONDS="1")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n")
        assert _closed_by_server(sock)


def test_keep_alive_connection_idle_after_a_request_is_closed_after_the_idle_timeout(spawn):
    server = spawn(Q2EXT_HTTP_IDLE_TIMEOUT_SECONDS="1")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        assert _closed_by_server(sock)


def test_no_timer_is_armed_per_request_for_the_header_deadline():
    from q2ext import netserver, settings

    server = netserver.make_server(object(), settings.load(environ={"Q2EXT_HTTP_IDLE_TIMEOUT_SECONDS": "7"}))
    assert server.conn_params.header_timeout is None  # Tornado's gen.with_timeout per request is off...
    assert server.header_timeout_s == 7  # ...and the sweep keeps the deadline instead


class _OutOfFiles(socket.socket):
    """A listening socket whose first accept() fails with EMFILE, as when the process has no descriptor left."""

    failures = 0

    def accept(self):
        if _OutOfFiles.failures < 1:
            _OutOfFiles.failures += 1
            raise OSError(errno.EMFILE, "Too many open files")
        return super().accept()


def _accept_once_out_of_files(make_room) -> int:
    """Serve one connection through an _Acceptor whose first accept() fails with EMFILE; accept() failures."""
    from q2ext import netserver

    _OutOfFiles.failures = 0

    async def go() -> int:
        listener = _OutOfFiles()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        accepted = asyncio.get_running_loop().create_future()
        notes = netserver.Throttle(logging.getLogger("q2ext.server"), every_s=10, burst=1)
        acceptor = netserver._Acceptor(listener, lambda conn, _addr: accepted.set_result(conn), notes, make_room)
        client = socket.create_connection(listener.getsockname())
        try:
            conn = await asyncio.wait_for(accepted, 30)  # accepted after the pause, not lost
            conn.close()
        finally:
            acceptor.remove()
            client.close()
            listener.close()
        return _OutOfFiles.failures

    return asyncio.run(go())


def test_emfile_pauses_accepting_with_one_log_line_then_accepts_again(caplog):
    caplog.set_level(logging.DEBUG)
    assert _accept_once_out_of_files(lambda: False) == 1
    [line] = [r.getMessage() for r in caplog.records if "cannot accept" in r.getMessage()]
    assert "out of file descriptors; pausing accepts" in line


def test_emfile_closes_an_idle_connection_to_make_room_without_pausing(caplog):
    caplog.set_level(logging.DEBUG)
    room = [1]

    def make_room() -> bool:
        room[0] -= 1
        return room[0] >= 0

    assert _accept_once_out_of_files(make_room) == 1
    assert room == [0]
    assert not [r for r in caplog.records if "cannot accept" in r.getMessage()]
