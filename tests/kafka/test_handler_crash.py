"""A handler killed mid-stream and started again later: every message handled, none dead-lettered.

Real parts only: the broker, `python -m q2ext run` of a small project as the handler process (SQLite seen-id
store), `python -m q2ext relay` as the relay. The handler writes each id it finished to a file (fsync before
handle() returns), one file per process, so the test knows which messages were finished when the kill landed.
"""

from __future__ import annotations

import signal
import time

import pytest
from kafka_helpers import HandlerProcess, broker_mod, push_all, read_topic, wait_for

COUNT = 500
IN_FLIGHT = 4  # POSTs at once to the handler (--max-in-flight, adaptive delivery: per endpoint)
MAX_BATCH = 25  # records per POST at most (--max-batch): at most IN_FLIGHT * MAX_BATCH records in flight


@pytest.fixture
def handler_processes(tmp_path, message_type, ring):
    """start(number) -> HandlerProcess, all on one port (the relay's route); every one is killed at the end."""
    port = broker_mod.free_port()
    started: list[HandlerProcess] = []

    def start(number: int) -> HandlerProcess:
        started.append(HandlerProcess(tmp_path, port, message_type, ring, number))
        return started[-1]

    start.url = f"http://127.0.0.1:{port}/{message_type}/message/process/sdk"
    yield start
    for process in started:
        process.stop()


@pytest.mark.parametrize(
    ("sig", "down_s"),
    # At once: redeliveries meet the dead process's claims (409) until their leases end. 20 s and 60 s: the relay
    # keeps retrying a refused connection (its old budget, 10 attempts, was spent in seconds with this backoff).
    [(signal.SIGKILL, 0), (signal.SIGTERM, 20), (signal.SIGKILL, 60)],
    ids=["SIGKILL-restarted-at-once", "SIGTERM-down-20s", "SIGKILL-down-60s"],
)
def test_a_handler_killed_mid_stream_handles_every_message_after_its_restart_and_dead_letters_none(
    broker, message_type, ring, relays, handler_processes, sig, down_s
):
    first = handler_processes(1)
    flags = ("--max-in-flight", str(IN_FLIGHT), "--max-batch", str(MAX_BATCH))
    relay = relays(broker.bootstrap, {message_type: handler_processes.url}, *flags)
    ids = push_all(broker.bootstrap, ring, message_type, [f"message {i}" for i in range(COUNT)])
    wait_for(lambda: len(first.finished()) >= COUNT // 5, "a fifth of the messages to be handled", every=0.01)
    first.stop(sig)
    before = first.finished()  # what handle() had finished when the kill landed
    assert len(before) < COUNT, "the kill landed after the stream: nothing was in flight"
    time.sleep(down_s)  # the handler is down: that is the subject, not a stand-in for an event
    second = handler_processes(2)
    wait_for(
        lambda: set(ids) <= {*before, *second.finished()}, "every message to be handled", timeout=300
    )  # a loaded 2-core CI machine
    finished = lambda: relay.metric("q2ext_relay_delivered_total") + relay.metric("q2ext_relay_dead_lettered_total")  # noqa: E731
    wait_for(lambda: finished() >= COUNT, "the relay to finish every record", timeout=60)
    assert relay.metric("q2ext_relay_dead_lettered_total") == 0
    assert read_topic(broker.bootstrap, f"sdk-generic.{message_type}.dlq") == []
    after = second.finished()
    assert len(set(before)) == len(before) and len(set(after)) == len(after)  # never twice in one process
    twice = set(before) & set(after)
    # handle() ran twice only for messages it had finished before the kill and whose done mark was not yet
    # committed (it rides on the next claim's commit): at most the records in flight (the batches' records being
    # handled when the kill landed, unanswered). A SIGTERM writes them all.
    print(f"{len(before)} finished before the kill, {len(after)} after the restart, {len(twice)} handled twice")
    assert len(twice) <= (0 if sig == signal.SIGTERM else IN_FLIGHT * MAX_BATCH)
