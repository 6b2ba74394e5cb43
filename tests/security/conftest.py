"""Real parts for the security tests: a key ring, a handler served on a free loopback port, a client."""

from __future__ import annotations

import asyncio
import base64
import functools
import http.client
import json
import logging
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
FIXTURE_PROJECT = Path(__file__).resolve().parent / "fixture_project"
for path in (RUNTIME, FIXTURE_PROJECT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import tornado.httpserver  # noqa: E402
import tornado.netutil  # noqa: E402

from q2ext import delivery, envelope, keyring, server, services  # noqa: E402
from q2ext.envelope import Sealed  # noqa: E402
from q2ext.keyring import KeyRing  # noqa: E402
from q2ext.services import Services  # noqa: E402
from q2ext.settings import Settings  # noqa: E402
from q2ext.testing import RecordingServices  # noqa: E402

PATH = "/Lowercase/message/process/sdk"


def secrets_of(ring: KeyRing) -> list[str]:
    """Every form in which key material of this ring could leak into a log."""
    forms = []
    for key in [*ring.keys.values(), ring.delivery]:
        for raw in (key.secret, key.enc_key, key.mac_key):
            forms += [raw.hex(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()]
    return forms


@dataclass
class Running:
    """A handler app served in a background thread; stop() closes it and its services."""

    services: Services
    port: int
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    stop_event: asyncio.Event

    def post(self, headers: dict[str, str], body: bytes, path: str = PATH) -> tuple[int, dict]:
        """POST raw bytes; the answer's status and JSON body."""
        return post(self.port, headers, body, path)

    def deliver(self, sealed: Sealed, attempt: int = 1, now: float | None = None) -> tuple[int, dict]:
        """POST a sealed message with a delivery signature made now (or at `now`)."""
        return self.post(delivery.sign(sealed.headers, self.services.ring.delivery, attempt, now), sealed.body)

    def stop(self) -> None:
        """Stop serving, close the seen-id store, and wait for the thread."""
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop_event.set)
            self.thread.join(10)


def post(port: int, headers: dict[str, str], body: bytes, path: str = PATH) -> tuple[int, dict]:
    """One HTTP/1.1 POST on loopback with exactly these headers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    try:
        payload = json.loads(raw) if raw else {}
    except ValueError:
        payload = {"raw": raw[:200].decode("latin-1")}
    return resp.status, payload


def serve_in_thread(services: Services) -> Running:
    """Serve make_app(services) on a free loopback port from a background thread."""
    ready = threading.Event()
    box: dict = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        box["port"] = sockets[0].getsockname()[1]
        box["loop"] = loop

        async def main() -> None:
            app = server.make_app(services, ["Guarded"])
            http = tornado.httpserver.HTTPServer(app, max_body_size=services.settings.MAX_BODY_BYTES)
            http.add_sockets(sockets)
            stop = box["stop"] = asyncio.Event()
            ready.set()
            await stop.wait()
            http.stop()
            await http.close_all_connections()
            services.seen.close()

        loop.run_until_complete(main())
        loop.close()

    thread = threading.Thread(target=run, name="q2ext-test-server", daemon=True)
    thread.start()
    assert ready.wait(10), "the test server did not start"
    return Running(services, box["port"], box["loop"], thread, box["stop"])


def settings_for(tmp_path: Path, **changes) -> Settings:
    """Production-like settings (DEBUG off) with the seen-id store in tmp_path."""
    base = Settings(DEBUG=False, INSTALLED_EXTENSIONS=("Guarded",), SEEN_IDS_FILE=str(tmp_path / "seen.sqlite3"))
    return base.replace(**changes)


def make_services(settings: Settings, ring: KeyRing) -> Services:
    """Services as the server builds them (make_seen picks the store), recording handled messages."""
    return RecordingServices(settings=settings, ring=ring, seen=services.make_seen(settings))


@pytest.fixture
def ring() -> KeyRing:
    return keyring.new()


@pytest.fixture
def start(tmp_path, ring) -> Iterator:
    """start(**settings) -> Running; every server started is stopped after the test."""
    started: list[Running] = []

    def _start(ring_: KeyRing | None = None, **changes) -> Running:
        running = serve_in_thread(make_services(settings_for(tmp_path, **changes), ring_ or ring))
        started.append(running)
        return running

    yield _start
    for running in started:
        running.stop()


@pytest.fixture
def handler(start) -> Running:
    """The Guarded handler on a free port, DEBUG off, sqlite seen-id store in tmp_path."""
    return start()


@pytest.fixture
def seal(ring):
    """seal(text, **options) with the ring's active key."""

    def _seal(text: str = "hello world", message_type: str = "Lowercase", **options) -> Sealed:
        return envelope.seal(text, message_type, ring.active, **options)

    return _seal


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Process:
    """`python -m q2ext run` of the fixture project in its own process."""

    proc: subprocess.Popen
    port: int
    log: Path

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.log.read_text(errors="replace")


def project_env(ring: KeyRing, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a handler process: keys from Q2EXT_KEYRING, store and log in tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("Q2EXT_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(RUNTIME), str(FIXTURE_PROJECT)]),
        Q2EXT_KEYRING=json.dumps(ring.to_json()),
        Q2EXT_SEEN_IDS_FILE=str(tmp_path / "seen.sqlite3"),
        Q2EXT_HOST="127.0.0.1",
        GUARDED_HANDLED_LOG=str(tmp_path / "handled.log"),
    )
    env.update(extra)
    return env


def wait_for_port(port: int, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"handler process exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {seconds}s")


@pytest.fixture
def spawn(tmp_path, ring) -> Iterator:
    """spawn(**env) -> Process: a separate handler process sharing tmp_path's seen-id store."""
    procs: list[Process] = []

    def _spawn(nofile: tuple[int, int] | None = None, **extra: str) -> Process:
        """nofile: the (soft, hard) open-file limit the process starts with, as `ulimit -n` would set it."""
        port = free_port()
        log = tmp_path / f"server-{port}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "q2ext", "run", "--port", str(port)],
                cwd=FIXTURE_PROJECT,
                env=project_env(ring, tmp_path, **extra),
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=None if nofile is None else functools.partial(_limit_files, nofile),
            )
        procs.append(Process(proc, port, log))
        wait_for_port(port, proc)
        return procs[-1]

    yield _spawn
    for process in procs:
        process.stop()


def _limit_files(nofile: tuple[int, int]) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, nofile)


def handled_ids(tmp_path: Path) -> list[str]:
    """Message ids in the order handle() ran, across every process of the test."""
    log = tmp_path / "handled.log"
    return [line.split()[1] for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def quiet_caplog(caplog):
    """caplog at DEBUG for every logger, so nothing a refusal logs escapes the checks."""
    caplog.set_level(logging.DEBUG)
    return caplog
