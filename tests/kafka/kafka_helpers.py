"""Helpers of the Kafka tests: a handler server, relay processes, pushing and reading topics."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
CRASH_PROJECT = Path(__file__).resolve().parent / "crash_project"
sys.path.insert(0, str(RUNTIME))

from q2ext import (  # noqa: E402
    broker as broker_mod,  # noqa: E402
    deliverykey,
    keyring,
    services,
)
from q2ext.handlers.message_bus import DeadLetter, Q2MessageBusRequestHandler, RetryLater  # noqa: E402
from q2ext.settings import Settings  # noqa: E402
from q2ext.testing import RecordingServices  # noqa: E402

PARTITIONS = 4
LOGGER = logging.getLogger("extension.test")


def wait_for(predicate, what: str, timeout: float = 60.0, every: float = 0.05):
    """Poll until predicate() is truthy (returns it), or fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


class Recorder(Q2MessageBusRequestHandler):
    """Records every handle() call; the text says how to behave.

    'fail<N>:...' raises (500) on attempts up to N; 'dead:<reason>' raises DeadLetter unless the server
    accepts dead letters now; 'later<N>:...' raises RetryLater(after N s) on the first attempt;
    'block:...' waits until the server releases it; 'busy<N>:...' raises RetryLater (503) on attempts up to N;
    'hold:...' raises RetryLater until the server releases it, then DeadLetter (422); 'slowfail:...' waits until
    the server releases it, then raises RetryLater (503, retry after 30 s) on the first attempt.
    """

    server: HandlerServer

    async def handle(self, message) -> None:
        server = self.server
        headers = {name.lower(): value for name, value in message.headers.items()}
        server.calls.append((message.id, message.text, message.attempt, headers))
        text = message.text
        if text.startswith("fail") and ":" in text and message.attempt <= int(text[4 : text.index(":")]):
            raise RuntimeError("failing as asked")
        if text.startswith("dead:") and not server.accept_dead:
            raise DeadLetter(text[5:])
        if text.startswith("later") and message.attempt == 1:
            raise RetryLater("busy", after_seconds=float(text[5 : text.index(":")]))
        if text.startswith("busy") and ":" in text and message.attempt <= int(text[4 : text.index(":")]):
            raise RetryLater("busy as asked", after_seconds=0)
        if text.startswith("slowfail:") and message.attempt == 1:
            server.blocked.set()
            while not server.release.is_set():
                await asyncio.sleep(0.01)
            raise RetryLater("slow, then busy", after_seconds=30)
        if text.startswith("hold:"):
            if not server.release.is_set():
                raise RetryLater("held as asked", after_seconds=0)
            raise DeadLetter("released as asked")
        if text.startswith("block:"):
            server.blocked.set()
            while not server.release.is_set():
                await asyncio.sleep(0.01)


class HandlerServer:
    """A Tornado app serving Recorder for one message type on a free loopback port, in a thread."""

    def __init__(self, message_type: str, ring: keyring.KeyRing) -> None:
        self.type = message_type
        self.port = broker_mod.free_port()
        cfg = Settings(DEBUG=False, SEEN_IDS_FILE=":memory:")
        self.services = RecordingServices(settings=cfg, ring=ring, seen=services.make_seen(cfg))
        self.calls: list = []
        self.accept_dead = False
        self.blocked = threading.Event()
        self.release = threading.Event()
        self.handler = type("Handler" + message_type, (Recorder,), {"MESSAGE_TYPE": message_type, "server": self})
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.type}/message/process/sdk"

    def start(self) -> HandlerServer:
        import tornado.httpserver
        import tornado.web

        started = threading.Event()
        self._loop = loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            app = tornado.web.Application(
                [(rf"/{self.type}/message/process/sdk", self.handler)], q2ext_services=self.services
            )
            server = tornado.httpserver.HTTPServer(app)
            server.listen(self.port, address="127.0.0.1")
            loop.call_soon(started.set)
            loop.run_forever()
            server.stop()
            loop.run_until_complete(server.close_all_connections())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert started.wait(10), "handler server did not start"
        return self

    def stop(self) -> None:
        """Stop listening and drop connections: the relay now gets refused connections."""
        if self._thread is not None:
            self.release.set()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None

    def texts(self) -> list[str]:
        return [text for _id, text, _attempt, _headers in self.calls]

    def handled_ids(self) -> list[str]:
        return [m.id for m in self.services.handled]


def push_all(bootstrap: str, ring, message_type: str, texts, keys=None, one_by_one: bool = False) -> list[str]:
    """Push texts through the Kafka bus, each acked; their message ids in order.

    Concurrently in chunks of 500, or one_by_one: each acked before the next is sent (the order a key keeps).
    """
    from q2ext import bus

    cfg = Settings(DEBUG=False, KAFKA_BOOTSTRAP_SERVERS=bootstrap)
    svc = services.Services(settings=cfg, ring=ring, seen=None)
    keys = list(keys) if keys is not None else [None] * len(texts)
    chunk = 1 if one_by_one else 500

    async def go() -> list[str]:
        kafka = bus.bus_for(svc)
        sealed = [bus.seal_for(svc, text, message_type) for text in texts]
        try:
            for start in range(0, len(sealed), chunk):
                await asyncio.gather(
                    *(
                        kafka.send(LOGGER, sealed[i], message_type, keys[i])
                        for i in range(start, start + chunk)
                        if i < len(sealed)
                    )
                )
        finally:
            await svc.close()
        return [s.headers["q2msg-id"] for s in sealed]

    return asyncio.run(go())


