"""pytest fixtures for extension tests: the project's real app on a free port, an HTTP client, the bus.

Load it from the project's root conftest.py with `pytest_plugins = ["q2ext.testing"]`, then:

    def test_page_answers(client):
        assert client.get("/MyExtension").status == 200

    def test_pushed_message_is_handled(bus):
        bus.push("hello world", "Lowercase")
        assert [m.text for m in bus.handled] == ["hello world"]

`app_server` serves every extension in configuration/settings.py INSTALLED_EXTENSIONS (DEBUG, loopback bus,
a throwaway development key ring in tmp_path) on 127.0.0.1 in a background thread with its own event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message as HeaderMap
from pathlib import Path
from typing import Any

import pytest
import tornado.httpserver
import tornado.netutil

from . import delivery, envelope, keyring, server, services as services_mod, settings as settings_mod
from .bus import BUS_PATH, push, seal_for
from .envelope import Message
from .services import Services

START_TIMEOUT_S = 10.0


@dataclass
class Response:
    """An HTTP answer: status, headers (case-insensitive), text, and json()."""

    status: int
    headers: HeaderMap
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


@dataclass
class Client:
    """Real HTTP requests to the test server (redirects are returned, not followed)."""

    base_url: str
    timeout_s: float = 10.0
    _opener: urllib.request.OpenerDirector = field(
        default_factory=lambda: urllib.request.build_opener(_NoRedirect), repr=False
    )

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Response:
        return self.request("GET", path, headers=headers)

    def post(
        self,
        path: str,
        json: Any = None,  # shadows the module here: _json_bytes() encodes
        form: Mapping[str, str] | None = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """POST a JSON value, a form (urlencoded) or raw bytes."""
        headers = dict(headers or {})
        if json is not None:
            data = _json_bytes(json)
            headers.setdefault("Content-Type", "application/json")
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return self.request("POST", path, data=data if data is not None else b"", headers=headers)

    def request(
        self, method: str, path: str, data: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Response:
        """Any request; 4xx and 5xx answers come back as a Response too."""
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=dict(headers or {}))
        try:
            with self._opener.open(req, timeout=self.timeout_s) as resp:
                return Response(resp.status, resp.headers, resp.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as err:
            with err:
                return Response(err.code, err.headers, err.read().decode("utf-8", "replace"))


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


@dataclass
class RecordingServices(Services):
    """Services that keep every message a Message Bus handler handled (handle() returned), in order."""

    handled: list[Message] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.on_handled.append(self.handled.append)


@dataclass
class AppServer:
    """The project's app, served on a free loopback port by a background thread with its own event loop."""

    services: RecordingServices
    port: int
    loop: asyncio.AbstractEventLoop
    _thread: threading.Thread | None = None
    _http: tornado.httpserver.HTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def handled(self) -> list[Message]:
        """Every message a Message Bus handler handled (handle() returned), in order."""
        return self.services.handled

    def run(self, coro: Any, timeout_s: float = 30.0) -> Any:
        """Run a coroutine on the server's event loop (where the bus and the handlers live)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def start(self, sockets: list) -> None:
        started = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(self.loop)
            self._http = tornado.httpserver.HTTPServer(
                server.make_app(self.services), max_body_size=self.services.settings.MAX_BODY_BYTES
            )
            self._http.add_sockets(sockets)
            self.loop.call_soon(started.set)
            self.loop.run_forever()

        self._thread = threading.Thread(target=main, name=f"q2ext-test-server-{self.port}", daemon=True)
        self._thread.start()
        if not started.wait(START_TIMEOUT_S):
            raise RuntimeError(f"test server on port {self.port} did not start within {START_TIMEOUT_S:g} s")

    def stop(self) -> None:
        async def close() -> None:
            self._http.stop()
            await self._http.close_all_connections()
            await self.services.close()

        try:
            self.run(close(), timeout_s=10.0)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10.0)
            self.loop.close()


def safe_settings(tmp_path: Path, port: int) -> settings_mod.Settings:
    """The project's settings, made safe for a test: DEBUG, loopback bus on this port, keys under tmp_path."""
    return settings_mod.load().replace(
        DEBUG=True,
        BUS="loopback",
        HOST="127.0.0.1",
        PORT=port,
        KEYRING_FILE=str(tmp_path / "no-real-keyring.json"),
        DEV_KEYRING_FILE=str(tmp_path / "keyring.dev.json"),
        DELIVERY_KEY_FILE=str(tmp_path / "delivery-key.json"),
        SEEN_IDS_FILE=str(tmp_path / "seen-ids.sqlite3"),
    )


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[AppServer]:
    """The project's real Tornado app on a free 127.0.0.1 port, with its own Services and message recorder."""
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    cfg = safe_settings(tmp_path, port)
    ring = keyring.load_for(cfg, environ={})
    svc = RecordingServices(settings=cfg, ring=ring, seen=services_mod.make_seen(cfg))
    previous_settings = settings_mod.get()
    settings_mod.use(cfg)
    services_mod.install(svc)
    app = AppServer(services=svc, port=port, loop=asyncio.new_event_loop())
    app.start(sockets)
    try:
        yield app
    finally:
        app.stop()
        settings_mod.use(previous_settings)
        services_mod.install(None)


@pytest.fixture
def client(app_server: AppServer) -> Client:
    """Real HTTP requests to app_server: client.get(path), client.post(path, json=..., form=...)."""
    return Client(app_server.url)


@dataclass
class Bus:
    """Push messages through the real runtime (seal -> loopback POST -> handler) and see what was handled."""

    app: AppServer
    client: Client
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("extension.tests"))

    @property
    def handled(self) -> list[Message]:
        return self.app.handled

    def push(self, text: str, message_type: str) -> str:
        """What `await message_bus.push(self.logger, text, type)` does; returns the message id."""
        return self.app.run(push(self.logger, text, message_type))

    def seal(self, text: str, message_type: str, forged: bool = False) -> tuple[dict[str, str], bytes]:
        """A signed, encrypted delivery as the bus would POST it; forged=True seals it with keys the app lacks."""
        services = self.app.services
        if forged:
            stranger = keyring.new(dev=True, first_id=services.ring.active_id)
            sealed = envelope.seal(text, message_type, stranger.active, env_stack=services.settings.ENV_STACK)
            return delivery.sign(sealed.headers, stranger.delivery), sealed.body
        sealed = seal_for(services, text, message_type)
        return delivery.sign(sealed.headers, services.ring.delivery), sealed.body

    def deliver(self, headers: Mapping[str, str], body: bytes) -> Response:
        """POST a sealed delivery to its handler endpoint, as the relay does."""
        message_type = headers["q2msg-type"].removeprefix("sdk-generic.")
        return self.client.post(BUS_PATH.format(type=message_type), data=body, headers=headers)


@pytest.fixture
def bus(app_server: AppServer, client: Client) -> Bus:
    """bus.push(text, type) through the real loopback bus; bus.handled lists the messages handle() took."""
    return Bus(app_server, client)
