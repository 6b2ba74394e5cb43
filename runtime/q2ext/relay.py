"""The relay: a Kafka consumer group that POSTs each record, as-is, to its handler and never loses one.

Per partition, records of different keys go out concurrently, one key's records one at a time in offset
order (so a key's messages stay in order, even across retries); partitions are delivered concurrently;
batch delivery (opt-in) sends a partition's records in order, many per POST. An offset is committed only
after the handler answered 2xx or the record went to the dead-letter topic. The relay holds only the
delivery key: it signs each attempt, it cannot read a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import heapq
import itertools
import json
import logging
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiokafka import AIOKafkaConsumer
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from . import batch, delivery, dlq, envelope, http1, wire
from .broker import create_topics
from .handlers.message_bus import RETRYABLE
from .kafka_bus import client_options, producer_for
from .keyring import Key
from .logs import escape
from .metrics import Registry
from .targets import client_for, endpoints

log = logging.getLogger("q2ext.relay")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
REQUIRED = ("q2msg-id", "q2msg-hmac")
NO_ANSWER = (asyncio.TimeoutError, http1.HttpError, OSError)  # what getting no answer raises: a retry
MAX_RETRY_AFTER_S = 300.0  # a handler asking for a longer pause still gets retried after 5 minutes


@dataclass
class RelayConfig:
    """How the relay reads Kafka and delivers; the CLI fills it from flags and settings."""

    bootstrap: str
    routes: dict[str, str]  # message type -> handler endpoint URL
    group: str = "q2ext-relay"
    client_options: dict[str, Any] = field(default_factory=dict)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0  # 0: no /metrics endpoint
    min_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    retry_for_s: float = 900.0  # a record still refused this long after its first attempt is dead-lettered (0: never)
    timeout_s: float = 10.0
    session_timeout_ms: int = 10_000  # tansu: keep well under 37.5 s; a join takes half of it
    fetch_max_wait_ms: int = 20  # tansu holds each fetch for half of this even when data waits
    commit_interval_s: float = 0.2
    progress_interval_s: float = 10.0
    queue_max: int = 200  # records buffered per partition before fetching from it pauses (bounds memory)
    max_in_flight: int = 16  # records of one partition delivered at once (different keys only; 1: strictly serial)
    batch_size: int = 1  # >1: up to this many records of a partition per POST (opt-in batch delivery)
    batch_max_bytes: int = 1024 * 1024  # ... and at most this many body bytes per POST
    create_topics: bool = True

    @property
    def fetch_records(self) -> int:
        """Records one fetch call hands over: a queue's worth, or ten batches when batch delivery is on."""
        return max(self.queue_max, 10 * self.batch_size)

    @property
    def fetch_sizes(self) -> dict[str, int]:
        """The consumer's fetch limits: about a queue's worth per partition, or a few batches' worth.

        One record per POST: 64 KB (~100 sealed messages) per partition; 256 KB swung the relay's RSS by
        ~40 MB while it ran behind a busy handler. Batches of N need N records at hand: ~2 KB per record.
        """
        per_partition = max(64 * 1024, 2 * 1024 * self.batch_size)
        return {"max_partition_fetch_bytes": per_partition, "fetch_max_bytes": 16 * per_partition}

    def topics(self) -> dict[str, str]:
        """Topic -> message type."""
        return {envelope.topic_for(t): t for t in self.routes}


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: delivered, retry (maybe after Retry-After), or dead (permanent)."""

    verdict: str  # "ok" | "retry" | "dead"
    status: int | None
    reason: str
    retry_after: float | None = None


OK = Outcome("ok", 200, "")
NOT_ATTEMPTED = Outcome("retry", 503, "not attempted: an earlier record of the batch must be retried first")


def classify(status: int, reason: str, retry_after: float | None = None) -> Outcome:
    """2xx delivers; 404, 408, 409, 429 and 5xx are retried; any other answer is permanent."""
    if 200 <= status < 300:
        return OK
    verdict = "retry" if status in RETRYABLE or status >= 500 else "dead"
    return Outcome(verdict, status, reason, retry_after)


def _outcome_of(response: http1.Response) -> Outcome:
    """What a handler's answer to one POST means for the record(s) in it."""
    if 200 <= response.status < 300:
        return OK
    reason = refusal_reason(response.status, response.headers, response.body)
    return classify(response.status, reason, parse_retry_after(response.headers.get("retry-after")))


def _batch_outcome(result: dict) -> Outcome:
    """The outcome of one record of a batch answer."""
    if not isinstance(result, dict) or not isinstance(result.get("status"), int):
        return Outcome("retry", None, "batch answer without a status for this record")
    if result.get("attempted") is False:
        return NOT_ATTEMPTED
    retry_after = result.get("retry_after")
    return classify(result["status"], str(result.get("error") or ""), retry_after if retry_after else None)


