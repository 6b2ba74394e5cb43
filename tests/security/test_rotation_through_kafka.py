"""Rotating keys in the middle of a stream through the real broker and relay loses no message."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kafka"))

from kafka_helpers import PARTITIONS, HandlerServer, RelayProcess, broker_mod, push_all, read_topic, wait_for  # noqa: E402

from q2ext import keyring  # noqa: E402


@pytest.fixture
def stream(tmp_path):
    """A broker, a topic with its dead-letter topic, a handler on key ring 1 and a relay in between."""
    ring = keyring.new()
    with broker_mod.Broker() as broker:
        broker_mod.create_topics_sync(
            broker.bootstrap, ["sdk-generic.Rotating", "sdk-generic.Rotating.dlq"], PARTITIONS
        )
        handler = HandlerServer("Rotating", ring).start()
        relay = RelayProcess(tmp_path, broker.bootstrap, {"Rotating": handler.url}, ring, "g-rotation")
        try:
            yield broker, handler, ring
        finally:
            relay.signal(signal.SIGTERM)
            relay.wait(15)
            handler.stop()


def test_rotating_keys_mid_stream_loses_no_message_and_a_retired_key_is_dead_lettered(stream):
    broker, handler, ring = stream
    before = push_all(broker.bootstrap, ring, "Rotating", [f"key 1, message {i}" for i in range(40)])
    staged = keyring.stage(ring)
    handler.services.ring = staged  # step 1: every handler learns key 2 (rolling restart)
    during = push_all(broker.bootstrap, ring, "Rotating", [f"still key 1, message {i}" for i in range(20)])
    rotated = keyring.rotate(staged)  # step 2: producers seal with key 2
    after = push_all(broker.bootstrap, rotated, "Rotating", [f"key 2, message {i}" for i in range(40)])
    expected = before + during + after
    wait_for(lambda: len(handler.handled_ids()) >= len(expected), "every message to be handled", timeout=60)
    assert sorted(handler.handled_ids()) == sorted(expected)
    handler.services.ring = keyring.retire(rotated, "1")  # step 3: retire key 1 once its backlog is drained
    [late] = push_all(broker.bootstrap, ring, "Rotating", ["sealed with key 1 after it was retired"])
    letters = wait_for(lambda: read_topic(broker.bootstrap, "sdk-generic.Rotating.dlq"), "a dead letter")
    headers = {name: value.decode() for name, value in letters[0].headers}
    assert (headers["q2msg-id"], headers["q2msg-dlq-status"]) == (late, "401")
    assert "unknown key '1'" in headers["q2msg-dlq-reason"]
    assert sorted(handler.handled_ids()) == sorted(expected)
