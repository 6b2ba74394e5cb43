"""Wrap the loaded Message Bus handlers' handle() and serve their figures at /_bench/stats."""

from __future__ import annotations

import os
import time
from array import array

import tornado.web

from q2ext.handlers.message_bus import Q2MessageBusRequestHandler

KEEP_LATENCIES = os.environ.get("Q2BENCH_LATENCIES", "1") == "1"


class Figures:
    """What handle() saw since the last reset."""

    def __init__(self) -> None:
        self.handled = 0
        self.first = 0.0
        self.last = 0.0
        self.out_of_order = 0
        self.latencies = array("d")
        self.last_seq: dict[str, int] = {}
        self.violations: list[str] = []  # the first few, to say what went wrong

    def observe(self, message) -> None:
        """Count one handled message: latency from its seal timestamp (ms), order within its key."""
        now = time.time()
        self.handled += 1
        self.first = self.first or now
        self.last = now
        if KEEP_LATENCIES:
            self.latencies.append(now - message.timestamp_ms / 1000)
        parts = message.text.split(" ", 3)
        if len(parts) > 2 and parts[0] == "bench" and parts[2].isdigit():
            seq = int(parts[2])
            if seq <= self.last_seq.get(parts[1], -1):
                self.out_of_order += 1
                if len(self.violations) < 10:
                    self.violations.append(f"{parts[1]}: {self.last_seq[parts[1]]} then {seq} (id {message.id})")
            self.last_seq[parts[1]] = seq

    def summary(self) -> dict:
        ordered = sorted(self.latencies)

        def pct(q: float) -> float:
            return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000 if ordered else 0.0

        return {
            "handled": self.handled,
            "first": self.first,
            "last": self.last,
            "out_of_order": self.out_of_order,
            "violations": self.violations,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "max_ms": pct(1.0),
        }


FIGURES = Figures()


def _wrap(cls: type) -> None:
    inner = cls.handle

    async def handle(self, message) -> None:
        await inner(self, message)
        FIGURES.observe(message)

    cls.handle = handle


def _handlers(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_handlers(sub))
    return found


for _cls in _handlers(Q2MessageBusRequestHandler):
    if "handle" in _cls.__dict__:
        _wrap(_cls)


class StatsHandler(tornado.web.RequestHandler):
    """GET /_bench/stats: the figures; ?count=1 only the count (cheap to poll); ?reset=1 starts afresh."""

    def get(self) -> None:
        global FIGURES
        if self.get_argument("count", ""):  # the poll while a run goes on: no sorting of latencies
            self.finish({"handled": FIGURES.handled})
            return
        self.finish(FIGURES.summary())
        if self.get_argument("reset", ""):
            FIGURES = Figures()


URL_PATTERNS = [(r"/_bench/stats", StatsHandler)]
