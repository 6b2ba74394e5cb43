"""The console's HTTP side: the page, its static files, the live event stream, event details, push and replay."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import tornado.web
from tornado.iostream import StreamClosedError

from .. import bus, events
from ..handlers.message_bus import Q2MessageBusRequestHandler
from ..services import Services

STATIC = Path(__file__).with_name("static")
COALESCE_S = 0.1  # a subscriber gets at most ten writes a second, however fast events come
KEEPALIVE_S = 15.0
PREVIEW = 120  # characters of a message's text in the table (the full text is in the details)
HIDDEN_HEADERS = frozenset({"cookie", "authorization"})
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
console_logger = logging.getLogger("extension.console")  # the "which extension pushed" of the form's pushes


class ConsoleHandler(tornado.web.RequestHandler):
    """Base of the console's handlers: loopback hosts only (no DNS rebinding), JSON answers."""

    @property
    def services(self) -> Services:
        return self.application.settings["q2ext_services"]

    def prepare(self) -> None:
        host = self.request.host_name.lower()
        if host not in LOCAL_HOSTS and host != self.services.settings.HOST.lower():
            raise tornado.web.HTTPError(403, reason="the bus console answers on localhost only")

    def check_xsrf_cookie(self) -> None:
        """The console's POSTs are JSON with a same-origin check instead (see json_body)."""

    def json_body(self) -> dict[str, Any]:
        """The POSTed JSON object; refuses form posts and other origins (a page elsewhere cannot push)."""
        if not self.request.headers.get("Content-Type", "").startswith("application/json"):
            raise tornado.web.HTTPError(415, reason="send JSON (Content-Type: application/json)")
        origin = self.request.headers.get("Origin")
        if origin and origin.split("://", 1)[-1] != self.request.host:
            raise tornado.web.HTTPError(403, reason="cross-origin request refused")
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise tornado.web.HTTPError(400, reason="the body is not JSON") from None
        if not isinstance(data, dict):
            raise tornado.web.HTTPError(400, reason="send a JSON object")
        return data

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish({"error": self._reason, "status": status_code})


class PageHandler(ConsoleHandler):
    """The console page itself."""

    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish((STATIC / "console.html").read_bytes())


class InfoHandler(ConsoleHandler):
    """What the page needs once: message types to push, bus mode, ring size."""

    def get(self) -> None:
        cfg = self.services.settings
        self.finish(
            {
                "types": message_types(self.application),
                "bus": cfg.bus_mode,
                "ring": events.hub.ring.maxlen,
                "extensions": list(cfg.INSTALLED_EXTENSIONS),
            }
        )


class StreamHandler(ConsoleHandler):
    """Server-sent events: every event after Last-Event-ID (or ?after=), then each new batch as it comes."""

    closed = False

    async def get(self) -> None:
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-store")
        last = _int(self.request.headers.get("Last-Event-ID") or self.get_query_argument("after", "0"))
        ring = events.hub.ring
        if last > (ring[-1].seq if ring else 0):  # the page saw an earlier run of this server: start over
            last = 0
        flag = events.hub.subscribe()
        self._flag = flag
        try:
            self.write("retry: 2000\n\n")
            await self.flush()
            while not self.closed:
                flag.clear()
                batch = events.hub.since(last)
                if batch:
                    last = batch[-1].seq
                    self.write(f"id: {last}\ndata: {json.dumps([summary(e) for e in batch])}\n\n")
                    await self.flush()
                try:
                    await asyncio.wait_for(flag.wait(), KEEPALIVE_S)
                except asyncio.TimeoutError:
                    self.write(": keep-alive\n\n")
                    await self.flush()
                await asyncio.sleep(COALESCE_S)
        except StreamClosedError:
            pass
        finally:
            events.hub.unsubscribe(flag)

    def on_connection_close(self) -> None:
        self.closed = True
        flag = getattr(self, "_flag", None)
        if flag is not None:
            flag.set()


class EventHandler(ConsoleHandler):
    """One event in full: headers, sealed body size, text (DEBUG only) and traceback."""

    def get(self, seq: str) -> None:
        event = events.hub.find(int(seq))
        if event is None:
            kept = events.hub.ring.maxlen
            reason = f"event {seq} is no longer kept (the last {kept} are; CONSOLE_EVENTS in configuration/settings.py)"
            raise tornado.web.HTTPError(404, reason=reason)
        self.finish(detail(event, with_text=self.services.settings.DEBUG))


