"""push() messages from a process of the baked project, as fast as it can or at a fixed rate.

    python bench/pusher.py --count N [--workers 16] [--rate R] [--keys K] [--log FILE]

Runs with the project's settings plus Q2EXT_* overrides (DEBUG=1: loopback bus; DEBUG=0: Kafka).
As fast as it can: each worker owns one ordering key and pushes its sequence in order.
At a rate: push i goes out at i/R seconds with key i % K. Prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import time
from array import array
from pathlib import Path

from loadgen import percentile
from messages import MESSAGE_TYPE, text_for
from procs import cpu_seconds


class Pushes:
    """Push latencies and failures of one run."""

    def __init__(self, use_keys: bool) -> None:
        from q2ext import bus

        self.bus = bus
        self.use_keys = use_keys
        self.logger = logging.getLogger("extension.SendToBus")
        self.latencies = array("d")
        self.errors: list[str] = []

    async def one(self, key: str, seq: int) -> None:
        started = time.perf_counter()
        try:
            await self.bus.push(self.logger, text_for(key, seq), MESSAGE_TYPE, key=key if self.use_keys else None)
        except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
            self.errors.append(f"{exc.__class__.__name__}: {exc}"[:200])
            return
        self.latencies.append(time.perf_counter() - started)


async def flat_out(pushes: Pushes, count: int, workers: int) -> None:
    """Each worker pushes its own key's sequence, one push at a time (so per-key order is the push order)."""

    async def worker(index: int) -> None:
        for seq in range(index, count, workers):
            await pushes.one(f"w{index}", seq)

    await asyncio.gather(*(worker(i) for i in range(workers)))


async def at_rate(pushes: Pushes, count: int, rate: float, keys: int, tick_s: float = 0.002) -> None:
    """Push i starts at i/rate seconds, whatever the others are doing; due pushes start every 2 ms tick.

    A sleep per push (1,000 timers a second) cost this process more CPU than the pushes themselves, CPU the
    bus under test shares; 2 ms ticks keep the rate exact with at most 2 ms of bunching.
    """
    started = time.perf_counter()
    tasks = set()
    sent = 0
    while sent < count:
        due = min(count, int((time.perf_counter() - started) * rate) + 1)
        for seq in range(sent, due):
            task = asyncio.create_task(pushes.one(f"r{seq % keys}", seq))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        sent = due
        await asyncio.sleep(tick_s)
    await asyncio.gather(*tasks)


async def run(args: argparse.Namespace) -> dict:
    from q2ext import services, settings

    svc = services.install(services.build(settings.get()))
    pushes = Pushes(use_keys=args.keys > 0)
    await pushes.one("warm", 0)  # connect the bus before the clock starts
    connected = len(pushes.latencies)  # 1 if that push was acknowledged: handle() sees it too
    pushes.latencies = array("d")
    wall_start, started = time.time(), time.perf_counter()
    if args.rate:
        await at_rate(pushes, args.count, args.rate, max(1, args.keys))
    else:
        await flat_out(pushes, args.count, args.workers)
    elapsed = time.perf_counter() - started
    await svc.close()
    lat = list(pushes.latencies)
    return {
        "pushed": len(lat),
        "acked": len(lat) + connected,  # what handle() will be called for, the connecting push included
        "errors": len(pushes.errors),
        "first_errors": pushes.errors[:3],
        "wall_start": wall_start,
        "elapsed_s": elapsed,
        "pushes_per_s": len(lat) / elapsed,
        "p50_ms": percentile(lat, 0.50) * 1000,
        "p99_ms": percentile(lat, 0.99) * 1000,
        "cpu_s": cpu_seconds(os.getpid()),  # what pushing cost, next to what the bus under test spent
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--rate", type=float, default=0.0, help="pushes per second (0: as fast as it can)")
    parser.add_argument("--keys", type=int, default=0, help="ordering keys (0: no key)")
    parser.add_argument("--log", help="append the project's log lines to this file")
    args = parser.parse_args()
    from q2ext import logs, settings

    cfg = settings.use(settings.load())
    log = Path(args.log).open("a") if args.log else None  # noqa: SIM115 - open as long as the process
    logs.setup(cfg.LOG_LEVEL, stream=log)
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
