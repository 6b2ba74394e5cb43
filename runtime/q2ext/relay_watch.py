"""What the relay tells about itself: its metric series, the broker watch, progress lines, gauges, /health.

Also hands free memory back after a burst (glibc keeps the pages of fetched records otherwise).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import time
from typing import Any, Protocol

from .logs import sleep_or_stop
from .metrics import Registry

log = logging.getLogger("q2ext.relay")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
BATCH_BUCKETS = (2, 5, 10, 20, 50, 100, 200, 500, 1000)


class RelayMetrics:
    """The relay's series on its /metrics."""

    def __init__(self, registry: Registry) -> None:
        m = self.registry = registry
        self.delivered = m.counter("q2ext_relay_delivered_total", "Records the handler answered 2xx for")
        self.retried = m.counter("q2ext_relay_retried_total", "Delivery attempts that will be retried")
        self.dead = m.counter("q2ext_relay_dead_lettered_total", "Records moved to the dead-letter topic")
        self.latency = m.histogram(
            "q2ext_relay_delivery_latency_seconds", "From the record's timestamp to the handler's 2xx", LATENCY_BUCKETS
        )
        self.in_flight = m.gauge("q2ext_relay_in_flight", "Records being delivered right now")
        self.batch_records = m.histogram(
            "q2ext_relay_batch_records", "Records per batch POST (adaptive delivery)", BATCH_BUCKETS
        ).labels()
        self.lag = m.gauge("q2ext_relay_consumer_lag", "Records on the partition not yet delivered")
        self.up = m.gauge("q2ext_relay_broker_up", "1 if the Kafka bootstrap servers accept connections")

    def bind(self, message_type: str) -> tuple:
        """The delivered counter and latency histogram of one type, bound once (the hot path calls them)."""
        return self.delivered.labels(type=message_type), self.latency.labels(type=message_type)

    def counts(self) -> tuple[int, int, int]:
        """Delivered, retried and dead-lettered so far."""
        return int(self.delivered.total()), int(self.retried.total()), int(self.dead.total())

    def show_lags(self, lags: dict[Any, int]) -> None:
        """Set the lag of each assigned partition and drop those of partitions revoked since."""
        shown = set()
        for tp, lag in lags.items():
            self.lag.set(lag, topic=tp.topic, partition=str(tp.partition))
            shown.add((("partition", str(tp.partition)), ("topic", tp.topic)))
        for gone in [labels for labels in self.lag.series() if labels not in shown]:  # revoked: not ours to show
            self.lag.remove(gone)


class Observed(Protocol):
    """What the watch reads and sets on the relay."""

    config: Any
    broker_up: bool
    stats: RelayMetrics

    def refresh_gauges(self) -> dict[str, int]: ...

    def idle(self) -> bool: ...

    def in_flight(self) -> int: ...

    def assigned(self) -> int: ...


async def watch(relay: Observed, stop: asyncio.Event) -> None:
    """Check the broker every second (say clearly when it goes and comes back); log progress periodically."""
    last_log = time.monotonic()
    last = (0, 0, 0)
    down_since = 0.0
    trimmed_at = -1  # the finished count when free memory was last handed back
    while not await sleep_or_stop(stop, 1.0):
        up = await reachable(relay.config.bootstrap)
        if up != relay.broker_up:
            down_since = _say_broker(relay.config.bootstrap, up, down_since)
            relay.broker_up = up
        relay.refresh_gauges()
        now = time.monotonic()
        if now - last_log >= relay.config.progress_interval_s:
            last = progress(relay, now - last_log, last)
            last_log = now
            release_free_memory()
        trimmed_at = trim_when_idle(relay, trimmed_at)


def _say_broker(bootstrap: str, up: bool, down_since: float) -> float:
    """One clear line when the broker goes or comes back; when it went."""
    if not up:
        log.error("Kafka at %s is unreachable: delivery paused, nothing is lost; waiting for it", bootstrap)
        return time.monotonic()
    log.warning("Kafka at %s is back after %.0fs; delivery resumes", bootstrap, time.monotonic() - down_since)
    return down_since


def progress(relay: Observed, seconds: float, last: tuple[int, int, int]) -> tuple[int, int, int]:
    """Log a progress line if anything moved (or is waiting) since the last one."""
    delivered, retried, dead = relay.stats.counts()
    lag = sum(relay.refresh_gauges().values())
    if (delivered, retried, dead) != last or lag:
        log.info(
            "relay: %d delivered (%.1f/s), lag %d, in flight %d, retried %d, dead-lettered %d, %d partition(s)",
            delivered,
            (delivered - last[0]) / max(seconds, 1e-9),
            lag,
            relay.in_flight(),
            retried,
            dead,
            relay.assigned(),
        )
    return delivered, retried, dead


def trim_when_idle(relay: Observed, trimmed_at: int) -> int:
    """Hand free memory back once a burst is delivered (its fetch buffers are garbage by then)."""
    delivered, _, dead = relay.stats.counts()
    if delivered + dead != trimmed_at and relay.idle():
        release_free_memory()
        return delivered + dead
    return trimmed_at


async def reachable(bootstrap: str) -> bool:
    """True if any bootstrap server accepts a TCP connection (works with TLS and SASL too)."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _reader, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)), 2.0)
        except (OSError, asyncio.TimeoutError, ValueError):
            continue
        writer.close()
        return True
    return False


def _libc_malloc_trim():
    """glibc's malloc_trim, or None where there is none (musl, macOS, Windows)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_malloc_trim = _libc_malloc_trim()


def release_free_memory() -> None:
    """Give the C heap's free pages back to the OS (fetched records come and go in bursts; glibc keeps them)."""
    if _malloc_trim is not None:
        _malloc_trim(0)
