"""The relay's HTTP client against a hostile target: its memory stays bounded however the answer is framed.

The target is a raw asyncio server on loopback in this process (it sends from one shared 1 MiB buffer, so it
costs little memory); the client runs in a child process that reports its own peak and current RSS.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from q2ext import http1

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
MiB = 1024 * 1024
CHUNK = b"x" * MiB
HUGE_MIB = 100  # each hostile answer: far over the client's 16 MiB cap


class Target:
    """A hostile HTTP server: what it answers depends on the path."""

    def __init__(self) -> None:
        self.spammed: asyncio.Event | None = None

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                await reader.readexactly(length)
                path = head.split(b" ")[1].decode()
                if not await getattr(self, path.strip("/").replace("-", "_"))(writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _send_huge(self, writer: asyncio.StreamWriter, chunked: bool = False) -> None:
        for _ in range(HUGE_MIB):
            writer.write(b"100000\r\n" + CHUNK + b"\r\n" if chunked else CHUNK)
            await writer.drain()

    async def close_delimited(self, writer) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        await self._send_huge(writer)
        return False

    async def chunked(self, writer) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        await self._send_huge(writer, chunked=True)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    async def then_spam(self, writer) -> bool:
        """Answer properly, then send 100 MiB on the now idle kept-alive connection."""
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        try:
            await writer.drain()
            await self._send_huge(writer)
        except ConnectionError:
            pass
        finally:
            self.spammed.set()
        return True

    async def wait(self, writer) -> bool:
        """Answer once the spam of then_spam() is sent (or refused)."""
        await self.spammed.wait()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        return True

    async def ten_mib(self, writer) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (10 * MiB) + CHUNK * 10)
        await writer.drain()
        return True

    async def unicode_length(self, writer) -> bool:
        writer.write("HTTP/1.1 200 OK\r\nContent-Length: \u00b2\r\n\r\nok".encode("latin-1"))
        await writer.drain()
        return True


@pytest.fixture
def target() -> Iterator[int]:
    """The hostile target on a free loopback port, served from a background thread; its port."""
    ready = threading.Event()
    box: dict = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        hostile = Target()

        async def main() -> None:
            hostile.spammed = asyncio.Event()
            server = await asyncio.start_server(hostile.serve, "127.0.0.1", 0)
            box["port"] = server.sockets[0].getsockname()[1]
            box["stop"] = asyncio.Event()
            box["loop"] = loop
            ready.set()
            await box["stop"].wait()
            server.close()

        loop.run_until_complete(main())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield box["port"]
    box["loop"].call_soon_threadsafe(box["stop"].set)
    thread.join(10)


CHILD = r"""
import asyncio, gc, json, resource, sys
from q2ext import http1
from q2ext.relay_watch import release_free_memory

def rss_mib():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20

def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

async def body_size(answer):
    return len((await answer).body)

async def main(case, port):
    base = f"http://127.0.0.1:{port}"
    client = http1.Client(base, timeout=60)
    before = {"peak": peak_mib(), "rss": rss_mib()}
    errors = []
    if case == "pooled":
        sizes = await asyncio.gather(*(body_size(client.post("/ten-mib", {}, b"")) for _ in range(20)))
        assert len(client._idle) == 20 and sizes == [10 * 2**20] * 20, (len(client._idle), sizes)
    elif case == "idle":
        await client.post("/then-spam", {}, b"")
        await http1.Client(base, timeout=60).post("/wait", {}, b"")
    else:
        for _ in range(3):
            try:
                await client.post("/" + case, {}, b"")
            except http1.HttpError as exc:
                errors.append(str(exc))
    gc.collect()
    release_free_memory()
    print(json.dumps({"peak": peak_mib() - before["peak"], "rss": rss_mib() - before["rss"], "errors": errors}))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def client_memory(case: str, port: int) -> dict:
    """Run the client case in a child process; its RSS growth (MiB, peak and now) and the errors it saw."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, case, str(port)],
        env={"PYTHONPATH": str(RUNTIME), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_an_answer_delimited_by_the_close_is_capped(target):
    seen = client_memory("close-delimited", target)
    assert len(seen["errors"]) == 3 and "limit" in seen["errors"][0]
    assert seen["peak"] < 64, seen  # 100 MiB answers: the cap is 16 MiB


def test_a_chunked_answer_is_capped(target):
    seen = client_memory("chunked", target)
    assert len(seen["errors"]) == 3 and "limit" in seen["errors"][0]
    assert seen["peak"] < 64, seen


def test_bytes_sent_on_an_idle_kept_alive_connection_close_it_instead_of_piling_up(target):
    seen = client_memory("idle", target)
    assert seen["peak"] < 64, seen  # 100 MiB were sent at the idle connection


def test_a_pooled_connection_keeps_nothing_of_its_last_answer(target):
    seen = client_memory("pooled", target)
    assert seen["rss"] < 64, seen  # 20 pooled connections that each read a 10 MiB answer


def test_a_chunked_answer_within_the_cap_is_read_whole(target):
    async def go() -> http1.Response:
        body = b"0123456789" * 1000

        async def serve(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            parts = [body[:7], body[7:5000], body[5000:]]
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for part in parts:
                writer.write(b"%x;ext=1\r\n%s\r\n" % (len(part), part))
                await writer.drain()
            writer.write(b"0\r\nX-Trailer: 1\r\n\r\n")
            await writer.drain()
            await reader.read()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = http1.Client(f"http://127.0.0.1:{port}")
        try:
            return await client.post("/", {}, b"")
        finally:
            client.close()
            server.close()

    response = asyncio.run(go())
    assert response.status == 200 and response.body == b"0123456789" * 1000


def test_a_unicode_digit_in_content_length_is_one_error_without_a_traceback(target, caplog):
    caplog.set_level(logging.DEBUG)

    async def go() -> None:
        client = http1.Client(f"http://127.0.0.1:{target}")
        with pytest.raises(http1.HttpError, match="bad Content-Length"):
            await client.post("/unicode-length", {}, b"")
        client.close()

    asyncio.run(go())
    assert "Fatal error" not in caplog.text and "Traceback" not in caplog.text
