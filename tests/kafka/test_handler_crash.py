"""A handler killed mid-stream and started again later: every message handled, none dead-lettered.

Real parts only: the broker, `python -m q2ext run` of a small project as the handler process (SQLite seen-id
store), `python -m q2ext relay` as the relay. The handler writes each id it finished to a file (fsync before
handle() returns), one file per process, so the test knows which messages were finished when the kill landed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kafka_helpers import RUNTIME, broker_mod, push_all, read_topic, wait_for

CRASH_PROJECT = Path(__file__).resolve().parent / "crash_project"
COUNT = 500
IN_FLIGHT = 4  # POSTs at once to the handler (--max-in-flight, adaptive delivery: per endpoint)
MAX_BATCH = 25  # records per POST at most (--max-batch): at most IN_FLIGHT * MAX_BATCH records in flight


class HandlerProcess:
    """`python -m q2ext run` of crash_project on a fixed port; finished() reads what its handle() finished."""

    def __init__(self, workdir: Path, port: int, message_type: str, ring, number: int) -> None:
        self.port = port
        self.finished_log = workdir / f"finished-{number}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("Q2EXT_")}
        env.update(
            PYTHONPATH=os.pathsep.join([str(RUNTIME), str(CRASH_PROJECT)]),
            Q2EXT_KEYRING=json.dumps(ring.to_json()),
            Q2EXT_SEEN_IDS_FILE=str(workdir / "seen.sqlite3"),
            Q2EXT_HOST="127.0.0.1",
            CRASHY_TYPE=message_type,
            CRASHY_FINISHED_LOG=str(self.finished_log),
        )
        self.log_path = workdir / f"handler-{number}.log"
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "q2ext", "run", "--port", str(port)],
                cwd=CRASH_PROJECT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._listening, f"the handler process to listen on port {port}")

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"handler exited with {self.process.returncode}:\n{self.log_path.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def finished(self) -> list[str]:
        return self.finished_log.read_text().split() if self.finished_log.exists() else []

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(30)


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
    wait_for(lambda: set(ids) <= {*before, *second.finished()}, "every message to be handled", timeout=120)
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