def backoff(attempt: int, low: float, high: float, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter (50-100% of the step, at most high); a Retry-After (up to 5 min) wins."""
    delay = min(high, low * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
    return delay


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is ignored: handlers answer seconds)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def refusal_reason(status: int, headers, body: bytes) -> str:
    """Why the handler said no: its q2msg-refused header, else the JSON body's error, else the status."""
    reason = headers.get("q2msg-refused")
    if not reason and body:
        with contextlib.suppress(ValueError, UnicodeDecodeError, AttributeError):
            reason = json.loads(body).get("error")
    return escape(str(reason or f"HTTP {status}"), 300)  # the target's words go into log lines: escaped


class Partition:
    """One assigned partition: its queue of fetched records and how far delivery got."""

    __slots__ = (
        "busy",
        "committed",
        "done",
        "fetched",
        "held",
        "paused",
        "queue",
        "series",
        "stopping",
        "task",
        "tp",
        "type",
        "url",
        "wake",
    )

    def __init__(self, tp, message_type: str, url: str) -> None:
        self.tp = tp
        self.type = message_type
        self.url = url
        self.queue: deque = deque()
        self.wake = asyncio.Event()
        self.done: int | None = None  # next offset to commit: every record below it is delivered or dead-lettered
        self.committed: int | None = None
        self.fetched: int | None = None  # the offset after the last record fetched
        self.paused = False
        self.task: asyncio.Task | None = None
        self.stopping = asyncio.Event()
        self.busy = 0  # POSTs in flight
        self.held = 0  # records taken from the queue by the worker and not finished (they count against queue_max)
        self.series: tuple = ()  # the delivered counter and latency histogram of this type, bound once (see _open)


class Abandoned(Exception):
    """Delivery of a record stopped (shutdown or rebalance); it stays uncommitted and comes again."""


class Relay:
    """Consume the configured topics and deliver every record to its handler; run() until stop is set."""

    def __init__(self, config: RelayConfig, delivery_key: Key, metrics: Registry | None = None) -> None:
        self.config = config
        self.key = delivery_key
        self.metrics = metrics or Registry()
        self.topics = config.topics()
        self.parts: dict[Any, Partition] = {}
        self.consumer = None
        self.producer = None
        self._http: dict[str, tuple[http1.Client, str]] = {}  # endpoint URL -> (client of its origin, path)
        self.broker_up = True
        m = self.metrics
        self._delivered = m.counter("q2ext_relay_delivered_total", "Records the handler answered 2xx for")
        self._retried = m.counter("q2ext_relay_retried_total", "Delivery attempts that will be retried")
        self._dead = m.counter("q2ext_relay_dead_lettered_total", "Records moved to the dead-letter topic")
        self._latency = m.histogram(
            "q2ext_relay_delivery_latency_seconds", "From the record's timestamp to the handler's 2xx", LATENCY_BUCKETS
        )
        self._in_flight = m.gauge("q2ext_relay_in_flight", "Records being delivered right now")
        self._lag = m.gauge("q2ext_relay_consumer_lag", "Records on the partition not yet delivered")
        self._up = m.gauge("q2ext_relay_broker_up", "1 if the Kafka bootstrap servers accept connections")

    # ---------------------------------------------------------------- lifecycle

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until stop is set, then finish in-flight records, commit, leave the group."""
        cfg = self.config
        status = await serve_status(self, cfg.metrics_host, cfg.metrics_port) if cfg.metrics_port else None
        try:
            if not await self._connect(stop):
                return
            log.info(
                "relay group %r delivering %s",
                cfg.group,
                ", ".join(f"{t} -> {u}" for t, u in sorted(cfg.routes.items())),
            )
            helpers = [asyncio.ensure_future(c) for c in (self._commit_loop(stop), self._watch(stop))]
            fetch = asyncio.ensure_future(self._fetch_loop(stop))
            await stop.wait()
            busy = sum(p.busy for p in self.parts.values())
            log.info("stopping: finishing %d delivery(ies) in flight, then committing and leaving the group", busy)
            await _cancel(fetch)
            await self._release(list(self.parts))
            await _cancel(*helpers)
        finally:
            await self._close()
            if status is not None:
                await status.cleanup()
        log.info(
            "relay stopped: %d delivered, %d dead-lettered; offsets committed, left group %r",
            _total(self._delivered),
            _total(self._dead),
            cfg.group,
        )

    async def _connect(self, stop: asyncio.Event) -> bool:
        """Start producer and consumer, waiting for the broker while it is unreachable; False if stopped first."""
        while not stop.is_set():
            try:
                await self._start_clients()
                return True
            except Exception as exc:  # noqa: BLE001 - any start failure means: broker not there yet
                await self._close_clients()
                log.warning("Kafka at %s unreachable (%s); retrying in 5s", self.config.bootstrap, describe(exc))
                await _sleep_or_stop(stop, 5.0)
        return False

    async def _start_clients(self) -> None:
        cfg = self.config
        self.producer = producer_for(cfg.bootstrap, cfg.client_options, cfg.timeout_s)
        await self.producer.start()  # fails fast while the broker is unreachable
        if cfg.create_topics:
            try:
                topics = [*self.topics, *(dlq.topic(t) for t in self.topics)]
                await create_topics(cfg.bootstrap, topics, client_options=cfg.client_options)
            except Exception as exc:  # noqa: BLE001 - a managed cluster may forbid it; the topics may exist
                log.warning("could not create topics (%s); using them as they are", describe(exc))
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=cfg.bootstrap,
            group_id=cfg.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=cfg.session_timeout_ms,
            heartbeat_interval_ms=min(1000, cfg.session_timeout_ms // 4),
            fetch_max_wait_ms=cfg.fetch_max_wait_ms,
            # What a fetch brings is buffered until delivered: keep it small (the relay is bound by HTTP anyway);
            # the project's KAFKA_CLIENT_OPTIONS may still say otherwise.
            **{**cfg.fetch_sizes, **client_options(cfg.client_options, AIOKafkaConsumer)},
        )
        await self.consumer.start()
        self.consumer.subscribe(list(self.topics), listener=_Listener(self))

    async def _close_clients(self) -> None:
        consumer, producer, self.consumer, self.producer = self.consumer, self.producer, None, None
        for client in (consumer, producer):
            if client is not None:
                with contextlib.suppress(Exception):  # closing: a broker that is gone must not hang the exit
                    await asyncio.wait_for(client.stop(), 10)

    async def _close(self) -> None:
        await self._close_clients()
        for client, _ in self._http.values():
            client.close()

    # ---------------------------------------------------------------- fetching

    async def _fetch_loop(self, stop: asyncio.Event) -> None:
        """Hand fetched records to their partition's worker; pause a partition whose queue is full."""
        consumer = self.consumer
        while not stop.is_set():
            try:
                batches = await consumer.getmany(timeout_ms=200, max_records=self.config.fetch_records)
            except Exception as exc:  # noqa: BLE001 - the fetch loop must outlive any one failure
                log.warning("fetch failed (%s); retrying", describe(exc))
                await _sleep_or_stop(stop, 1.0)
                continue
            for tp, records in batches.items():
                part = self.parts.get(tp) or self._open(tp)
                if part.fetched is not None and records[0].offset < part.fetched:
                    # A partition's records must come in offset order; anything below what was fetched already is
                    # a second copy (delivered or queued), and queuing it again could reorder a key.
                    log.warning(
                        "dropping %d refetched record(s) of %s[%d] below offset %d",
                        sum(r.offset < part.fetched for r in records),
                        tp.topic,
                        tp.partition,
                        part.fetched,
                    )
                    records = [r for r in records if r.offset >= part.fetched]
                    if not records:
                        continue
                part.fetched = records[-1].offset + 1
                part.queue.extend(records)
                part.wake.set()
                if len(part.queue) + part.held >= self.config.queue_max and not part.paused:
                    part.paused = True
                    consumer.pause(tp)

    def _open(self, tp) -> Partition:
        message_type = self.topics[tp.topic]
        part = self.parts[tp] = Partition(tp, message_type, self.config.routes[message_type])
        part.series = (self._delivered.labels(type=message_type), self._latency.labels(type=message_type))
        part.task = asyncio.ensure_future(self._work(part))
        return part

    async def _release(self, tps) -> None:
        """Stop the workers of these partitions (each finishes the POST it is in) and commit what they did."""
        parts = [self.parts[tp] for tp in tps if tp in self.parts]
        for part in parts:
            part.stopping.set()
            part.wake.set()
        await asyncio.gather(*(p.task for p in parts if p.task is not None), return_exceptions=True)
        await self._commit(parts)
        for part in parts:
            self.parts.pop(part.tp, None)

    # ---------------------------------------------------------------- delivering

    async def _work(self, part: Partition) -> None:
        """Deliver this partition's records: by key, or in batches when batch delivery is on."""
        if self.config.batch_size > 1:
            return await self._work_in_batches(part)
        return await self._work_by_key(part)

    async def _work_by_key(self, part: Partition) -> None:
        """Records of different keys go out concurrently (up to max_in_flight); one key's records one at a time.

        Records move from the partition's queue to a queue per key; a key whose record is in flight waits, while
        other keys go ahead. The committed offset is the lowest record not yet finished, so a crash redelivers
        (never skips) anything waiting or in flight; the handler's seen ids turn those into acknowledgements.
        A record's first POST is sent with a callback (no task: see http1.Client.send); a record that needs
        more (retry, dead letter) goes on in a task of its own.
        """
        queue, limit = part.queue, max(1, self.config.max_in_flight)
        by_key: dict[object, deque] = {}  # records taken from the queue and not yet handed out, per key
        ready: deque = deque()  # keys whose next record may go now (none of theirs in flight)
        busy: set[object] = set()  # keys with a record in flight
        unfinished: list[int] = []  # heap of the offsets taken from the queue...
        finished: set[int] = set()  # ...minus these (removed from the heap lazily)
        tasks: set[asyncio.Task] = set()  # records past their first POST (retrying, dead-lettering)
        sending = [0]  # first POSTs in flight (a list: the callbacks below change it)
        last = [0]  # the highest offset taken, plus one

        def lowest_unfinished() -> int:
            while unfinished and unfinished[0] in finished:
                finished.discard(heapq.heappop(unfinished))
            return unfinished[0] if unfinished else queue[0].offset if queue else last[0]

        def settle(key, record, delivered: bool) -> None:
            busy.discard(key)
            if key in by_key:
                ready.append(key)
            if delivered:  # an abandoned record stays unfinished
                finished.add(record.offset)
                part.held -= 1
            part.done = lowest_unfinished()
            if part.stopping.is_set():
                part.wake.set()  # the worker is waiting for the last POSTs in flight
            else:
                pump()  # the next record goes out now, not a worker wake-up later

        def go_on(key, record, outcome: Outcome | None) -> None:
            """The slow path: a task delivers the record from here on (retries, backoff, dead letter)."""
            task = asyncio.ensure_future(self._deliver_until_done(part, record, outcome))
            tasks.add(task)

            def ended(task: asyncio.Task) -> None:
                tasks.discard(task)
                settle(key, record, not task.cancelled() and task.exception() is None)

            task.add_done_callback(ended)

        def answered(key, record, result) -> None:
            sending[0] -= 1
            part.busy -= 1
            try:
                outcome = self._outcome_of_send(part.url, result)
                if outcome is OK:
                    self._count_delivered(part, record)
                    return settle(key, record, True)
            except Exception:  # a bug here must not lose the record: the slow path takes it from the start
                log.exception(
                    "handling the answer for %s[%d]@%d failed", part.tp.topic, part.tp.partition, record.offset
                )
                outcome = None
            go_on(key, record, outcome)

        def start(key, record) -> None:
            headers, _ = self._sealed_headers(record)
            if headers is None:  # not a sealed message: the slow path dead-letters it
                return go_on(key, record, None)
            sending[0] += 1
            part.busy += 1
            try:
                client, path = self._client_for(part.url)
                signed = delivery.sign(headers, self.key, 1)
                client.send(path, signed, record.value or b"", functools.partial(answered, key, record))
            except Exception:  # a bug must not stall the partition: the slow path takes the record
                sending[0] -= 1
                part.busy -= 1
                log.exception("sending %s[%d]@%d failed", part.tp.topic, part.tp.partition, record.offset)
                go_on(key, record, None)

        def pump() -> None:
            """Move fetched records to their keys' queues and start every record that may go now."""
            while queue:
                record = queue.popleft()
                heapq.heappush(unfinished, record.offset)
                if part.done is None:  # nothing below it is ours: lag counts from here while it is retried
                    part.done = record.offset
                part.held += 1
                last[0] = record.offset + 1
                key = record.key if record.key is not None else record.offset  # no key: no order to keep
                waiting = by_key.get(key)
                if waiting is None:
                    by_key[key] = deque((record,))
                    if key not in busy:
                        ready.append(key)
                else:
                    waiting.append(record)
            while ready and sending[0] + len(tasks) < limit:
                key = ready.popleft()
                waiting = by_key[key]
                record = waiting.popleft()
                if not waiting:
                    del by_key[key]
                busy.add(key)
                start(key, record)
            self._resume_if_drained(part)

        while not part.stopping.is_set():  # woken by new records (and by stopping); completions pump() at once
            pump()
            part.wake.clear()
            await part.wake.wait()
        # Stopping: POSTs in flight finish; records waiting to retry are abandoned (redelivered later).
        while sending[0] or tasks:
            part.wake.clear()
            await part.wake.wait()

    async def _deliver_until_done(self, part: Partition, record, outcome: Outcome | None = None) -> None:
        """_deliver(), and if a bug makes it raise, say so and try the record again: never drop it."""
        while True:
            try:
                return await self._deliver(part, record, outcome)
            except Abandoned:
                raise
            except Exception:
                log.exception(
                    "delivering %s[%d]@%d failed; trying again in 1s", part.tp.topic, part.tp.partition, record.offset
                )
                outcome = None
                if await _sleep_or_stop(part.stopping, 1.0):
                    raise Abandoned from None

    async def _work_in_batches(self, part: Partition) -> None:
        """Deliver this partition's records in batches, one POST at a time, in offset order."""
        queue = part.queue
        while not part.stopping.is_set():
            if not queue:
                part.wake.clear()
                await part.wake.wait()
                continue
            try:
                finished = await self._deliver_batch(part)
            except Abandoned:
                return
            except Exception:  # a bug must not silently stall the partition: say so, try the records again
                log.exception(
                    "delivering a batch of %s[%d] failed; trying again in 1s", part.tp.topic, part.tp.partition
                )
                await _sleep_or_stop(part.stopping, 1.0)
                continue
            for _ in range(finished):
                record = queue.popleft()
            part.done = record.offset + 1
            self._resume_if_drained(part)

    def _resume_if_drained(self, part: Partition) -> None:
        """Fetch from a paused partition again once half its queue is delivered."""
        if part.paused and len(part.queue) + part.held < self.config.queue_max // 2:
            part.paused = False
            self.consumer.resume(part.tp)

    async def _deliver(self, part: Partition, record, outcome: Outcome | None = None) -> None:
        """Attempt until the handler says 2xx, or the answer is permanent or the retries run out (dead letter).

        outcome: what the first attempt came to, when it was made already (the callback path of _work_by_key).
        """
        headers, bad = self._sealed_headers(record)
        if headers is None:
            return await self._dead_letter(part, record, Outcome("dead", None, bad), 0)
        attempt = 0 if outcome is None else 1
        started = time.monotonic()
        while True:
            if outcome is None:
                attempt += 1
                part.busy += 1
                try:
                    outcome = await self._post(part.url, headers, record.value or b"", attempt)
                finally:
                    part.busy -= 1
            if outcome is OK:
                self._count_delivered(part, record)
                return
            if outcome.verdict == "dead" or self._out_of_time(started):
                return await self._dead_letter(part, record, outcome, attempt)
            await self._wait_to_retry(part, record, headers, outcome, attempt)
            outcome = None

    def _out_of_time(self, started: float, now: float | None = None) -> bool:
        """True once a record's retries have run for retry_for_s (a budget in time, not in attempts).

        Time, so that it outlasts what it waits for: a crashed handler's seen-id leases (10 s), a restart,
        a key ring reaching every handler (UNKNOWN_KEY_GRACE_SECONDS), whatever the backoff steps were.
        """
        budget = self.config.retry_for_s
        return bool(budget) and (time.monotonic() if now is None else now) - started >= budget

    def _count_delivered(self, part: Partition, record) -> None:
        """The delivered counter and latency histogram of the partition's type (bound when it was opened)."""
        counted, timed = part.series
        counted()
        timed(max(0.0, time.time() - record.timestamp / 1000))

    def _sealed_headers(self, record) -> tuple[dict[str, str] | None, str]:
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

    def _next_batch(self, part: Partition) -> list[tuple[Any, dict[str, str]]]:
        """The sealed records at the head of the queue that fit one POST (at least one, unless the head is bad)."""
        out: list[tuple[Any, dict[str, str]]] = []
        size = 0
        for record in itertools.islice(part.queue, self.config.batch_size):
            headers, _ = self._sealed_headers(record)
            size += len(record.value or b"")
            if headers is None or (out and size > self.config.batch_max_bytes):
                break
            out.append((record, headers))
        return out

    async def _deliver_batch(self, part: Partition) -> int:
        """Deliver the head of the queue in one POST per attempt; how many records are finished (in order).

        Each record keeps its own guarantees: the handler answers per record, handles them in order and stops
        at the first one to retry; 2xx and dead letters finish a record, a retry answer waits with backoff.
        """
        pending = self._next_batch(part)
        if not pending:  # the head record is not a sealed message: the single path dead-letters it
            await self._deliver(part, part.queue[0])
            return 1
        attempts = [0] * len(pending)
        finished = 0
        started = time.monotonic()
        while pending:
            attempts = [n + 1 for n in attempts]
            part.busy += 1
            try:
                outcomes = await self._post_batch(part.url, pending, attempts)
            finally:
                part.busy -= 1
            attempts = [n - (o is NOT_ATTEMPTED) for n, o in zip(attempts, outcomes, strict=True)]
            done = 0
            for (record, headers), outcome, attempt in zip(pending, outcomes, attempts, strict=True):
                if outcome is OK:
                    self._count_delivered(part, record)
                elif outcome.verdict == "dead" or self._out_of_time(started):
                    await self._dead_letter(part, record, outcome, attempt)
                else:
                    await self._wait_to_retry(part, record, headers, outcome, attempt)
                    break
                done += 1
            pending, attempts, finished = pending[done:], attempts[done:], finished + done
        return finished

    async def _wait_to_retry(self, part: Partition, record, headers: dict[str, str], outcome: Outcome, attempt: int):
        """Count and log a retry, then sleep its backoff (Abandoned if the relay stops meanwhile)."""
        cfg = self.config
        delay = backoff(attempt, cfg.min_backoff_s, cfg.max_backoff_s, outcome.retry_after)
        self._retried.inc(type=part.type, status=str(outcome.status or "none"))
        log.warning(
            "retry %s message %s (%s[%d]@%d) attempt %d: %s; next in %.1fs",
            part.type,
            headers["q2msg-id"][:64],
            part.tp.topic,
            part.tp.partition,
            record.offset,
            attempt,
            outcome.reason,
            delay,
        )
        if await _sleep_or_stop(part.stopping, delay):
            raise Abandoned

    async def _post_batch(self, url: str, pending, attempts: list[int]) -> list[Outcome]:
        """One POST of several signed records; an outcome per record (the POST's own failure applies to all)."""
        body = batch.encode(
            ({**headers, "q2msg-attempt": str(attempt)}, record.value or b"")
            for (record, headers), attempt in zip(pending, attempts, strict=True)
        )
        answer = await self._send(url, delivery.sign_batch(body, self.key), body)  # one signature for the batch
        if isinstance(answer, Outcome):
            return [answer] * len(pending)
        if answer.status != 200:
            return [_outcome_of(answer)] * len(pending)
        try:
            results = json.loads(answer.body)["results"]
        except (ValueError, KeyError, TypeError):
            return [Outcome("retry", 200, f"{url} answered a batch without per-record results")] * len(pending)
        return [_batch_outcome(result) for result in results[: len(pending)]] + [NOT_ATTEMPTED] * (
            len(pending) - len(results)
        )

    async def _post(self, url: str, headers: dict[str, str], body: bytes, attempt: int) -> Outcome:
        """One signed POST of the record; its outcome (a refused connection or timeout is a retry)."""
        answer = await self._send(url, delivery.sign(headers, self.key, attempt), body)
        return answer if isinstance(answer, Outcome) else _outcome_of(answer)

    async def _send(self, url: str, headers: dict[str, str], body: bytes) -> http1.Response | Outcome:
        """POST over a kept-alive connection: the response, or the retry outcome of getting none."""
        client, path = self._client_for(url)
        try:
            return await client.post(path, headers, body)
        except NO_ANSWER as exc:
            return self._no_answer(url, exc)

    def _outcome_of_send(self, url: str, result: http1.Response | BaseException) -> Outcome:
        """The outcome of a callback POST: the handler's answer, or the retry of getting none."""
        if isinstance(result, http1.Response):
            return _outcome_of(result)
        if isinstance(result, NO_ANSWER):
            return self._no_answer(url, result)
        raise result

    def _no_answer(self, url: str, exc: BaseException) -> Outcome:
        if isinstance(exc, asyncio.TimeoutError):
            return Outcome("retry", None, f"no answer from {url} within {self.config.timeout_s:g}s")
        if isinstance(exc, http1.HttpError):
            return Outcome("retry", None, f"{url}: {exc}")
        return Outcome("retry", None, f"cannot connect to {url} ({exc})")

    def _client_for(self, url: str) -> tuple[http1.Client, str]:
        """The kept-alive client of the endpoint's origin and the path to POST to, made on first use."""
        found = self._http.get(url)
        if found is None:  # several hosts, comma-separated: a Spread over them (targets.py)
            found = self._http[url] = client_for(url, self.config.timeout_s, self.metrics)
        return found

    async def _dead_letter(self, part: Partition, record, outcome: Outcome, attempts: int) -> None:
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
                    "could not write dead letter for %s[%d]@%d (%s); retrying in %.1fs",
                    part.tp.topic,
                    part.tp.partition,
                    record.offset,
                    describe(exc),
                    delay,
                )
                if await _sleep_or_stop(part.stopping, delay):
                    raise Abandoned from None
        self._dead.inc(type=part.type, status=str(outcome.status or "none"))
        log.warning(
            "dead letter %s message %s (%s[%d]@%d) after %d attempt(s): %s",
            part.type,
            dlq.message_id(record),
            part.tp.topic,
            part.tp.partition,
            record.offset,
            attempts,
            outcome.reason,
        )

    # ---------------------------------------------------------------- committing and watching

    async def _commit(self, parts=None) -> None:
        """Commit each partition's delivered prefix, if it moved since the last commit."""
        consumer = self.consumer
        if consumer is None:
            return
        assigned = consumer.assignment()
        parts = self.parts.values() if parts is None else parts
        offsets = {p.tp: p.done for p in parts if p.done is not None and p.done != p.committed and p.tp in assigned}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:  # a rebalance or the broker: those records come again, the handler dedups
            log.warning("commit failed (%s); uncommitted records will be delivered again", describe(exc))
            return
        for part in parts:
            if part.tp in offsets:
                part.committed = offsets[part.tp]

    async def _commit_loop(self, stop: asyncio.Event) -> None:
        while not await _sleep_or_stop(stop, self.config.commit_interval_s):
            await self._commit()

    async def _watch(self, stop: asyncio.Event) -> None:
        """Check the broker every second (say clearly when it goes and comes back); log progress periodically."""
        last_log = time.monotonic()
        last = (0.0, 0.0, 0.0)
        down_since = 0.0
        trimmed_at = -1  # the delivered count when free memory was last handed back
        while not await _sleep_or_stop(stop, 1.0):
            up = await _reachable(self.config.bootstrap)
            if up != self.broker_up:
                if not up:
                    down_since = time.monotonic()
                    log.error(
                        "Kafka at %s is unreachable: delivery paused, nothing is lost; waiting for it",
                        self.config.bootstrap,
                    )
                else:
                    log.warning(
                        "Kafka at %s is back after %.0fs; delivery resumes",
                        self.config.bootstrap,
                        time.monotonic() - down_since,
                    )
                self.broker_up = up
            self.refresh_gauges()
            now = time.monotonic()
            if now - last_log >= self.config.progress_interval_s:
                last = self._progress(now - last_log, last)
                last_log = now
                release_free_memory()
            trimmed_at = self._trim_when_idle(trimmed_at)

    def idle(self) -> bool:
        """Nothing fetched and not yet finished (a record in flight or waiting to retry is held, or still queued)."""
        return not any(p.queue or p.held for p in self.parts.values())

    def _trim_when_idle(self, trimmed_at: int) -> int:
        """Hand free memory back once a burst is delivered (its fetch buffers are garbage by then)."""
        delivered = _total(self._delivered) + _total(self._dead)
        if delivered != trimmed_at and self.idle():
            release_free_memory()
            return delivered
        return trimmed_at

    def refresh_gauges(self) -> dict[str, int]:
        """Update in-flight, lag and broker gauges (before /metrics renders, and each second); lag by partition."""
        lags: dict[str, int] = {}
        consumer = self.consumer
        shown = set()
        for tp in consumer.assignment() if consumer is not None else ():
            lag = self._lag_of(tp, self.parts.get(tp))
            lags[f"{tp.topic}:{tp.partition}"] = lag
            self._lag.set(lag, topic=tp.topic, partition=str(tp.partition))
            shown.add((("partition", str(tp.partition)), ("topic", tp.topic)))
        for gone in [labels for labels in self._lag.values if labels not in shown]:  # revoked: not ours to show
            del self._lag.values[gone]
        self._in_flight.set(sum(p.busy for p in self.parts.values()))
        self._up.set(1 if self.broker_up else 0)
        return lags

    def _lag_of(self, tp, part: Partition | None) -> int:
        """Records of the partition not delivered yet, counting those in flight or waiting to retry."""
        pending = part.held + len(part.queue) if part is not None else 0
        high = self.consumer.highwater(tp)
        nxt = part.done if part and part.done is not None else part.queue[0].offset if part and part.queue else None
        if high is None or nxt is None:
            return pending
        return max(pending, high - nxt)

    def _progress(self, seconds: float, last: tuple[float, float, float]) -> tuple[float, float, float]:
        delivered, retried, dead = _total(self._delivered), _total(self._retried), _total(self._dead)
        lag = sum(self.refresh_gauges().values())
        if (delivered, retried, dead) != last or lag:
            log.info(
                "relay: %d delivered (%.1f/s), lag %d, in flight %d, retried %d, dead-lettered %d, %d partition(s)",
                delivered,
                (delivered - last[0]) / max(seconds, 1e-9),
                lag,
                sum(p.busy for p in self.parts.values()),
                retried,
                dead,
                len(self.consumer.assignment()) if self.consumer else 0,
            )
        return delivered, retried, dead

    def health(self) -> tuple[int, dict]:
        """/health: 200 while the broker is reachable, 503 when not; what this relay is doing."""
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in (self.consumer.assignment() if self.consumer else ()))
        body = {
            "status": "ok" if self.broker_up else "kafka unreachable",
            "group": self.config.group,
            "partitions": assigned,
            "delivered": _total(self._delivered),
            "dead_lettered": _total(self._dead),
        }
        return (200 if self.broker_up else 503), body


