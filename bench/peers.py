"""The peers a user would pick instead, on the same sealed records and broker build (dev-only bench cases).

    python bench/peers.py --mode plain --kafka HOST:PORT --count N --port P   # aiokafka -> aiohttp POSTs
    python bench/peers.py --mode faststream --kafka HOST:PORT --count N       # FastStream, ack per message

plain: an ordered relay as one would write it by hand: a consumer group, each partition's records POSTed
one at a time in offset order (as-is, no envelope, no signature) to baseline A's server, offsets committed
after each fetched batch is answered. faststream: FastStream's Kafka subscriber in-process, committing after
each message (AckPolicy.ACK, its at-least-once setting). Prints one JSON line: records per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid

from kafka_baseline import produce, records


async def plain(bootstrap: str, topic: str, count: int, port: int) -> float:
    """Seconds from the first record fetched to the last one answered 200."""
    import aiohttp
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"peer-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=20,
    )
    url = f"http://127.0.0.1:{port}/peer"
    await consumer.start()
    try:
        async with aiohttp.ClientSession() as session:

            async def in_order(partition_records) -> None:
                for record in partition_records:
                    async with session.post(url, data=record.value) as resp:
                        resp.raise_for_status()
                        await resp.read()

            seen, first = 0, 0.0
            while seen < count:
                batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
                if batches and not first:
                    first = time.perf_counter()
                await asyncio.gather(*(in_order(found) for found in batches.values()))
                if batches:
                    await consumer.commit()
                seen += sum(len(found) for found in batches.values())
            return time.perf_counter() - first
    finally:
        await consumer.stop()


async def faststream_ack(bootstrap: str, topic: str, count: int) -> float:
    """Seconds from the first message handled to the last, committing after each."""
    from faststream import AckPolicy
    from faststream.kafka import KafkaBroker

    broker = KafkaBroker(bootstrap, logger=None)
    done = asyncio.Event()
    state = {"seen": 0, "first": 0.0}

    @broker.subscriber(
        topic, group_id=f"peer-{uuid.uuid4().hex[:8]}", auto_offset_reset="earliest", ack_policy=AckPolicy.ACK
    )
    async def handle(body: bytes) -> None:
        if not state["seen"]:
            state["first"] = time.perf_counter()
        state["seen"] += 1
        if state["seen"] >= count:
            done.set()

    await broker.start()
    try:
        await asyncio.wait_for(done.wait(), 600)
        return time.perf_counter() - state["first"]
    finally:
        await broker.stop()


async def run(args: argparse.Namespace) -> dict:
    from q2ext.broker import create_topics

    topic = f"peer-{args.mode}-{uuid.uuid4().hex[:6]}"
    await create_topics(args.kafka, [topic], args.partitions)
    await produce(args.kafka, topic, records(args.count))
    if args.mode == "plain":
        seconds = await plain(args.kafka, topic, args.count, args.port)
    else:
        seconds = await faststream_ack(args.kafka, topic, args.count)
    return {"mode": args.mode, "records": args.count, "records_per_s": args.count / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("plain", "faststream"), required=True)
    parser.add_argument("--kafka", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--port", type=int, default=0, help="baseline A's server (plain)")
    parser.add_argument("--partitions", type=int, default=4)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
