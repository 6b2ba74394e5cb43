"""The one load client of the HTTP cases: raw HTTP/1.1 keep-alive over N connections, pre-built requests.

A separate process, so it competes with the server for the 2 cores the same way in every case.
An asyncio Protocol with pre-built request bytes costs far less per request than an HTTP client
library, so more of the machine goes to the server being measured.

    python bench/loadgen.py --port P --requests FILE [--warmup FILE] [--connections 16] [--batch 100]

FILE holds length-prefixed request bytes (see write_requests). Prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import struct
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from procs import cpu_seconds

_LEN = struct.Struct(">I")
OK_MARK = b'"status": 200'


def write_requests(path: Path, requests: list[bytes]) -> None:
    """Store request bytes for the load client, each prefixed by its 4-byte length."""
    with path.open("wb") as fh:
        for req in requests:
            fh.write(_LEN.pack(len(req)))
            fh.write(req)


def read_requests(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out, pos = [], 0
    while pos < len(data):
        (size,) = _LEN.unpack_from(data, pos)
        out.append(data[pos + 4 : pos + 4 + size])
        pos += 4 + size
    return out


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values by nearest rank; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def content_length(head: bytes) -> int:
    """The Content-Length of a response head (0 if absent)."""
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at < 0:
        return 0
    stop = lower.find(b"\r\n", at + 2)
    return int(lower[at + 17 : stop if stop >= 0 else None])


class Connection(asyncio.Protocol):
    """Sends the next request as soon as the answer to the previous one is complete."""

    def __init__(self, feed: Iterator[bytes], run: Run) -> None:
        self.feed = feed
        self.run = run
        self.buf = b""
        self.sent = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self._send_next()

    def _send_next(self) -> None:
        req = next(self.feed, None)
        if req is None:
            self.transport.close()
            return
        self.sent = time.perf_counter()
        self.transport.write(req)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buf[:end]
        length = content_length(head)
        if len(self.buf) < end + 4 + length:
            return
        body = self.buf[end + 4 : end + 4 + length]
        self.buf = self.buf[end + 4 + length :]
        self.run.record(time.perf_counter() - self.sent, int(head[9:12]), body)
        self._send_next()

    def connection_lost(self, exc) -> None:
        self.run.closed()


class Run:
    """The figures of one pass over a list of requests."""

    def __init__(self, connections: int, batch: int) -> None:
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.records_ok = 0
        self.batch = batch
        self.open = connections
        self.finished = asyncio.get_running_loop().create_future()

    def record(self, seconds: float, status: int, body: bytes) -> None:
        self.latencies.append(seconds)
        self.statuses[status] += 1
        if self.batch > 1:
            self.records_ok += max(0, body.count(OK_MARK) - 1)
        elif status == 200:
            self.records_ok += 1

    def closed(self) -> None:
        self.open -= 1
        if self.open == 0 and not self.finished.done():
            self.finished.set_result(None)


async def drive(host: str, port: int, requests: list[bytes], connections: int, batch: int) -> dict:
    """Send every request over the connections; the figures of the pass."""
    loop = asyncio.get_running_loop()
    run = Run(connections, batch)
    feed = iter(requests)
    started, cpu = time.perf_counter(), cpu_seconds(os.getpid())
    for _ in range(connections):
        await loop.create_connection(lambda: Connection(feed, run), host, port)
    await run.finished
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(os.getpid()) - cpu
    return {
        "requests": len(run.latencies),
        # What this lean client spends per POST: the floor of any asyncio HTTP client here (the relay is one).
        "client_cpu_us_per_request": cpu / max(1, len(run.latencies)) * 1e6,
        "records_ok": run.records_ok,
        "statuses": {str(k): v for k, v in sorted(run.statuses.items())},
        "elapsed_s": elapsed,
        "requests_per_s": len(run.latencies) / elapsed,
        "records_per_s": run.records_ok / elapsed,
        "p50_ms": percentile(run.latencies, 0.50) * 1000,
        "p99_ms": percentile(run.latencies, 0.99) * 1000,
    }


async def main_async(args: argparse.Namespace) -> dict:
    if args.warmup:
        await drive(args.host, args.port, read_requests(Path(args.warmup)), args.connections, args.batch)
    return await drive(args.host, args.port, read_requests(Path(args.requests)), args.connections, args.batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", required=True)
    parser.add_argument("--warmup")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--batch", type=int, default=1, help="records per request (counts per-record answers)")
    print(json.dumps(asyncio.run(main_async(parser.parse_args()))))


if __name__ == "__main__":
    main()
