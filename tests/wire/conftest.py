"""A real Message Bus handler served on a free loopback port, for the wire tests."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
sys.path.insert(0, str(RUNTIME))

from q2ext import keyring, services  # noqa: E402
from q2ext.handlers.message_bus import Q2MessageBusRequestHandler  # noqa: E402
from q2ext.settings import Settings  # noqa: E402
from q2ext.testing import RecordingServices  # noqa: E402


class Recorder(Q2MessageBusRequestHandler):
    """Records texts; a text starting with 'fail' raises so the bus would retry; 'wait:<text>' returns once a
    message with that text was handled (raises if none is within 30 s)."""

    MESSAGE_TYPE = "Lowercase"

    async def handle(self, message):
        if message.text.startswith("fail"):
            raise RuntimeError("asked to fail")
        if message.text.startswith("wait:"):
            other = message.text[5:]
            for _ in range(3000):
                if any(m.text == other for m in self.services.handled):
                    return
                await asyncio.sleep(0.01)
            raise RuntimeError(f"{other!r} was not handled meanwhile")


@pytest.fixture
def handler_server(tmp_path):
    """(base_url, services) of an app serving Recorder at /Lowercase/message/process/sdk."""
    import tornado.httpserver
    import tornado.web
    from tornado.testing import bind_unused_port

    cfg = Settings(DEBUG=True, DEV_KEYRING_FILE=str(tmp_path / "ring.json"), KEYRING_FILE=str(tmp_path / "none"))
    svc = RecordingServices(settings=cfg, ring=keyring.new(dev=True), seen=services.make_seen(cfg))
    sock, port = bind_unused_port()
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        app = tornado.web.Application([(r"/Lowercase/message/process/sdk", Recorder)], q2ext_services=svc)
        server = tornado.httpserver.HTTPServer(app)
        server.add_sockets([sock])
        loop.call_soon(started.set)
        loop.run_forever()
        server.stop()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(5)
    yield f"http://127.0.0.1:{port}", svc
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