class _Listener(ConsumerRebalanceListener):
    """Rebalance callbacks: a revoked partition's worker finishes its POST and commits before it goes."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    async def on_partitions_revoked(self, revoked) -> None:
        if revoked:
            await self.relay._release(list(revoked))

    async def on_partitions_assigned(self, assigned) -> None:
        log.info("assigned %s", ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned)) or "nothing")


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


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep, waking early if stop is set; True if it was."""
    if stop.is_set():
        return True
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def _cancel(*tasks: asyncio.Future) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _reachable(bootstrap: str) -> bool:
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


def describe(exc: BaseException) -> str:
    """An error as '<Class>: <text>', once: aiokafka's errors already start their text with their class name."""
    name, text = exc.__class__.__name__, str(exc)
    if not text:
        return name
    return text if text.startswith(name) else f"{name}: {text}"


def _total(counter) -> int:
    return int(sum(counter.values.values()))


async def serve_status(relay: Relay, host: str, port: int) -> web.AppRunner | None:
    """/metrics (Prometheus text) and /health on the relay's own port; a taken port only disables them."""

    async def metrics(_request: web.Request) -> web.Response:
        relay.refresh_gauges()
        return web.Response(text=relay.metrics.render(), headers={"Content-Type": "text/plain; version=0.0.4"})

    async def health(_request: web.Request) -> web.Response:
        status, body = relay.health()
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        log.warning(
            "metrics port %s:%d unavailable (%s): no /metrics for this relay; pass --metrics-port",
            host,
            port,
            exc.strerror or exc,
        )
        await runner.cleanup()
        return None
    log.info("relay metrics on http://%s:%d/metrics, health on /health", host, port)
    return runner


