"""The relay: a Kafka consumer group that POSTs each record, as-is, to its handler and never loses one.

This module is the consume-deliver-commit loop; the parts it drives each do one job: scheduler.py (which
record of a partition may go next, and the offset safe to commit), poster.py (signed POSTs over kept-alive
connections), attempts.py (retries, backoff, dead letters), retry.py (what an answer means),
relay_lanes.py (adaptive delivery: what is ready for an endpoint goes in one POST), relay_watch.py
(metrics, broker watch, progress) and relay_status.py (/metrics and /health). An offset is committed only
after the handler answered 2xx or the record went to the dead-letter topic. The relay holds only the
delivery key: it signs each attempt, it cannot read a message (no module it imports can open one;
tests/runtime/test_relay_boundary.py checks).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from . import dlq, relay_lanes
from .attempts import Abandoned, Attempts, sealed_headers
from .broker import create_topics
from .kafka_clients import client_options, producer_for
from .logs import QuietKafkaLogs, describe, quiet_kafka_logs, sleep_or_stop  # noqa: F401 - part of the relay's API
from .metrics import Registry
from .poster import Poster
from .relay_config import RelayConfig
from .relay_status import serve_status
from .relay_watch import RelayMetrics, release_free_memory, watch  # noqa: F401 - release_free_memory: API
from .retry import OK, Outcome
from .scheduler import KeyScheduler
from .secretkey import Key

log = logging.getLogger("q2ext.relay")


class Partition:
    """One assigned partition: its fetched records by key and how far delivery got."""

    def __init__(self, tp, message_type: str, url: str, max_in_flight: int = 16, lane=None) -> None:
        self.tp = tp
        self.lane: relay_lanes.Lane | None = lane  # adaptive delivery: the endpoint's lane (None: --max-batch 1)
        self.type = message_type
        self.url = url
        self.scheduler = KeyScheduler(max_in_flight)  # delivery by key
        self.wake = asyncio.Event()
        self.done: int | None = None  # next offset to commit: every record below it is delivered or dead-lettered
        self.committed: int | None = None
        self.paused = False
        self.task: asyncio.Task | None = None
        self.stopping = asyncio.Event()
        self.busy = 0  # POSTs in flight
        self.tasks: set[asyncio.Task] = set()  # records past their first POST (retrying, dead-lettering)
        self.series: tuple = ()  # the delivered counter and latency histogram of this type, bound once

    def take(self, records: list) -> tuple[int, int | None]:
        """Queue fetched records; how many were dropped as second copies (below the offset also returned)."""
        below = self.scheduler.next_offset
        dropped = self.scheduler.add(records)
        if self.done is None:  # nothing below it is ours: lag counts from here while it is retried
            self.done = self.scheduler.commit_offset
        return dropped, below

    def pending(self) -> int:
        """Records fetched and not finished (queued, in flight, waiting to retry)."""
        return self.scheduler.pending

    def next_offset(self) -> int | None:
        """The lowest offset not yet delivered, if known."""
        return self.done


class Relay:
    """Consume the configured topics and deliver every record to its handler; run() until stop is set."""

    def __init__(self, config: RelayConfig, delivery_key: Key, metrics: Registry | None = None) -> None:
        self.config = config
        self.metrics = metrics or Registry()
        self.stats = RelayMetrics(self.metrics)
        self.topics = config.topics()
        self.parts: dict[Any, Partition] = {}
        self.consumer = None
        self.poster = Poster(delivery_key, config.timeout_s, self.metrics)
        self.attempts = Attempts(config, self.poster, self.stats)
        self.broker_up = True
        self.lanes: dict[str, relay_lanes.Lane] = {}  # adaptive delivery: one per endpoint URL

    # ---------------------------------------------------------------- lifecycle

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until stop is set, then finish in-flight records, commit, leave the group."""
        cfg = self.config
        status = serve_status(self, cfg.metrics_host, cfg.metrics_port) if cfg.metrics_port else None
        try:
            if not await self._connect(stop):
                return
            routes = ", ".join(f"{t} -> {u}" for t, u in sorted(cfg.routes.items()))
            log.info("relay group %r delivering %s", cfg.group, routes)
            helpers = [asyncio.ensure_future(c) for c in (self._commit_loop(stop), watch(self, stop))]
            fetch = asyncio.ensure_future(self._fetch_loop(stop))
            await stop.wait()
            log.info(
                "stopping: finishing %d delivery(ies) in flight, then committing and leaving the group",
                self.in_flight(),
            )
            await _cancel(fetch)
            await self._release(list(self.parts))
            await _cancel(*helpers)
        finally:
            await self._close()
            if status is not None:
                await status.close()
        delivered, _, dead = self.stats.counts()
        log.info(
            "relay stopped: %d delivered, %d dead-lettered; offsets committed, left group %r",
            delivered,
            dead,
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
                await sleep_or_stop(stop, 5.0)
        return False

    async def _start_clients(self) -> None:
        cfg = self.config
        self.attempts.producer = producer_for(cfg.bootstrap, cfg.client_options, cfg.timeout_s)
        await self.attempts.producer.start()  # fails fast while the broker is unreachable
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
        consumer, producer = self.consumer, self.attempts.producer
        self.consumer = self.attempts.producer = None
        for client in (consumer, producer):
            if client is not None:
                with contextlib.suppress(Exception):  # closing: a broker that is gone must not hang the exit
                    await asyncio.wait_for(client.stop(), 10)

    async def _close(self) -> None:
        await self._close_clients()
        self.poster.close()

    # ---------------------------------------------------------------- fetching

    async def _fetch_loop(self, stop: asyncio.Event) -> None:
        """Hand fetched records to their partition's worker; pause a partition whose queue is full."""
        consumer = self.consumer
        while not stop.is_set():
            try:
                batches = await consumer.getmany(timeout_ms=200, max_records=self.config.fetch_records)
            except Exception as exc:  # noqa: BLE001 - the fetch loop must outlive any one failure
                log.warning("fetch failed (%s); retrying", describe(exc))
                await sleep_or_stop(stop, 1.0)
                continue
            for tp, records in batches.items():
                self._hand_over(consumer, self.parts.get(tp) or self._open(tp), records)

    def _hand_over(self, consumer, part: Partition, records: list) -> None:
        """Give a partition's fetched records to its worker (never a second copy: it could reorder a key)."""
        dropped, below = part.take(records)
        if dropped:
            log.warning(
                "dropping %d refetched record(s) of %s[%d] below offset %d",
                dropped,
                part.tp.topic,
                part.tp.partition,
                below,
            )
        part.wake.set()
        if part.pending() >= self.config.queue_max and not part.paused:
            part.paused = True
            consumer.pause(part.tp)

    def _open(self, tp) -> Partition:
        message_type = self.topics[tp.topic]
        cfg = self.config
        url = cfg.routes[message_type]
        if cfg.adaptive:  # the endpoint's lane bounds the POSTs; a partition hands out what is ready
            lane = self.lanes.get(url) or self.lanes.setdefault(url, relay_lanes.Lane(url, cfg.max_in_flight))
            part = Partition(tp, message_type, url, cfg.queue_max + cfg.max_batch, lane)
        else:
            part = Partition(tp, message_type, url, cfg.max_in_flight)
        part.series = self.stats.bind(message_type)
        part.task = asyncio.ensure_future(self._work(part))
        self.parts[tp] = part
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

    def _resume_if_drained(self, part: Partition) -> None:
        """Fetch from a paused partition again once half its queue is delivered."""
        if part.paused and part.pending() < self.config.queue_max // 2:
            part.paused = False
            self.consumer.resume(part.tp)

    # ---------------------------------------------------------------- delivering by key

    async def _work(self, part: Partition) -> None:
        """Deliver this partition's records by key, single POSTs or (adaptive) what is ready in one POST."""
        while not part.stopping.is_set():  # woken by new records (and by stopping); completions start more at once
            self._start_ready(part)
            part.wake.clear()
            await part.wake.wait()
        # Stopping: POSTs in flight finish; records waiting to retry are abandoned (redelivered later).
        while part.scheduler.in_flight:
            part.wake.clear()
            await part.wake.wait()

    def _start_ready(self, part: Partition) -> None:
        """Start every record the scheduler lets go now."""
        if part.lane is not None:  # adaptive: the endpoint's free slots take what is ready
            part.lane.parts[part] = None
            relay_lanes.fill(self, part.lane)
            return self._resume_if_drained(part)
        scheduler = part.scheduler
        while (record := scheduler.next_ready()) is not None:
            self._start(part, record)
        self._resume_if_drained(part)

    def _start(self, part: Partition, record, lane: relay_lanes.Lane | None = None) -> None:
        """The first POST of a record, with a callback (no task: see http1.Client.send); lane: the slot it holds."""
        headers, _ = sealed_headers(record)
        if headers is None:  # not a sealed message: the slow path dead-letters it
            if lane is not None:
                lane.free += 1
            return self._go_on(part, record, None)
        part.busy += 1
        try:
            done = functools.partial(self._answered, part, record, lane)
            self.poster.send(part.url, headers, record.value or b"", done)
        except Exception:  # a bug must not stall the partition: the slow path takes the record
            part.busy -= 1
            if lane is not None:
                lane.free += 1
            log.exception("sending %s[%d]@%d failed", part.tp.topic, part.tp.partition, record.offset)
            self._go_on(part, record, None)

    def _answered(self, part: Partition, record, lane: relay_lanes.Lane | None, result) -> None:
        part.busy -= 1
        if lane is not None:
            lane.free += 1
        try:
            outcome = self.poster.outcome_of_send(part.url, result)
            if outcome is OK:
                self.attempts.count_delivered(part, record)
                return self._settle(part, record, True)
        except Exception:  # a bug here must not lose the record: the slow path takes it from the start
            log.exception("handling the answer for %s[%d]@%d failed", part.tp.topic, part.tp.partition, record.offset)
            outcome = None
        self._go_on(part, record, outcome)
        if lane is not None:  # the freed slot takes what is ready: a failure holds only its own key
            relay_lanes.fill(self, lane)

    def _go_on(self, part: Partition, record, outcome: Outcome | None) -> None:
        """The slow path: a task delivers the record from here on (retries, backoff, dead letter)."""
        task = asyncio.ensure_future(self.attempts.until_done(part, record, outcome))
        part.tasks.add(task)
        task.add_done_callback(functools.partial(self._ended, part, record))

    def _ended(self, part: Partition, record, task: asyncio.Task) -> None:
        part.tasks.discard(task)
        self._settle(part, record, not task.cancelled() and task.exception() is None)

    def _settle(self, part: Partition, record, delivered: bool) -> None:
        """A record is finished (or abandoned: it stays unfinished); its key's next record may go."""
        if delivered:
            part.scheduler.finished(record)
        else:
            part.scheduler.released(record)
        part.done = part.scheduler.commit_offset
        self._ready_again(part)

    def _ready_again(self, part: Partition) -> None:
        """Records of the partition settled: start what may go now (or wake its stopping worker)."""
        if part.stopping.is_set():
            part.wake.set()  # the worker is waiting for the last POSTs in flight
        else:
            self._start_ready(part)  # the next record goes out now, not a worker wake-up later

    # ---------------------------------------------------------------- committing

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
        while not await sleep_or_stop(stop, self.config.commit_interval_s):
            await self._commit()

    # ---------------------------------------------------------------- what the watch and /health read

    def idle(self) -> bool:
        """Nothing fetched and not yet finished (a record in flight or waiting to retry is held, or still queued)."""
        return not any(p.pending() for p in self.parts.values())

    def in_flight(self) -> int:
        return sum(p.busy for p in self.parts.values()) + sum(lane.batches for lane in self.lanes.values())

    def assigned(self) -> int:
        return len(self.consumer.assignment()) if self.consumer else 0

    def refresh_gauges(self) -> dict[str, int]:
        """Update in-flight, lag and broker gauges (before /metrics renders, and each second); lag by partition."""
        consumer = self.consumer
        lags = {tp: self._lag_of(tp, self.parts.get(tp)) for tp in (consumer.assignment() if consumer else ())}
        self.stats.show_lags(lags)
        self.stats.in_flight.set(self.in_flight())
        self.stats.up.set(1 if self.broker_up else 0)
        return {f"{tp.topic}:{tp.partition}": lag for tp, lag in lags.items()}

    def _lag_of(self, tp, part: Partition | None) -> int:
        """Records of the partition not delivered yet, counting those in flight or waiting to retry."""
        pending = part.pending() if part is not None else 0
        high = self.consumer.highwater(tp)
        nxt = part.next_offset() if part is not None else None
        if high is None or nxt is None:
            return pending
        return max(pending, high - nxt)

    def health(self) -> tuple[int, dict]:
        """/health: 200 while the broker is reachable, 503 when not; what this relay is doing."""
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in (self.consumer.assignment() if self.consumer else ()))
        delivered, _, dead = self.stats.counts()
        body = {
            "status": "ok" if self.broker_up else "kafka unreachable",
            "group": self.config.group,
            "partitions": assigned,
            "delivered": delivered,
            "dead_lettered": dead,
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


async def _cancel(*tasks: asyncio.Future) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


__all__ = ["Abandoned", "Partition", "Relay", "RelayConfig", "describe", "quiet_kafka_logs", "release_free_memory"]
