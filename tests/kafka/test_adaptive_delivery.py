"""Adaptive delivery (the relay's default): what is ready for an endpoint goes in one POST, and each key keeps
its order and its own outcomes. Real broker, real relay processes, a real Tornado handler on loopback."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections import Counter

import tornado.httpserver
import tornado.web
from kafka_helpers import broker_mod, push_all, read_topic, wait_for

from q2ext import batch

KEYS = 64
PER_KEY = 6


def routes(handler) -> dict[str, str]:
    return {handler.type: handler.url}


def by_key(texts: list[str]) -> dict[str, list[str]]:
    """Texts 'k<n>/<i>[...]' (after any 'busy1:' or 'hold:' prefix) grouped by key, in the order given."""
    out: dict[str, list[str]] = {}
    for text in texts:
        out.setdefault(text.split(":")[-1].split("/")[0], []).append(text)
    return out


def test_64_keys_keep_their_order_while_one_key_waits_on_its_failing_record_and_none_is_handled_twice(
    broker, ring, handler, relays
):
    texts = []
    for i in range(PER_KEY):
        for k in range(KEYS):
            text = f"k{k}/{i}"
            if k % 8 == 3 and i in (1, 4):  # some records of some keys answer 503 a few times
                text = f"busy2:{text}"
            if k == 5 and i == 2:  # one key's record fails until released, then for good (422)
                text = f"hold:{text}"
            texts.append(text)
    keys = [text.split(":")[-1].split("/")[0].encode() for text in texts]
    push_all(broker.bootstrap, ring, handler.type, texts, keys, one_by_one=False)
    relay = relays(broker.bootstrap, routes(handler))
    others = [t for t in texts if not t.endswith(("k5/2", "k5/3", "k5/4", "k5/5"))]
    wait_for(lambda: len(handler.services.handled) >= len(others), "every other key's records", timeout=90)
    handled = [m.text for m in handler.services.handled]
    assert sorted(handled) == sorted(others)  # the held key's later records wait behind it
    handler.release.set()  # now its record is refused for good: dead-lettered, then the key goes on
    wait_for(lambda: len(handler.services.handled) == len(texts) - 1, "the held key's later records", timeout=90)
    handled = [m.text for m in handler.services.handled]
    assert Counter(handler.handled_ids()).most_common(1)[0][1] == 1  # nothing handled twice
    expected = by_key([t for t in texts if not t.startswith("hold:")])
    assert by_key(handled) == expected  # every key in its order, the held key's later ones after the dead letter
    letters = wait_for(lambda: read_topic(broker.bootstrap, f"sdk-generic.{handler.type}.dlq"), "the dead letter")
    assert [dict((k, v.decode()) for k, v in r.headers)["q2msg-dlq-status"] for r in letters] == ["422"]
    assert any("q2msg-order" in headers for *_, headers in handler.calls)  # records went in batches
    assert relay.metric("q2ext_relay_batch_records_count") > 0  # and /metrics counts them


def test_a_relay_killed_mid_batch_leaves_every_message_handled_exactly_once(broker, ring, handler, relays):
    texts = [f"k{i % 16}/{i // 16}" for i in range(400)]
    texts[200] = "block:" + texts[200]
    keys = [text.split(":")[-1].split("/")[0].encode() for text in texts]
    ids = push_all(broker.bootstrap, ring, handler.type, texts, keys)
    group = "g-kill-" + handler.type
    first = relays(broker.bootstrap, routes(handler), group=group)
    wait_for(handler.blocked.is_set, "a batch to be in handle()")
    first.signal(signal.SIGKILL)  # its POSTs in flight are never answered: those records are not committed
    first.wait()
    handler.release.set()
    second = relays(broker.bootstrap, routes(handler), group=group)
    wait_for(lambda: set(handler.handled_ids()) == set(ids), "every message handled", timeout=90)
    wait_for(lambda: second.metric("q2ext_relay_delivered_total") > 0, "the second relay to deliver")
    assert Counter(handler.handled_ids()).most_common(1)[0][1] == 1  # redeliveries acknowledged, not handled


def test_a_failed_post_frees_its_slot_at_once_for_the_ready_records_of_other_keys(broker, ring, handler, relays):
    relay = relays(broker.bootstrap, routes(handler), "--max-in-flight", "2")
    for text in ("slowfail:a", "slowfail:b"):  # one single POST each: both slots taken
        push_all(broker.bootstrap, ring, handler.type, [text], [text[-1:].encode()])
        wait_for(lambda text=text: text in handler.texts(), f"{text} in handle()")
    push_all(broker.bootstrap, ring, handler.type, ["c", "d"], [b"c", b"d"])  # ready, no slot free
    wait_for(lambda: relay.metric("q2ext_relay_consumer_lag") >= 4, "the relay to have fetched c and d")
    handler.release.set()  # both answer 503 (retry in 30 s): their slots take c and d now, not after the retries
    wait_for(lambda: {"c", "d"} <= {m.text for m in handler.services.handled}, "the other keys' records")
    assert handler.texts().count("slowfail:a") == 1 and handler.texts().count("slowfail:b") == 1


class SingleOnly(tornado.web.RequestHandler):
    """An endpoint that knows one message per POST only: 415 to the batch media type."""

    seen: list[tuple[str, str]]

    def post(self) -> None:
        kind = self.request.headers.get("Content-Type", "")
        if kind.startswith(batch.MEDIA_PREFIX):
            self.seen.append(("batch", ""))
            self.set_status(415)
            return
        self.seen.append(("single", self.request.headers.get("q2msg-id", "")))
        self.write({"status": 200})


def serve_in_thread(app: tornado.web.Application, port: int) -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        tornado.httpserver.HTTPServer(app).listen(port, address="127.0.0.1")
        loop.call_soon(started.set)
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    assert started.wait(10)
    return loop


def test_an_endpoint_answering_415_to_batches_gets_every_message_as_single_posts(broker, ring, message_type, relays):
    seen: list[tuple[str, str]] = []
    port = broker_mod.free_port()
    path = f"/{message_type}/message/process/sdk"
    loop = serve_in_thread(tornado.web.Application([(path, type("Plain", (SingleOnly,), {"seen": seen}))]), port)
    try:
        ids = push_all(broker.bootstrap, ring, message_type, [f"m{i}" for i in range(200)])
        relay = relays(broker.bootstrap, {message_type: f"http://127.0.0.1:{port}{path}"})
        wait_for(lambda: {i for kind, i in seen if kind == "single"} >= set(ids), "every message as a single POST")
        assert ("batch", "") in seen  # it was offered batches first
        wait_for(lambda: relay.metric("q2ext_relay_delivered_total") >= len(ids), "the relay to count them")
        assert relay.metric("q2ext_relay_dead_lettered_total") == 0
        assert relay.log().count("does not take batches") == 1  # logged once
    finally:
        loop.call_soon_threadsafe(loop.stop)


def test_a_lone_ready_record_goes_as_a_single_post_with_the_seeds_headers(broker, ring, handler, relays):
    relays(broker.bootstrap, routes(handler))
    push_all(broker.bootstrap, ring, handler.type, ["alone"])
    wait_for(lambda: len(handler.services.handled) == 1, "the message")
    *_, headers = handler.calls[0]
    assert headers["q2msg-type"] == f"sdk-generic.{handler.type}" and "q2msg-hmac" in headers
    assert "q2msg-delivery-signature" in headers and "q2msg-order" not in headers  # its own POST, not a batch's