class QuietKafkaLogs(logging.Filter):
    """Let one aiokafka warning of each kind through per interval: it logs every failed reconnect, ~20 a second."""

    def __init__(self, every_s: float = 30.0) -> None:
        super().__init__()
        self.every_s = every_s
        self.last: dict[tuple[str, object], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith("aiokafka"):
            return True
        key, now = (record.name, record.msg), time.monotonic()
        if now - self.last.get(key, -self.every_s) < self.every_s:
            return False
        self.last[key] = now
        return True


def quiet_kafka_logs(every_s: float = 30.0, level: str = "INFO") -> None:
    """aiokafka at WARNING unless LOG=DEBUG, and QuietKafkaLogs on the root handlers (the relay says it once)."""
    if logging.getLevelName(level.upper()) != logging.DEBUG:  # its INFO lines (joins, coordinators) drown ours
        for name in ("aiokafka", "kafka"):
            logging.getLogger(name).setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.addFilter(QuietKafkaLogs(every_s))


def discover_routes(extensions, target: str) -> dict[str, str]:
    """Message type -> <target>/<Type>/message/process/sdk, for each installed Message Bus handler."""
    from .bus import bus_url
    from .handlers.message_bus import Q2MessageBusRequestHandler
    from .server import load_routes

    types = []
    for route in load_routes(extensions):
        handler = getattr(route, "handler_class", None) or (route[1] if isinstance(route, (tuple, list)) else None)
        if isinstance(handler, type) and issubclass(handler, Q2MessageBusRequestHandler) and handler.MESSAGE_TYPE:
            types.append(handler.MESSAGE_TYPE)
    return {t: endpoints(target, t, bus_url) for t in dict.fromkeys(types)}


def read_routes(path: str) -> dict[str, str]:
    """A routes file: a JSON object mapping message types to handler endpoint URLs."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ValueError(f"routes file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"routes file {path} is not valid JSON (line {exc.lineno})") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(
            f"routes file {path} must be a JSON object of type to URL, e.g. "
            '{"Lowercase": "http://127.0.0.1:1980/Lowercase/message/process/sdk"}'
        )
    return {envelope.check_type(t): url for t, url in data.items()}
