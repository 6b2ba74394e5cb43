"""The console's event hub: bounded, nearly free without a subscriber, and never raising into the message path."""

from __future__ import annotations

import asyncio
import gc
import sys
import time
import tracemalloc
from types import SimpleNamespace

from q2ext import events
from q2ext.events import Event, Hub


def _event(hub: Hub, text: str = "hello world") -> Event:
    return Event(hub.next_seq(), time.time(), "delivery", "Lowercase", "id", 200, "H", 0.001, 1, 39, text=text)


def test_ring_keeps_only_the_last_n_events():
    hub = Hub()
    hub.enable(100)
    for _ in range(10_000):
        hub.publish(_event(hub))
    assert len(hub.ring) == 100
    assert [e.seq for e in hub.since(9_995)] == [9_996, 9_997, 9_998, 9_999, 10_000]
    assert hub.find(9_900) is None and hub.find(9_901).seq == 9_901


def test_publish_without_subscriber_allocates_nothing_beyond_the_ring_entry():
    hub = Hub()
    hub.enable(1000)
    text = "hello world"
    entry = _event(hub, text)
    entry_bytes = sys.getsizeof(entry) + sys.getsizeof(entry.seq) + sys.getsizeof(entry.at)
    tracemalloc.start()
    try:
        for _ in range(2000):  # the ring is full of traced entries: each publish now replaces the oldest
            hub.publish(_event(hub, text))
        gc.collect()
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(10_000):
            hub.publish(_event(hub, text))
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Nothing is kept per publish (the ring replaced its entries; the deque moves along in 528-byte blocks), and
    # at no moment was much more allocated than the entry: no JSON, no copies, no queues.
    assert after - before < 4096  # for 10,000 publishes: under half a byte each
    assert peak - after <= 3 * entry_bytes


def test_a_subscriber_is_woken_by_a_publish():
    async def main() -> bool:
        hub = Hub()
        hub.enable(10)
        flag = hub.subscribe()
        hub.publish(_event(hub))
        woken = flag.is_set()
        hub.unsubscribe(flag)
        return woken and not hub.subscribers

    assert asyncio.run(main())


def test_a_disabled_hub_records_nothing():
    handler = SimpleNamespace(request=None, MESSAGE_TYPE="Lowercase")
    message = SimpleNamespace(type="Lowercase", id="x", attempt=1, headers={}, text="t")
    saved = events.hub
    events.hub = Hub()
    try:
        events.delivered(handler, message, 0.1)
        assert len(events.hub.ring) == 0
    finally:
        events.hub = saved


def test_a_recorder_that_fails_does_not_raise_into_the_message_path():
    saved = events.hub
    events.hub = Hub()
    events.hub.enable(10)
    try:
        events.delivered(SimpleNamespace(request=None), SimpleNamespace(type="T"), 0.1)  # both incomplete
        events.refused(object(), 401, "bad", "id")
        assert events.hub.dropped == 2 and len(events.hub.ring) == 0
    finally:
        events.hub = saved


def test_long_texts_are_cut_to_the_text_limit():
    saved = events.hub
    events.hub = Hub()
    events.hub.enable(10)
    try:
        request = SimpleNamespace(headers={}, body=b"x" * 10)
        message = SimpleNamespace(type="T", id="x", attempt=1, headers={}, text="a" * 1_000_000)
        events.delivered(SimpleNamespace(request=request), message, 0.1)
        assert len(events.hub.ring[0].text) == events.TEXT_LIMIT
    finally:
        events.hub = saved
