"""With the Kafka bus: per topic, the relay's retries, dead letters and lag (from its /metrics), and the DLQ."""

from __future__ import annotations

import asyncio
import re
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from .. import dlq, http1, wire
from ..settings import Settings

DEAD_LETTERS_SHOWN = 50  # per topic, the newest
METRIC_LINE = re.compile(r"^(q2ext_relay_\w+)\{([^}]*)\} (\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
SERIES = {
    "q2ext_relay_delivered_total": "delivered",
    "q2ext_relay_retried_total": "retried",
    "q2ext_relay_dead_lettered_total": "dead_lettered",
    "q2ext_relay_consumer_lag": "lag",
}


async def overview(cfg: Settings, types: list[str]) -> dict[str, Any]:
    """The relay's counters per topic and the newest dead letters of each installed type."""
    relay, letters = await asyncio.gather(relay_counters(cfg.CONSOLE_RELAY_URL), dead_letters(cfg, types))
    return {"bus": "kafka", "relay": relay, "dead_letters": letters}


async def relay_counters(base_url: str) -> dict[str, Any]:
    """Delivered, retried, dead-lettered and lag per topic from the relay's /metrics, or why it could not be read."""
    url = base_url.rstrip("/") + "/metrics"
    try:
        client = http1.Client(base_url, timeout=3)
        try:
            text = (await client.get(urlsplit(url).path)).body.decode("utf-8", "replace")
        finally:
            client.close()
    except (http1.HttpError, asyncio.TimeoutError, OSError, ValueError) as exc:  # asyncio's is not the builtin on 3.10
        return {
            "url": url,
            "up": False,
            "error": f"no relay answered at {url} ({exc.__class__.__name__}); `make relay`",
        }
    return {"url": url, "up": True, "topics": parse_metrics(text)}


def parse_metrics(text: str) -> dict[str, dict[str, float]]:
    """Sum the relay's series by topic (type labels become sdk-generic.<Type>)."""
    topics: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        match = METRIC_LINE.match(line)
        if not match or match.group(1) not in SERIES:
            continue
        labels = dict(LABEL.findall(match.group(2)))
        topic = labels.get("topic") or wire.topic_for(labels.get("type", "?"))
        row = topics.setdefault(topic, dict.fromkeys(SERIES.values(), 0.0))
        row[SERIES[match.group(1)]] += float(match.group(3))
    return topics


async def dead_letters(cfg: Settings, types: list[str]) -> list[dict[str, Any]]:
    """The newest dead letters of each type's <topic>.dlq, read without a consumer group (nothing is committed)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from ..kafka_clients import client_options

    consumer = AIOKafkaConsumer(
        bootstrap_servers=cfg.KAFKA_BOOTSTRAP_SERVERS,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
        request_timeout_ms=5000,
        **client_options(cfg.KAFKA_CLIENT_OPTIONS, AIOKafkaConsumer),
    )
    try:
        await asyncio.wait_for(consumer.start(), 5)
    except Exception as exc:  # noqa: BLE001 - any failure to reach Kafka is shown, not raised
        await consumer.stop()
        return [
            {"error": f"Kafka at {cfg.KAFKA_BOOTSTRAP_SERVERS} did not answer ({exc.__class__.__name__}); `make bus`"}
        ]
    try:
        await consumer.topics()
        tps = [
            TopicPartition(dlq.topic(wire.topic_for(t)), p)
            for t in types
            for p in sorted(consumer.partitions_for_topic(dlq.topic(wire.topic_for(t))) or ())
        ]
        if not tps:
            return []
        consumer.assign(tps)
        return await _read_to_end(consumer, tps)
    finally:
        await consumer.stop()


async def _read_to_end(consumer, tps: list) -> list[dict[str, Any]]:
    """Every record up to each partition's high watermark as first fetched, keeping the newest per topic."""
    newest: dict[str, deque] = {}
    pending = set(tps)
    for _ in range(50):  # a dev dead-letter topic is small; this bounds a huge one
        batches = await consumer.getmany(*pending, timeout_ms=300, max_records=1000)
        for tp, records in batches.items():
            rows = newest.setdefault(tp.topic, deque(maxlen=DEAD_LETTERS_SHOWN))
            rows.extend(_row(r) for r in records)
        for tp in list(pending):
            high = consumer.highwater(tp)
            if high is not None and await consumer.position(tp) >= high:
                pending.discard(tp)
        if not pending:
            break
    rows = [row for topic_rows in newest.values() for row in topic_rows]
    return sorted(rows, key=lambda row: row["at"], reverse=True)


def _row(record) -> dict[str, Any]:
    """A dead letter as the console lists it: where it is, its id and type, why and when it died."""
    headers = {name: value.decode("utf-8", "replace") for name, value in record.headers}
    facts = {name.removeprefix(dlq.PREFIX): value for name, value in headers.items() if name.startswith(dlq.PREFIX)}
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "id": headers.get("q2msg-id", "-"),
        "type": headers.get("q2msg-type", "").removeprefix(wire.TYPE_PREFIX),
        "reason": facts.get("reason", "-"),
        "status": facts.get("status", "-"),
        "attempts": facts.get("attempts", "-"),
        "at": int(facts["at"]) / 1000 if facts.get("at", "").isdigit() else record.timestamp / 1000,
        "size": len(record.value or b""),
    }
