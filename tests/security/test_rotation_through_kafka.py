"""Rotating keys in the middle of a stream through the real broker and relay loses no message."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kafka"))

from kafka_helpers import PARTITIONS, RUNTIME, HandlerServer, RelayProcess, broker_mod, push_all, read_topic, wait_for  # noqa: E402

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


@pytest.fixture
def ring_file(tmp_path, stream):
    """The handler's ring as a file it reloads (as `make run` does), holding the ring it started with."""
    _broker, handler, ring = stream
    path = tmp_path / "keyring.json"
    keyring.write_file(ring, path)
    loaded = keyring.read_file(path)  # as services.build() loads it
    handler.services.reloader = keyring.RingReloader.for_ring(loaded, handler.services.settings)
    return path


def rotate_key(ring_file) -> keyring.KeyRing:
    """`make rotate-key` on the ring file (the command it runs); the ring it wrote."""
    env = {**os.environ, "PYTHONPATH": str(RUNTIME)}
    env.pop(keyring.ENV_KEYRING, None)
    command = [sys.executable, "-m", "q2ext", "rotate-key", "--file", str(ring_file)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return keyring.read_file(ring_file)


def no_dead_letters(broker) -> bool:
    return not read_topic(broker.bootstrap, "sdk-generic.Rotating.dlq")


def test_make_rotate_key_under_a_running_handler_loses_no_message(stream, ring_file):
    broker, handler, _ring = stream
    rotated = rotate_key(ring_file)  # while the handler runs, and no restart
    assert rotated.active_id == "2"
    [msg_id] = push_all(broker.bootstrap, rotated, "Rotating", ["sealed with key 2"])
    wait_for(lambda: handler.handled_ids() == [msg_id], "the message sealed with the new key to be handled", timeout=60)
    assert no_dead_letters(broker)


def test_a_key_the_pusher_has_before_the_handlers_ring_file_does_is_delivered_once_the_file_has_it(stream, ring_file):
    broker, handler, ring = stream
    rotated = keyring.rotate(ring)
    [msg_id] = push_all(broker.bootstrap, rotated, "Rotating", ["sealed with key 2, which the handler lacks"])
    wait_for(lambda: refused(handler, "503"), "the handler to answer key 2 as not known yet (503)")
    keyring.write_file(rotated, ring_file)  # the ring reaches this host a little later
    wait_for(lambda: handler.handled_ids() == [msg_id], "the message to be handled once the file has key 2", timeout=60)
    assert no_dead_letters(broker)


def refused(handler, status: str) -> float:
    """How many deliveries the handler refused with this status."""
    return handler.services.metrics.counter("q2ext_refused_total", "").get(type=handler.type, status=status)
