"""The relay's own port: /metrics (prometheus_client's exposition) and /health, served from a thread.

The server is the standard library's WSGI server in prometheus_client's threading form; what it shows is
computed on the relay's event loop (call_soon_threadsafe), so the relay's state is only ever touched there.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client.exposition import ThreadingWSGIServer

from .metrics import CONTENT_TYPE, Registry

log = logging.getLogger("q2ext.relay")


class Watched(Protocol):
    """What the status server shows of a relay."""

    metrics: Registry

    def refresh_gauges(self) -> dict[str, int]: ...

    def health(self) -> tuple[int, dict]: ...


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """No access log: a scrape every few seconds would drown the relay's own lines."""


class StatusServer:
    """/metrics and /health on a port of their own, until close()."""

    def __init__(self, relay: Watched, loop: asyncio.AbstractEventLoop, host: str, port: int) -> None:
        self.relay = relay
        self.loop = loop
        self.server = make_server(host, port, self.app, ThreadingWSGIServer, handler_class=_Quiet)
        self.thread = threading.Thread(target=self.server.serve_forever, name="q2ext-relay-status", daemon=True)
        self.thread.start()

    def _on_loop(self, fn: Callable[[], Any]) -> Any:
        """fn() run on the relay's loop, waited for here (the relay's state belongs to its loop)."""
        done: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except Exception as exc:  # noqa: BLE001 - handed to the waiting thread
                done.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return done.result(timeout=30)

    def app(self, environ: dict, start_response) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            text = self._on_loop(lambda: (self.relay.refresh_gauges(), self.relay.metrics.render())[1])
            start_response("200 OK", [("Content-Type", CONTENT_TYPE)])
            return [text.encode()]
        if path == "/health":
            status, body = self._on_loop(self.relay.health)
            start_response(
                f"{status} {'OK' if status == 200 else 'Service Unavailable'}", [("Content-Type", "application/json")]
            )
            return [json.dumps(body).encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: /metrics or /health\n"]

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.server.shutdown)
        self.server.server_close()


def serve_status(relay: Watched, host: str, port: int) -> StatusServer | None:
    """Start /metrics and /health on the relay's own port; a taken port only disables them."""
    try:
        server = StatusServer(relay, asyncio.get_running_loop(), host, port)
    except OSError as exc:
        log.warning(
            "metrics port %s:%d unavailable (%s): no /metrics for this relay; pass --metrics-port",
            host,
            port,
            exc.strerror or exc,
        )
        return None
    log.info("relay metrics on http://%s:%d/metrics, health on /health", host, port)
    return server
