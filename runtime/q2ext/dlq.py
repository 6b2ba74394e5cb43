"""Dead letters: the <topic>.dlq record with why, when and after how many attempts; replay back to the topic."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from . import wire
from .logs import escape

log = logging.getLogger("q2ext.dlq")
SUFFIX = ".dlq"
PREFIX = "q2msg-dlq-"


def topic(main_topic: str) -> str:
    """The dead-letter topic of a topic: sdk-generic.<Type>.dlq."""
    return main_topic + SUFFIX


def dead_letter_headers(record, reason: str, status: int | None, attempts: int) -> list[tuple[str, bytes]]:
    """The record's own headers plus q2msg-dlq-* saying why, when, after how many attempts, and from where."""
    facts = {
        "reason": reason,
        "status": str(status) if status is not None else "-",
        "attempts": str(attempts),
        "at": str(int(time.time() * 1000)),
        "topic": record.topic,
        "partition": str(record.partition),
        "offset": str(record.offset),
    }
    own = [(name, value) for name, value in record.headers if not name.startswith(PREFIX)]
    return own + [(PREFIX + name, value.encode()) for name, value in facts.items()]


def original_headers(headers) -> list[tuple[str, bytes]]:
    """A dead letter's headers without the q2msg-dlq-* ones: the record as it was first pushed."""
    return [(name, value) for name, value in headers if not name.startswith(PREFIX)]


def message_id(record) -> str:
    """The record's q2msg-id for log lines, or '-'."""
    for name, value in record.headers:
        if name == "q2msg-id":
            return escape(value[:64].decode(errors="replace"))  # anyone who writes to the topic chooses it
    return "-"


async def replay(
    bootstrap: str, message_type: str, client_options: dict[str, Any] | None = None, group: str = "q2ext-replay-dlq"
) -> int:
    """Move the dead letters of a type back onto its topic, committing as it goes; stops at the end seen at start."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from .kafka_clients import client_options as options_for, producer_for

    main = wire.topic_for(wire.check_type(message_type))
    source = topic(main)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
        **options_for(client_options, AIOKafkaConsumer),
    )
    producer = producer_for(bootstrap, client_options, 30.0)
    await consumer.start()
    try:
        await producer.start()
        partitions = (await consumer.topics()) and consumer.partitions_for_topic(source)
        if not partitions:
            log.info("no dead-letter topic %s: nothing to replay", source)
            return 0
        tps = [TopicPartition(source, p) for p in sorted(partitions)]
        consumer.assign(tps)  # no group join: only this group's committed offsets are used
        return await _move(consumer, producer, main, tps)
    finally:
        await producer.stop()
        await consumer.stop()


async def _move(consumer, producer, main: str, tps: list) -> int:
    """Replay up to each partition's end as first seen; commit after each acked batch."""
    # The end is the high watermark of the first fetch: tansu 0.6 answers ListOffsets(latest) with the
    # last batch's base offset + 1, too low when that batch held several records.
    ends: dict = {}
    pending, moved, idle_since = set(tps), 0, time.monotonic()
    while pending:
        batches = await consumer.getmany(*pending, timeout_ms=1000, max_records=500)
        for tp in pending:
            if tp not in ends and consumer.highwater(tp) is not None:
                ends[tp] = consumer.highwater(tp)
        for tp, records in batches.items():
            records = [r for r in records if r.offset < ends[tp]]
            acks = [await producer.send(main, r.value, key=r.key, headers=original_headers(r.headers)) for r in records]
            await asyncio.gather(*acks)
            if records:
                await consumer.commit({tp: records[-1].offset + 1})
                moved += len(records)
                idle_since = time.monotonic()
        for tp in [tp for tp in pending if tp in ends]:
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)
        if pending and time.monotonic() - idle_since > 30:
            log.warning("no records for 30s before the end of %s; stopping", ", ".join(str(tp) for tp in pending))
            break
    log.info("replayed %d dead letter(s) onto %s", moved, main)
    return moved


async def replay_one(
    bootstrap: str, dead_topic: str, partition: int, offset: int, client_options: dict[str, Any] | None = None
) -> str | None:
    """Put one dead letter back on its topic, as replay() does (the console's button); its id, or None if absent."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from .kafka_clients import client_options as options_for, producer_for

    tp = TopicPartition(dead_topic, partition)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=20,
        **options_for(client_options, AIOKafkaConsumer),
    )
    producer = producer_for(bootstrap, client_options, 30.0)
    await consumer.start()
    try:
        await producer.start()
        consumer.assign([tp])
        consumer.seek(tp, offset)
        for _ in range(10):
            for record in (await consumer.getmany(tp, timeout_ms=1000, max_records=1)).get(tp, []):
                if record.offset != offset:
                    return None
                main = dead_topic.removesuffix(SUFFIX)
                await producer.send_and_wait(
                    main, record.value, key=record.key, headers=original_headers(record.headers)
                )
                log.info(
                    "replayed dead letter %s (%s:%d@%d) onto %s",
                    message_id(record),
                    dead_topic,
                    partition,
                    offset,
                    main,
                )
                return message_id(record)
        return None
    finally:
        await producer.stop()
        await consumer.stop()
