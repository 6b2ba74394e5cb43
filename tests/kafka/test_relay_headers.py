"""The relay forwards only the sealed q2msg-* headers of a record: anything else a topic writer adds stays behind."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from kafka_helpers import read_topic, wait_for

from q2ext import envelope, wire
from q2ext.kafka_bus import record_headers

HOSTILE = [
    ("Content-Length", b"5"),
    ("Transfer-Encoding", b"chunked"),
    ("Host", b"evil.example"),
    ("Connection", b"close"),
    ("Authorization", b"Bearer stolen"),
    ("X-Forwarded-For", b"6.6.6.6"),
    ("q2token", b"forged"),
    ("q2msg-delivery-signature", b"forged"),
]


def produce(bootstrap: str, message_type: str, records: list[tuple[bytes, list[tuple[str, bytes]]]]) -> None:
    """Write raw records (value, headers) to the type's topic, as anyone with write access could."""

    async def go() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            for value, headers in records:
                await producer.send_and_wait(envelope.topic_for(message_type), value, headers=headers)
        finally:
            await producer.stop()

    asyncio.run(go())


def test_a_record_with_foreign_headers_is_delivered_without_them(broker, ring, handler, relays):
    sealed = envelope.seal("smuggled?", handler.type, ring.active)
    produce(broker.bootstrap, handler.type, [(sealed.body, record_headers(sealed.headers) + HOSTILE)])
    relays(broker.bootstrap, {handler.type: handler.url})
    [(msg_id, text, _attempt, headers)] = wait_for(lambda: handler.calls, "the message to be handled")
    assert (msg_id, text) == (sealed.headers["q2msg-id"], "smuggled?")
    assert headers["host"] == f"127.0.0.1:{handler.port}"
    assert headers["content-length"] == str(len(sealed.body))
    for name in ("transfer-encoding", "connection", "authorization", "x-forwarded-for", "q2token"):
        assert name not in headers, name
    assert headers["q2msg-delivery-signature"] != "forged"


def test_a_record_repeating_a_sealed_header_is_dead_lettered_saying_which(broker, ring, handler, relays):
    sealed = envelope.seal("which id?", handler.type, ring.active)
    repeated = record_headers(sealed.headers) + [("q2msg-id", b"another-id")]
    produce(broker.bootstrap, handler.type, [(sealed.body, repeated)])
    relays(broker.bootstrap, {handler.type: handler.url})
    [letter] = wait_for(lambda: read_topic(broker.bootstrap, f"sdk-generic.{handler.type}.dlq"), "a dead letter")
    reason = dict(letter.headers)["q2msg-dlq-reason"].decode()
    assert reason == "record repeats header q2msg-id"
    assert handler.calls == []


def test_only_the_sealed_headers_are_forwarded():
    headers, _ = wire.forwarded_headers([("Q2MSG-ID", b"a"), ("X-Trace", b"t"), ("q2msg-hmac", b"h")])
    assert headers == {"q2msg-id": "a", "q2msg-hmac": "h"}


def test_an_escape_or_cr_in_a_record_id_is_escaped_in_the_relay_log(broker, ring, handler, relays):
    sealed = envelope.seal("log injection", handler.type, ring.active)
    headers = [(n, b"evil\x1b[2J\rINFO all good" if n == "q2msg-id" else v) for n, v in record_headers(sealed.headers)]
    produce(broker.bootstrap, handler.type, [(sealed.body, headers)])
    relay = relays(broker.bootstrap, {handler.type: handler.url})
    wait_for(lambda: read_topic(broker.bootstrap, f"sdk-generic.{handler.type}.dlq"), "a dead letter")
    line = wait_for(
        lambda: [ln for ln in relay.log().splitlines() if "dead letter" in ln], "the dead letter's log line"
    )
    assert "evil\\x1b[2J\\x0dINFO all good" in line[0]
    assert "\x1b" not in relay.log() and "\r" not in relay.log()