class PushHandler(ConsoleHandler):
    """The form's push: the same bus.push() an extension calls."""

    async def post(self) -> None:
        data = self.json_body()
        message_type, text = data.get("type"), data.get("text")
        types = message_types(self.application)
        if message_type not in types:
            raise tornado.web.HTTPError(400, reason=f"type must be one of {', '.join(types) or 'none installed'}")
        if not isinstance(text, str):
            raise tornado.web.HTTPError(400, reason="text must be a string")
        try:
            msg_id = await bus.push(console_logger, text, message_type)
        except bus.PushError as exc:
            self.set_status(502)
            self.finish({"error": str(exc)})
            return
        self.finish({"id": msg_id})


class KafkaHandler(ConsoleHandler):
    """With the Kafka bus: the relay's retries, dead letters and lag per topic, and the dead-letter topics."""

    async def get(self) -> None:
        from . import kafka

        cfg = self.services.settings
        if cfg.bus_mode != "kafka":
            self.finish({"bus": cfg.bus_mode})
            return
        self.finish(await kafka.overview(cfg, message_types(self.application)))


class ReplayHandler(ConsoleHandler):
    """Put one dead letter back on its topic (what `make replay-dlq` does, for one record)."""

    async def post(self) -> None:
        from .. import dlq

        data = self.json_body()
        cfg = self.services.settings
        try:
            where = str(data["topic"]), int(data["partition"]), int(data["offset"])
        except (KeyError, TypeError, ValueError):
            raise tornado.web.HTTPError(400, reason="send topic, partition and offset of the dead letter") from None
        if not where[0].endswith(dlq.SUFFIX):
            raise tornado.web.HTTPError(400, reason=f"{where[0]} is not a dead-letter topic (*{dlq.SUFFIX})")
        msg_id = await dlq.replay_one(cfg.KAFKA_BOOTSTRAP_SERVERS, *where, cfg.KAFKA_CLIENT_OPTIONS)
        if msg_id is None:
            raise tornado.web.HTTPError(404, reason=f"no record at {where[0]}:{where[1]}@{where[2]}")
        self.finish({"replayed": msg_id})


def handlers(prefix: str) -> list:
    """The console's routes under prefix."""
    return [
        (prefix + r"/?", PageHandler),
        (prefix + r"/static/(.*)", tornado.web.StaticFileHandler, {"path": str(STATIC)}),
        (prefix + r"/api/info", InfoHandler),
        (prefix + r"/api/stream", StreamHandler),
        (prefix + r"/api/events/(\d{1,18})", EventHandler),
        (prefix + r"/api/push", PushHandler),
        (prefix + r"/api/kafka", KafkaHandler),
        (prefix + r"/api/replay", ReplayHandler),
    ]


def message_types(app: tornado.web.Application) -> list[str]:
    """The message types of the Message Bus handlers this app serves, in route order."""
    found = []
    for rule in app.wildcard_router.rules:
        target = rule.target
        if isinstance(target, type) and issubclass(target, Q2MessageBusRequestHandler) and target.MESSAGE_TYPE:
            found.append(target.MESSAGE_TYPE)
    return list(dict.fromkeys(found))


def summary(event: events.Event) -> dict[str, Any]:
    """A table row: everything but headers, full text and traceback."""
    return {
        "seq": event.seq,
        "at": event.at,
        "kind": event.kind,
        "type": event.type,
        "id": event.id,
        "status": event.status,
        "who": event.who,
        "seconds": event.seconds,
        "attempt": event.attempt,
        "size": event.size,
        "reason": event.reason,
        "key": event.key,
        "preview": event.text[:PREVIEW] if event.text else None,
    }


def detail(event: events.Event, with_text: bool) -> dict[str, Any]:
    """The row plus headers, text (DEBUG only) and traceback."""
    headers = {k: v for k, v in (event.headers or {}).items() if k.lower() not in HIDDEN_HEADERS}
    return {
        **summary(event),
        "headers": headers,
        "text": event.text if with_text else None,
        "text_truncated": bool(event.text) and len(event.text) >= events.TEXT_LIMIT,
        "trace": event.trace,
    }


def _int(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and len(raw) < 19 else 0