async def _read_to_end(consumer, tps) -> list:
    """Fetch from the current positions up to each partition's high watermark.

    The watermark comes from a fetch: tansu 0.6 answers ListOffsets(latest), i.e. end_offsets(), with the
    last batch's base offset + 1, too low when that batch held several records.
    """
    records = []
    for tp in tps:
        for _ in range(400):  # bounded: 400 short fetches
            if consumer.highwater(tp) is not None and await consumer.position(tp) >= consumer.highwater(tp):
                break
            records += (await consumer.getmany(tp, timeout_ms=50)).get(tp, [])
    return records


def read_topic(bootstrap: str, topic: str) -> list:
    """Every record on a topic right now, partition by partition."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def go() -> list:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20)
        await consumer.start()
        try:
            await consumer.topics()
            tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            return await _read_to_end(consumer, tps)
        finally:
            await consumer.stop()

    return asyncio.run(go())


def committed_and_end(bootstrap: str, group: str, topic: str) -> tuple[dict, dict]:
    """The group's committed offsets and the high watermarks of a topic, by partition."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def go():
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, fetch_max_wait_ms=20
        )
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
            consumer.assign(tps)
            committed = {tp.partition: (await consumer.committed(tp)) or 0 for tp in tps}
            await consumer.seek_to_beginning(*tps)
            await _read_to_end(consumer, tps)
            return committed, {tp.partition: consumer.highwater(tp) for tp in tps}
        finally:
            await consumer.stop()

    return asyncio.run(go())


def keys_on_distinct_partitions(count: int) -> list[bytes]:
    """Keys that the default partitioner puts on different partitions of a PARTITIONS-partition topic."""
    from aiokafka.partitioner import DefaultPartitioner

    partitioner, seen, keys = DefaultPartitioner(), set(), []
    for i in range(1000):
        key = f"key{i}".encode()
        partition = partitioner(key, list(range(PARTITIONS)), list(range(PARTITIONS)))
        if partition not in seen:
            seen.add(partition)
            keys.append(key)
        if len(keys) == count:
            return keys
    raise AssertionError("not enough distinct partitions")


class RelayProcess:
    """`python -m q2ext relay` as a real process, with its /health and /metrics on a free port."""

    def __init__(self, workdir: Path, bootstrap: str, routes: dict[str, str], ring, group: str, *flags: str) -> None:
        self.metrics_port = broker_mod.free_port()
        self.log_path = workdir / f"relay-{self.metrics_port}.log"
        routes_file = workdir / f"routes-{self.metrics_port}.json"
        routes_file.write_text(json.dumps(routes))
        env = {
            **os.environ,
            "PYTHONPATH": str(RUNTIME),
            "Q2EXT_DEBUG": "0",
            "Q2EXT_DELIVERY_KEY": json.dumps(
                {
                    "format": deliverykey.DELIVERY_FORMAT,
                    "id": ring.delivery.id,
                    "secret": keyring._b64(ring.delivery.secret),
                }
            ),
        }
        cmd = [
            sys.executable,
            "-m",
            "q2ext",
            "relay",
            "--kafka",
            bootstrap,
            "--routes",
            str(routes_file),
            "--group",
            group,
            "--metrics-port",
            str(self.metrics_port),
            "--session-timeout-ms",
            "2000",
            "--min-backoff",
            "0.05",
            "--max-backoff",
            "0.5",
            "--progress-every",
            "1",
            *flags,
        ]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in wait()
        self.process = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def _get(self, path: str):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}{path}", timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            return None, ""

    def health(self) -> tuple[int | None, dict]:
        status, body = self._get("/health")
        return status, (json.loads(body) if body else {})

    def partitions(self) -> list[str]:
        return self.health()[1].get("partitions", [])

    def metric(self, name: str) -> float:
        """The sum of a metric's samples on /metrics."""
        _status, text = self._get("/metrics")
        return sum(
            float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith((name + "{", name + " "))
        )

    def wait_assigned(self, count: int | None = None) -> list[str]:
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"relay exited with {self.process.returncode}:\n{self.log()}")
            parts = self.partitions()
            return parts if parts and (count is None or len(parts) == count) else None

        return wait_for(ready, f"relay assignment of {count or 'some'} partitions")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def wait(self, timeout: float = 30) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()


def keys_on_one_partition(count: int) -> list[bytes]:
    """Different keys that the default partitioner puts on the same partition."""
    from aiokafka.partitioner import DefaultPartitioner

    partitioner, keys = DefaultPartitioner(), []
    for i in range(1000):
        key = f"key{i}".encode()
        if partitioner(key, list(range(PARTITIONS)), list(range(PARTITIONS))) == 0:
            keys.append(key)
        if len(keys) == count:
            return keys
    raise AssertionError("not enough keys for one partition")


def write_extension(root, name: str, message_type: str) -> None:
    """An extension package <root>/<name> whose Message Bus handler consumes message_type."""
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "extension.py").write_text(
        "from q2_sdk.core.http_handlers.message_bus_handler import Q2MessageBusRequestHandler\n\n\n"
        f"class {name}Handler(Q2MessageBusRequestHandler):\n    MESSAGE_TYPE = {message_type!r}\n"
    )
    (package / "urls.py").write_text(
        f"from tornado.web import url\n\nfrom .extension import {name}Handler\n\n"
        f"URL_PATTERNS = [url(r'/{name}/?', {name}Handler), url(r'/{message_type}/message/process/sdk', "
        f"{name}Handler)]\n"
    )


class HandlerProcess:
    """`python -m q2ext run` of crash_project on a fixed port; finished() reads what its handle() finished."""

    def __init__(self, workdir: Path, port: int, message_type: str, ring, number: int, **extra_env: str) -> None:
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
        env.update(extra_env)
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
