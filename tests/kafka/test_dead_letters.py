"""Dead letters: a permanent answer or an exhausted budget moves the record to <topic>.dlq, saying why."""

from __future__ import annotations

import os
import subprocess
import sys

from kafka_helpers import RUNTIME, push_all, read_topic, wait_for

from q2ext import keyring


def routes(handler) -> dict[str, str]:
    return {handler.type: handler.url}


def dlq_headers(bootstrap: str, message_type: str) -> list[dict[str, str]]:
    return [
        {name: value.decode() for name, value in r.headers}
        for r in read_topic(bootstrap, f"sdk-generic.{message_type}.dlq")
    ]


def replay_dlq(bootstrap: str, message_type: str, workdir) -> subprocess.CompletedProcess:
    """`python -m q2ext replay-dlq`, as `make replay-dlq` runs it."""
    command = [sys.executable, "-m", "q2ext", "replay-dlq", "--type", message_type, "--kafka", bootstrap]
    env = {**os.environ, "PYTHONPATH": str(RUNTIME)}
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_a_permanent_4xx_goes_to_the_dead_letter_topic_saying_why_when_and_after_how_many(
    broker, ring, handler, relays
):
    forger = keyring.new()  # key id 1 as the handler's, another secret: 401 hmac mismatch, which is permanent
    [msg_id] = push_all(broker.bootstrap, forger, handler.type, ["sealed with a forged key 1"])
    push_all(broker.bootstrap, ring, handler.type, ["fine"])
    relays(broker.bootstrap, routes(handler))
    wait_for(lambda: dlq_headers(broker.bootstrap, handler.type), "a dead letter")
    [letter] = dlq_headers(broker.bootstrap, handler.type)
    assert letter["q2msg-id"] == msg_id
    assert letter["q2msg-dlq-status"] == "401"
    assert "hmac mismatch for key 1" in letter["q2msg-dlq-reason"]
    assert letter["q2msg-dlq-attempts"] == "1"
    assert letter["q2msg-dlq-topic"] == f"sdk-generic.{handler.type}"
    assert letter["q2msg-dlq-at"].isdigit() and letter["q2msg-dlq-offset"].isdigit()
    wait_for(lambda: [m.text for m in handler.services.handled] == ["fine"], "delivery to go on")


def test_dead_letter_raised_in_handle_sends_the_message_to_the_dlq_with_its_reason(broker, ring, handler, relays):
    push_all(broker.bootstrap, ring, handler.type, ["dead:customer 42 is closed"])
    relays(broker.bootstrap, routes(handler))
    [letter] = wait_for(lambda: dlq_headers(broker.bootstrap, handler.type), "a dead letter")
    assert letter["q2msg-dlq-status"] == "422"
    assert letter["q2msg-dlq-reason"] == "dead letter requested: customer 42 is closed"


def test_an_exhausted_retry_budget_dead_letters_and_the_next_message_is_delivered(broker, ring, handler, relays):
    push_all(broker.bootstrap, ring, handler.type, ["fail99:always", "next"], [b"same", b"same"])
    relays(broker.bootstrap, routes(handler), "--retry-for", "1")
    wait_for(lambda: [m.text for m in handler.services.handled] == ["next"], "the next message")
    [letter] = dlq_headers(broker.bootstrap, handler.type)
    assert letter["q2msg-dlq-status"] == "500"
    assert int(letter["q2msg-dlq-attempts"]) == handler.texts().count("fail99:always") >= 2


def test_replay_dlq_puts_dead_letters_back_and_they_are_delivered(broker, ring, handler, relays, tmp_path):
    push_all(broker.bootstrap, ring, handler.type, [f"dead:not yet {i}" for i in range(3)])
    relays(broker.bootstrap, routes(handler))
    wait_for(lambda: len(dlq_headers(broker.bootstrap, handler.type)) == 3, "three dead letters")
    handler.accept_dead = True
    replay = replay_dlq(broker.bootstrap, handler.type, tmp_path)
    assert replay.returncode == 0, replay.stderr
    assert "moved 3 dead letter(s)" in replay.stdout
    wait_for(lambda: len(handler.services.handled) == 3, "the replayed messages")
    again = replay_dlq(broker.bootstrap, handler.type, tmp_path)
    assert "moved 0 dead letter(s)" in again.stdout  # committed as it went: nothing replays twice


def produce_raw(bootstrap: str, topic: str, value: bytes, headers: list[tuple[str, bytes]]) -> None:
    """One record exactly as given, as a hostile writer with access to Kafka could produce it."""
    import asyncio

    from aiokafka import AIOKafkaProducer

    async def go() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, value, headers=headers)
        finally:
            await producer.stop()

    asyncio.run(go())


def test_a_record_header_that_would_split_the_http_request_is_dead_lettered_not_sent(broker, ring, handler, relays):
    headers = [("q2msg-id", b"x1"), ("q2msg-hmac", b"abc\r\nX-Injected: yes")]
    produce_raw(broker.bootstrap, f"sdk-generic.{handler.type}", b"\0" * 40, headers)
    push_all(broker.bootstrap, ring, handler.type, ["after"])
    relays(broker.bootstrap, routes(handler))
    [letter] = wait_for(lambda: dlq_headers(broker.bootstrap, handler.type), "a dead letter")
    assert "is not a valid HTTP header" in letter["q2msg-dlq-reason"]
    wait_for(lambda: handler.texts() == ["after"], "the next message delivered")
