"""A short path through Tornado for bus deliveries: the POSTs the relay makes once per message.

Tornado routes each request through a list of regexes, wraps it in a handler delegate and runs
RequestHandler._execute (body parsing, argument decoding, XSRF and origin checks, prepare(), the
verb method) before the message is even looked at. A bus delivery needs none of it: its route
is a literal path and the envelope, not a cookie, authenticates it. Profiles of the handler put
that machinery at ~8% of its CPU per message, so bus POSTs to a literal route go straight to
the handler instance's _receive(); every other request is routed by Tornado as usual.

The lane writes some of Tornado's private state (what _execute would have set) and reads its router
rules, so it runs only on the Tornado releases it was tested with (TESTED_TORNADO); on any other it turns
itself off, says so once, and every request takes Tornado's full path. Q2EXT_BUS_LANE=0 turns it off too
(tests/runtime/test_bus_lane_off.py runs the bus tests that way).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from typing import Any

import tornado.web
from tornado import httputil

from .handlers.message_bus import BUS_SUFFIX, Q2MessageBusRequestHandler

log = logging.getLogger("q2ext.server")
_LITERAL = re.compile(r"/[\w./-]*\Z")  # a route pattern that is a plain path: no groups, no regex syntax
TESTED_TORNADO = frozenset({(6, 4), (6, 5), (6, 6)})  # (major, minor) releases the suite ran the lane on
ENV_SWITCH = "Q2EXT_BUS_LANE"  # "0": every request takes Tornado's full path
_said_off: list[str] = []  # the reason the lane is off, said once per process


def lane_allowed(version: tuple = tornado.version_info, environ=None) -> bool:
    """True if the lane may run: switched on, on a Tornado release it was tested with (else one log line)."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_SWITCH, "1").strip() == "0":
        return False
    if tuple(version[:2]) in TESTED_TORNADO:
        return True
    if not _said_off:
        _said_off.append(f"Tornado {'.'.join(map(str, version[:3]))}")
        log.warning(
            "bus lane off: Tornado %s is not a release it was tested with (%s); bus POSTs take Tornado's full path",
            ".".join(map(str, version[:3])),
            ", ".join(f"{a}.{b}" for a, b in sorted(TESTED_TORNADO)),
        )
    return False


class Application(tornado.web.Application):
    """tornado.web.Application that hands bus POSTs to a literal route straight to the handler."""

    def __init__(self, handlers: list, **settings: Any) -> None:
        super().__init__(handlers, **settings)
        self.bus_lanes = self._find_lanes()

    def find_handler(self, request: httputil.HTTPServerRequest, **kwargs: Any) -> httputil.HTTPMessageDelegate:
        """The bus lane for a POST to a bus route; Tornado's routing for everything else."""
        lane = self.bus_lanes.get(request.path) if request.method == "POST" else None
        if lane is not None:
            return _BusDelegate(self, request, *lane)
        return super().find_handler(request, **kwargs)

    def _find_lanes(self) -> dict[str, tuple[type, dict]]:
        """Path -> (handler class, kwargs) of the routes the lane can serve exactly as Tornado would.

        Only a literal path to an unmodified bus handler, with no earlier route matching the same path,
        no output transform (compress_response), no cross-origin protection and no host-specific routes:
        anything else keeps Tornado's full path, where a prepare() override or a catch-all route behaves
        as the user wrote it.
        """
        if not lane_allowed():
            return {}
        if self.transforms or self.settings.get("cross_origin_protection") or len(self.default_router.rules) != 1:
            return {}
        lanes: dict[str, tuple[type, dict]] = {}
        earlier: list = []
        for rule in self.wildcard_router.rules:
            regex = getattr(rule.matcher, "regex", None)
            if regex is None:  # a matcher we cannot reason about: it may match anything after it
                break
            path = regex.pattern.removeprefix("^").removesuffix("$")
            cls = rule.target
            if (
                _LITERAL.match(path)
                and path.endswith(BUS_SUFFIX)
                and isinstance(cls, type)
                and issubclass(cls, Q2MessageBusRequestHandler)
                and cls.prepare is Q2MessageBusRequestHandler.prepare
                and not any(r.match(path) for r in earlier)
                and path not in lanes
            ):
                lanes[path] = (cls, dict(rule.target_kwargs or {}))
            earlier.append(regex)
        return lanes


class _BusDelegate(httputil.HTTPMessageDelegate):
    """One bus POST: collect the body, then let a fresh handler instance receive it."""

    def __init__(self, app: Application, request: httputil.HTTPServerRequest, cls: type, kwargs: dict) -> None:
        self.app = app
        self.request = request
        self.cls = cls
        self.kwargs = kwargs
        self.chunks: list[bytes] | None = []

    def data_received(self, chunk: bytes) -> None:
        if self.chunks is not None:
            self.chunks.append(chunk)

    def finish(self) -> None:
        chunks = self.chunks or []
        self.request.body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        handler = self.cls(self.app, self.request, **self.kwargs)
        handler._transforms = []  # what _execute would set: the lane only runs without output transforms
        task = asyncio.ensure_future(_serve(handler))
        task.add_done_callback(_log_crash)

    def on_connection_close(self) -> None:
        self.chunks = None


async def _serve(handler: Q2MessageBusRequestHandler) -> None:
    """_receive(), with Tornado's own error handling: an exception answers 500 (or its HTTPError status)."""
    try:
        await handler._receive()
    except Exception as exc:  # noqa: BLE001 - exactly what RequestHandler._execute does with it
        handler._handle_request_exception(exc)


def _log_crash(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("bus delivery crashed after its answer", exc_info=task.exception())
