"""Baseline B: raw aiokafka produce, then group consume, of the same sealed records push() would make.

    python bench/kafka_baseline.py --kafka HOST:PORT --count N [--partitions 4]

Runs in the baked project (its key ring seals the records). Prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid

from messages import MESSAGE_TYPE, sealed


def records(count: int) -> list[tuple[bytes, list[tuple[str, bytes]], bytes]]:
    """(key, headers, value) of count sealed messages, keyed over 64 keys like the pusher's workers."""
    from q2ext import keyring, settings

    ring = keyring.read_file(settings.load().KEYRING_FILE)
    out = []
    for seq, (headers, body) in enumerate(sealed(ring, count, "kb")):
        out.append((f"w{seq % 64}".encode(), [(k, v.encode()) for k, v in headers.items()], body))
    return out


async def produce(bootstrap: str, topic: str, batch: list) -> float:
    """Send every record (acks=all), wait for all acknowledgements; the seconds it took."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(topic, value, key=key, headers=headers) for key, headers, value in batch]
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def consume(bootstrap: str, topic: str, count: int) -> tuple[float, float]:
    """Read count records in a fresh consumer group; (seconds to join and get the first, seconds for all)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
        fetch_max_wait_ms=20,
    )
    started = time.perf_counter()
    await consumer.start()
    try:
        seen, first = 0, 0.0
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
            if batches and not first:
                first = time.perf_counter()
            seen += sum(len(r) for r in batches.values())
        await consumer.commit()
        return first - started, time.perf_counter() - first
    finally:
        await consumer.stop()


async def run(args: argparse.Namespace) -> dict:
    from q2ext.broker import create_topics
    from q2ext.envelope import topic_for

    topic = topic_for(MESSAGE_TYPE) + "-baseline"
    await create_topics(args.kafka, [topic], args.partitions)
    batch = records(args.count)
    produce_s = await produce(args.kafka, topic, batch)
    join_s, consume_s = await consume(args.kafka, topic, args.count)
    return {
        "records": args.count,
        "produce_per_s": args.count / produce_s,
        "consume_per_s": args.count / consume_s,
        "group_join_s": join_s,
        "produce_then_consume_per_s": args.count / (produce_s + consume_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kafka", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--partitions", type=int, default=4)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
