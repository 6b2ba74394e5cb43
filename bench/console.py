"""Handler ingest in DEBUG with the bus console off, on, and on with a page subscribed to its live stream.

    python bench/console.py [--rounds 7] [--quick]

Bakes the seed project, serves it twice in DEBUG (`Q2EXT_CONSOLE_EVENTS=0`: no console; default: console on),
and runs alternating slices of the same sealed single POSTs (loadgen.py, 16 connections): console off, console
on with nobody watching, console on with a reader of /_q2ext/console/api/stream (what an open page does).
Prints the medians of the paired ratios per round (this machine drifts by up to 1.5x within minutes) as JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import timeit
from pathlib import Path
from types import SimpleNamespace

import http_cases
from project import bake

STREAM = "/_q2ext/console/api/stream"


class StreamReader(threading.Thread):
    """Reads the console's server-sent events as a browser tab does, counting the events it got."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", STREAM)  # the ring first, then each new batch: what a page does
        self.resp = self.conn.getresponse()
        self.events = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.is_set():
                line = self.resp.fp.readline()
                if not line:
                    return
                if line.startswith(b"data: "):
                    self.events += len(json.loads(line[6:]))
        except (OSError, ValueError):
            return

    def stop(self) -> None:
        self.stopped.set()
        self.conn.sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small slices (1,000 POSTs), for a smoke run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="q2ext-bench-console-") as tmp:
        work = Path(tmp)
        project = bake(work / "baked")
        ctx = http_cases.Context(project, work, args.quick)
        result = {**in_process_costs(), **measure(ctx, project.ring(), args.rounds)}
    print(json.dumps(result))
    return 0


def in_process_costs(count: int = 100_000) -> dict:
    """What one event costs where it happens (a delivery's hook) and where a watched console reads it (JSON)."""
    from tornado.httputil import HTTPHeaders

    from q2ext import envelope, events
    from q2ext.console.web import summary

    headers = HTTPHeaders({"Content-Type": "application/octet-stream", "q2msg-id": "0" * 32})
    handler = SimpleNamespace(request=SimpleNamespace(headers=headers, body=b"x" * 100), MESSAGE_TYPE="Lowercase")
    message = envelope.Message("hello world", "Lowercase", "0" * 32, 0, "0", headers={"q2msg-id": "0" * 32})
    events.hub.enable(1000)
    hook = timeit.timeit(lambda: events.delivered(handler, message, 0.001), number=count) / count
    batch = list(events.hub.ring)[:100]
    stream = timeit.timeit(lambda: json.dumps([summary(e) for e in batch]), number=count // 100) / count
    events.hub.disable()
    off = timeit.timeit(lambda: events.delivered(handler, message, 0.001), number=count) / count
    return {"hook_us": round(hook * 1e6, 2), "hook_off_us": round(off * 1e6, 2), "stream_us": round(stream * 1e6, 2)}


def measure(ctx: http_cases.Context, ring, rounds: int) -> dict:
    """Alternating slices against the two servers; paired ratios per round and their medians."""
    off, off_port = http_cases.serve_project(ctx, "debug-console-off", debug=True, CONSOLE_EVENTS=0)
    on, on_port = http_cases.serve_project(ctx, "debug-console-on", debug=True)
    rates: dict[str, list[float]] = {"off": [], "on": [], "watched": []}
    cpu: dict[str, list[float]] = {"off": [], "on": [], "watched": []}
    seen = 0
    try:
        slices = [("off", off, off_port), ("on", on, on_port), ("watched", on, on_port)]
        for n in range(rounds):
            for name, server, port in slices[n % 3 :] + slices[: n % 3]:  # each goes first in a third of the rounds
                posts, warm = http_cases.single_slice(ctx, ring, f"r{n}{name}")
                reader = StreamReader(port) if name == "watched" else None
                if reader:
                    reader.start()
                result = http_cases.measure_running(ctx, server, port, posts, warm)
                if reader:
                    reader.stop()
                    seen += reader.events
                rates[name].append(result["records_per_s"])
                cpu[name].append(result["server_cpu_us_per_request"])
                print(
                    f"round {n + 1}: console {name:7} {result['records_per_s']:8.0f} msg/s"
                    f" {result['server_cpu_us_per_request']:7.1f} us server CPU/msg",
                    file=sys.stderr,
                )
    finally:
        off.stop()
        on.stop()
    return {
        "rounds": rounds,
        "msg_per_s": {name: round(statistics.median(values), 1) for name, values in rates.items()},
        "server_cpu_us_per_msg": {name: round(statistics.median(values), 1) for name, values in cpu.items()},
        # Ingest of one configuration over another: msg/s ratio, and the inverse ratio of server CPU per message
        # (the server's capacity; far steadier than msg/s on a shared machine).
        "rate_on_vs_off": _paired(rates["on"], rates["off"]),
        "rate_watched_vs_off": _paired(rates["watched"], rates["off"]),
        "capacity_on_vs_off": _paired(cpu["off"], cpu["on"]),
        "capacity_watched_vs_off": _paired(cpu["off"], cpu["watched"]),
        "events_streamed": seen,
        "raw": {"msg_per_s": rates, "server_cpu_us_per_msg": cpu},
    }


def _paired(values: list[float], against: list[float]) -> float:
    """The median of the per-round ratios."""
    return round(statistics.median(v / a for v, a in zip(values, against, strict=True)), 3)


if __name__ == "__main__":
    sys.exit(main())
