"""Message Bus kind: verify, decrypt and deduplicate a bus delivery, then call handle(message)."""

from __future__ import annotations

import asyncio
import json
import logging
import time

from tornado import httputil

from .. import batch, delivery, envelope, events, wire
from ..dedup import Claim, StoreDown
from ..envelope import EnvelopeError, Message, TooLarge
from ..logs import Throttle, escape
from ..metrics import Registry
from ..services import Services
from .base import Q2BaseRequestHandler

BUS_SUFFIX = "/message/process/sdk"
RETRYABLE = wire.RETRYABLE  # answers a sender retries: the rule is wire.retryable(), shared with the relay
UNKNOWN_KEY_RETRY_S = 5  # Retry-After of an unknown key id in its grace period: the ring file may be on its way
REFUSAL_LOG_INTERVAL_S = 10.0  # refusals anyone can cause are logged in full REFUSAL_LOG_BURST times per interval,
REFUSAL_LOG_BURST = 5  # then counted per reason and said in one line at the interval's end
BATCH_CONCURRENCY = 16  # a batch's keys handled at once (each key's own records one after another)


class DeadLetter(Exception):
    """Raise in handle() to send this message straight to the dead-letter topic, with a reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryLater(Exception):
    """Raise in handle() to have the relay deliver this message again after a pause."""

    def __init__(self, reason: str = "retry requested", after_seconds: float = 5.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after_seconds = after_seconds


class Q2MessageBusRequestHandler(Q2BaseRequestHandler):
    """Consumes messages of MESSAGE_TYPE posted by the bus to /<Type>/message/process/sdk."""

    MESSAGE_TYPE: str = ""

    async def handle(self, message: Message) -> None:
        """Override: your logic for one message. Raise to have it retried."""

    @property
    def services(self) -> Services:
        return self.application.settings["q2ext_services"]

    async def prepare(self) -> None:
        """Bus deliveries are handled here; other requests go on to get()/post() as usual."""
        if self.request.method == "POST" and self.request.path.endswith(BUS_SUFFIX):
            await self._receive()

    def check_xsrf_cookie(self) -> None:
        """Bus deliveries are authenticated by their signatures, not cookies."""

    def _refused(self, status: int, reason: str, msg_id: str = "-", flood: bool = False) -> tuple[int, dict]:
        """The refusal to answer, logged; flood: a refusal anyone can cause (checks failed), logged throttled."""
        line = ("refused message %s: %s (%d)", escape(msg_id, 64), escape(reason, 300), status)
        if flood:
            _throttle(self.application.settings, self.logger).warning(*line, key=f"{reason} ({status})")
        else:
            self.logger.warning(*line)
        events.refused(self, status, reason, msg_id)  # the DEBUG console's refusal row
        self.services.metrics.counter("q2ext_refused_total", "Deliveries refused").inc(
            type=self.MESSAGE_TYPE, status=str(status)
        )
        return status, {"status": status, "error": reason, "id": msg_id[:64]}

    def _answer(self, status: int, payload: dict) -> None:
        """Finish with the JSON answer, written straight to the connection.

        RequestHandler.finish() goes through write(), ETag and transform checks and flush() before it writes
        the same bytes; here the body is one JSON document and there is no transform (see bus_lane.py).
        """
        if self._finished:  # handle() answered by itself
            return
        self.set_status(status)
        if status >= 400 and "error" in payload:
            self.set_header("q2msg-refused", escape(payload["error"], 200).encode("ascii", "backslashreplace").decode())
        if self._transforms or self._write_buffer or hasattr(self, "_new_cookie"):
            self.finish(payload)  # something else was written: Tornado's full finish()
            return
        body = json.dumps(payload).encode()
        headers = self._headers
        headers["Content-Type"] = "application/json; charset=UTF-8"
        headers["Content-Length"] = str(len(body))
        connection = self.request.connection
        connection.set_close_callback(None)
        self._headers_written = self._finished = True
        connection.write_headers(httputil.ResponseStartLine("", status, self._reason), headers, body)
        connection.finish()
        self._log()
        self.on_finish()
        self._break_cycles()

    async def _receive(self) -> None:
        """One sealed message per POST, or a batch of them (batch.CONTENT_TYPE)."""
        body = self.request.body
        # One plain dict of lower-case names: the checks read it ~20 times, and HTTPHeaders.get normalizes each time.
        pairs = list(self.request.headers.get_all())
        headers = {name.lower(): value for name, value in pairs}
        if len(headers) != len(pairs) and (repeated := _repeated_envelope_header(pairs)):
            # A proxy in front may read the first copy where this handler reads the last: neither is trusted.
            return self._answer(*self._refused(400, f"header {repeated} given more than once", flood=True))
        if headers.get("content-type", "").startswith(batch.MEDIA_PREFIX):
            return await self._receive_batch(headers, body)
        self._answer(*await self._deliver(headers, body))

    async def _receive_batch(self, headers: dict[str, str], body: bytes) -> None:
        """Check the batch's one signature, then deliver each record in order; after a retryable failure the rest
        wait, to keep key order."""
        cfg = self.services.settings
        if not headers["content-type"].startswith(batch.CONTENT_TYPE):
            reason = f"batch format {headers['content-type'][:60]!r} is not {batch.CONTENT_TYPE}: upgrade the relay"
            return self._answer(*self._refused(415, reason, flood=True))
        try:
            if len(body) > cfg.MAX_BODY_BYTES:
                raise TooLarge(f"batch of {len(body)} bytes is over the {cfg.MAX_BODY_BYTES}-byte limit")
            delivery.verify_batch(headers, body, self.services.ring.delivery, cfg.DELIVERY_TOLERANCE_SECONDS)
            records = batch.decode(body)
        except EnvelopeError as exc:
            return self._answer(*self._refused(exc.status, exc.reason, flood=True))
        opened = [self._open(headers, record, signed=True) for headers, record in records]
        messages = [m for m in opened if isinstance(m, Message)]
        try:
            claims = iter(await self.services.seen.claim_batch([m.id for m in messages]))
        except StoreDown as exc:
            return self._answer(200, {"status": 200, "results": [self._store_down(exc, m) for m in opened]})
        items = [(item, next(claims) if isinstance(item, Message) else None) for item in opened]
        results: list[dict] = [{}] * len(items)
        runs = _runs(records)
        if len(runs) == 1:
            await self._run(runs[0], items, results)
        else:  # keys apart side by side: BATCH_CONCURRENCY workers take the next key's run as each finishes one
            queue = iter(runs)
            workers = min(BATCH_CONCURRENCY, len(runs))
            await asyncio.gather(*(self._runs_from(queue, items, results) for _ in range(workers)))
        self._answer(200, {"status": 200, "results": results})

    async def _runs_from(self, queue, items: list, results: list[dict]) -> None:
        """One worker of a batch: key runs from the shared iterator until none is left."""
        for run in queue:
            await self._run(run, items, results)

    async def _run(self, run: list[int], items: list, results: list[dict]) -> None:
        """One key's records of a batch, in order; after a retryable answer the rest are not attempted."""
        blocked = False
        for index in run:
            item, claim = items[index]
            if blocked:
                if claim is Claim.NEW:
                    self.services.seen.release(item.id)
                results[index] = {"status": 503, "attempted": False, "error": "an earlier record must be retried first"}
                continue
            status, payload = await self._dispatch(item, claim) if claim is not None else item
            results[index] = payload
            blocked = wire.retryable(status)

    async def _deliver(self, headers, body: bytes) -> tuple[int, dict]:
        """Verify, open and dispatch one sealed message; the answer as (status, JSON payload)."""
        opened = self._open(headers, body)
        if not isinstance(opened, Message):
            return opened
        try:
            claim = await self.services.seen.claim_soon(opened.id)
        except StoreDown as exc:
            self.set_header("Retry-After", str(StoreDown.RETRY_AFTER_S))
            return 503, self._store_down(exc, opened)
        return await self._dispatch(opened, claim)

    def _store_down(self, exc: StoreDown, item: Message | tuple[int, dict]) -> dict:
        """The answer to a delivery whose id could not be claimed: 503, retry (a refusal keeps its own answer)."""
        if not isinstance(item, Message):
            return item[1]
        _status, payload = self._refused(503, f"seen-id store unavailable ({exc}); retry", item.id)
        return {**payload, "retry_after": StoreDown.RETRY_AFTER_S}

    def _open(self, headers, body: bytes, signed: bool = False) -> Message | tuple[int, dict]:
        """The message, if its size, delivery signature (unless its batch's was checked) and seal are right; else
        the refusal to answer."""
        services = self.services
        cfg = services.settings
        try:
            if len(body) > cfg.MAX_MESSAGE_BYTES:
                raise TooLarge(f"body of {len(body)} bytes is over the {cfg.MAX_MESSAGE_BYTES}-byte limit")
            if not signed:
                delivery.verify(headers, services.ring.delivery, cfg.DELIVERY_TOLERANCE_SECONDS)
            key_id = headers.get("q2msg-cryptokey")
            if key_id is not None and services.ring.get(key_id) is None:  # a rotation on its way here?
                wait = self._unknown_key(key_id, headers.get("q2msg-id", "-"))
                if wait is not None:
                    return wait
            return envelope.open(
                headers,
                body,
                services.ring,
                max_bytes=cfg.MAX_MESSAGE_BYTES,
                max_age_s=cfg.MAX_MESSAGE_AGE_SECONDS,
                max_future_s=cfg.MAX_FUTURE_SKEW_SECONDS,
                expected_type=self.MESSAGE_TYPE,
            )
        except EnvelopeError as exc:
            return self._refused(exc.status, exc.reason, headers.get("q2msg-id", "-"), flood=True)

    def _unknown_key(self, key_id: str, msg_id: str) -> tuple[int, dict] | None:
        """A key id this handler does not know: reload the ring file if it changed; 503 while in grace.

        None when the key is known now, or when the answer is the permanent 401 (retired, or past the grace).
        """
        services = self.services
        reloader = services.reloader
        if reloader is None:
            return None
        fresh = reloader.refresh()
        if fresh is not None:
            services.ring = fresh
        if services.ring.get(key_id) is not None or key_id in services.ring.retired or not reloader.in_grace():
            return None
        self.set_header("Retry-After", str(UNKNOWN_KEY_RETRY_S))
        status, payload = self._refused(503, f"unknown key {key_id[:64]!r} (not in this handler's ring yet)", msg_id)
        return status, {**payload, "retry_after": UNKNOWN_KEY_RETRY_S}

    async def _dispatch(self, message: Message, claim: Claim) -> tuple[int, dict]:
        """Call handle() unless the id was handled already (200) or is being handled elsewhere (409)."""
        services = self.services
        if claim is Claim.DONE:
            self.logger.info("message %s already handled: acknowledged, not handled again", message.id)
            events.duplicate(self, message)  # the DEBUG console's duplicate row
            services.metrics.counter("q2ext_duplicates_total", "Redeliveries acknowledged").inc(type=message.type)
            return 200, {"status": 200, "id": message.id, "duplicate": True}
        if claim is Claim.BUSY:
            return self._refused(409, "this message is being handled right now; retry", message.id)
        if services.settings.DEBUG:
            self.logger.debug("Message: %s", message.text)
        started = time.perf_counter()
        try:
            await self.handle(message)
        except DeadLetter as exc:
            services.seen.release(message.id)
            return self._refused(422, f"dead letter requested: {exc.reason}", message.id)
        except RetryLater as exc:
            services.seen.release(message.id)
            self.set_header("Retry-After", str(max(0, int(exc.after_seconds))))
            status, payload = self._refused(503, f"retry requested: {exc.reason}", message.id)
            return status, {**payload, "retry_after": exc.after_seconds}
        except asyncio.CancelledError:  # the request was dropped: give the claim back (its lease would be renewed)
            services.seen.release(message.id)
            raise
        except Exception:
            services.seen.release(message.id)
            events.raised(self, message)  # the DEBUG console's traceback row
            self.logger.exception("handle() raised for message %s; answering 500 so the bus retries", message.id)
            services.metrics.counter("q2ext_handle_errors_total", "handle() calls that raised").inc(type=message.type)
            return 500, {"status": 500, "error": "handle() raised; the bus will retry", "id": message.id}
        services.seen.done(message.id)
        events.delivered(self, message, time.perf_counter() - started)  # the DEBUG console's delivery row
        metrics = services.metrics
        handled, timed = metrics.bound(("handled", message.type), _success_series, metrics, message.type)
        handled()
        timed(time.perf_counter() - started)
        for listener in services.on_handled:  # e.g. q2ext.testing's record of what was handled
            listener(message)
        return 200, {"status": 200, "id": message.id}


