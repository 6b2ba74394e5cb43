"""Deliver one record until it is done: attempt again after a backoff, or write its dead letter.

The slow path of the relay: a record whose first POST was not a 2xx (or was never made) continues here,
in a task of its own, while the key scheduler keeps its key busy.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from . import dlq, http1, wire
from .logs import describe, sleep_or_stop
from .poster import Poster
from .relay_config import RelayConfig
from .relay_watch import RelayMetrics
from .retry import OK, Outcome, RetryBudget, backoff

log = logging.getLogger("q2ext.relay")
REQUIRED = ("q2msg-id", "q2msg-hmac")


class Abandoned(Exception):
    """Delivery of a record stopped (shutdown or rebalance); it stays uncommitted and comes again."""


class Part(Protocol):
    """What delivery needs of an assigned partition."""

    tp: Any
    type: str
    url: str
    stopping: Any
    busy: int
    series: tuple


def sealed_headers(record) -> tuple[dict[str, str] | None, str]:
    """The record's headers as text, or None and why it is not a sealed q2ext message."""
    headers, bad = wire.forwarded_headers(record.headers)  # only the sealed q2msg-* headers travel on
    if headers is None:
        return None, bad
    missing = [name for name in REQUIRED if name not in headers]
    if missing:
        return None, f"record has no {', '.join(missing)} header: not a sealed q2ext message"
    try:
        http1.check_headers(headers)
    except ValueError as exc:  # a CR/LF in a record header must never split the POST to the handler
        return None, f"record {exc}"
    return headers, ""


def where(part: Part, record) -> str:
    return f"{part.tp.topic}[{part.tp.partition}]@{record.offset}"


class Attempts:
    """Attempts, backoff waits and dead letters of single records, counted on the relay's metrics."""

    def __init__(self, config: RelayConfig, poster: Poster, stats: RelayMetrics, producer=None) -> None:
        self.config = config
        self.poster = poster
        self.stats = stats
        self.producer = producer
        self.budget = RetryBudget(config.retry_for_s)

    async def until_done(self, part: Part, record, outcome: Outcome | None = None) -> None:
        """deliver(), and if a bug makes it raise, say so and try the record again: never drop it."""
        while True:
            try:
                return await self.deliver(part, record, outcome)
            except Abandoned:
                raise
            except Exception:
                log.exception("delivering %s failed; trying again in 1s", where(part, record))
                outcome = None
                if await sleep_or_stop(part.stopping, 1.0):
                    raise Abandoned from None

    async def deliver(self, part: Part, record, outcome: Outcome | None = None) -> None:
        """Attempt until the handler says 2xx, or the answer is permanent or the retries run out (dead letter).

        outcome: what the first attempt came to, when it was made already (the relay's callback path).
        """
        headers, bad = sealed_headers(record)
        if headers is None:
            return await self.dead_letter(part, record, Outcome("dead", None, bad), 0)
        attempt = 0 if outcome is None else 1
        started = self.budget.start()
        while True:
            if outcome is None:
                attempt += 1
                part.busy += 1
                try:
                    outcome = await self.poster.post(part.url, headers, record.value or b"", attempt)
                finally:
                    part.busy -= 1
            if outcome is OK:
                self.count_delivered(part, record)
                return
            if outcome.verdict == "dead" or self.budget.spent(started):
                return await self.dead_letter(part, record, outcome, attempt)
            await self.wait_to_retry(part, record, headers, outcome, attempt)
            outcome = None

    def count_delivered(self, part: Part, record) -> None:
        """The delivered counter and latency histogram of the partition's type (bound when it was opened)."""
        counted, timed = part.series
        counted()
        timed(max(0.0, time.time() - record.timestamp / 1000))

    async def wait_to_retry(self, part: Part, record, headers: dict[str, str], outcome: Outcome, attempt: int):
        """Count and log a retry, then sleep its backoff (Abandoned if the relay stops meanwhile)."""
        cfg = self.config
        delay = backoff(attempt, cfg.min_backoff_s, cfg.max_backoff_s, outcome.retry_after)
        self.stats.retried.inc(type=part.type, status=str(outcome.status or "none"))
        log.warning(
            "retry %s message %s (%s) attempt %d: %s; next in %.1fs",
            part.type,
            headers["q2msg-id"][:64],
            where(part, record),
            attempt,
            outcome.reason,
            delay,
        )
        if await sleep_or_stop(part.stopping, delay):
            raise Abandoned

    async def dead_letter(self, part: Part, record, outcome: Outcome, attempts: int) -> None:
        """Put the record on <topic>.dlq with why, when and after how many attempts; retry until acked."""
        headers = dlq.dead_letter_headers(record, outcome.reason, outcome.status, attempts)
        failures = 0
        while True:
            try:
                await self.producer.send_and_wait(
                    dlq.topic(part.tp.topic), record.value, key=record.key, headers=headers
                )
                break
            except Exception as exc:  # noqa: BLE001 - the broker may be gone: keep the record, try again
                failures += 1
                delay = backoff(failures, self.config.min_backoff_s, self.config.max_backoff_s)
                log.warning(
                    "could not write dead letter for %s (%s); retrying in %.1fs",
                    where(part, record),
                    describe(exc),
                    delay,
                )
                if await sleep_or_stop(part.stopping, delay):
                    raise Abandoned from None
        self.stats.dead.inc(type=part.type, status=str(outcome.status or "none"))
        log.warning(
            "dead letter %s message %s (%s) after %d attempt(s): %s",
            part.type,
            dlq.message_id(record),
            where(part, record),
            attempts,
            outcome.reason,
        )
