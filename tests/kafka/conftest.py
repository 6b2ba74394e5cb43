"""The three real things of the Kafka tests: a broker, a handler server, relay processes."""

from __future__ import annotations

import signal
import uuid

import pytest
from kafka_helpers import PARTITIONS, HandlerServer, RelayProcess, broker_mod, keyring  # puts runtime/ on sys.path


@pytest.fixture(scope="session")
def broker():
    """One tansu broker on a free port for the session; each test uses its own topics and group."""
    with broker_mod.Broker() as running:
        yield running


@pytest.fixture
def own_broker():
    """A broker this test may kill and restart."""
    running = broker_mod.Broker().start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def ring():
    return keyring.new()


@pytest.fixture
def message_type(broker):
    """A fresh message type (so fresh topics) with its topic and dead-letter topic created."""
    name = "T" + uuid.uuid4().hex[:10]
    broker_mod.create_topics_sync(broker.bootstrap, [f"sdk-generic.{name}", f"sdk-generic.{name}.dlq"], PARTITIONS)
    return name


@pytest.fixture
def handler(message_type, ring):
    server = HandlerServer(message_type, ring).start()
    yield server
    server.stop()


@pytest.fixture
def relays(tmp_path, ring):
    """Start relay processes: relays(bootstrap, {type: url}, group=..., *flags); all are killed at the end."""
    started: list[RelayProcess] = []

    def start(bootstrap: str, routes: dict[str, str], *flags: str, group: str | None = None) -> RelayProcess:
        relay = RelayProcess(tmp_path, bootstrap, routes, ring, group or "g-" + uuid.uuid4().hex[:8], *flags)
        started.append(relay)
        return relay

    yield start
    for relay in started:
        relay.signal(signal.SIGKILL)
        relay.wait(10)