def _runs(records: list[tuple[dict[str, str], bytes]]) -> list[list[int]]:
    """A batch's record indexes by ordering key (q2msg-order, set by the relay), each key's in order.

    A batch without q2msg-order (an older relay) is one run: its records are handled strictly in order.
    """
    runs: dict[str, list[int]] = {}
    for index, (headers, _) in enumerate(records):
        runs.setdefault(headers.get(wire.ORDER_HEADER, ""), []).append(index)
    return list(runs.values())


def _repeated_envelope_header(pairs: list[tuple[str, str]]) -> str | None:
    """The first q2msg-* header name given more than once, if any (only called when some name repeats)."""
    seen: set[str] = set()
    for name, _ in pairs:
        name = name.lower()
        if name.startswith(wire.PREFIX):
            if name in seen:
                return name
            seen.add(name)
    return None


def _throttle(app_settings: dict, logger: logging.Logger) -> Throttle:
    """The refusal log of this route in this app: the first few refusals of each 10 s in full, then counts."""
    throttles = app_settings.setdefault("q2ext_refusal_logs", {})
    found = throttles.get(logger.name)
    if found is None:
        found = throttles[logger.name] = Throttle(logger, every_s=REFUSAL_LOG_INTERVAL_S, burst=REFUSAL_LOG_BURST)
    return found


def _success_series(metrics: Registry, message_type: str) -> tuple:
    """The counter and histogram every handled message of this type updates, bound to its labels once."""
    return (
        metrics.counter("q2ext_handled_total", "Messages handled").labels(type=message_type),
        metrics.histogram("q2ext_handle_seconds", "Time spent in handle()").labels(type=message_type),
    )
