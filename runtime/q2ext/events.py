"""What happened on the bus in this process, kept in a ring for the DEBUG console (nothing out of DEBUG).

The message path calls push()/delivered()/duplicate()/refused()/raised() with one line each. A call appends
one tuple to a bounded deque and, only if a console is subscribed, sets its wake-up flag: no JSON, no copy, no
queue per subscriber. The console formats entries when it reads them. A call never raises into the message path.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from .batch import CONTENT_TYPE as BATCH_TYPE

TEXT_LIMIT = 2000  # characters of a message's text kept per event (the ring stays small with 1 MB messages)
TRACE_LIMIT = 8000  # characters of a traceback kept
DEFAULT_SIZE = 1000


class Event(NamedTuple):
    """One ring entry; fields a kind does not have stay None."""

    seq: int
    at: float
    kind: str  # push | delivery | duplicate | refusal | exception
    type: str
    id: str
    status: int | None = None
    who: str = ""  # the extension that pushed, or the handler class that answered
    seconds: float | None = None  # time in handle()
    attempt: int | None = None
    size: int | None = None  # the sealed body's bytes
    reason: str | None = None
    key: str | None = None
    headers: Mapping[str, str] | None = None
    text: str | None = None
    trace: str | None = None


class Hub:
    """A ring of the last N events plus the wake-up flags of the consoles reading it."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.enabled = False
        self.ring: deque[Event] = deque(maxlen=size)
        self.subscribers: set[asyncio.Event] = set()
        self._seq = itertools.count(1)
        self.dropped = 0  # recorder calls that failed (never raised into the message path)

    def enable(self, size: int) -> None:
        """Start recording, keeping the last `size` events (the console's app calls it, in DEBUG only)."""
        if size != self.ring.maxlen:
            self.ring = deque(self.ring, maxlen=max(1, size))
        self.enabled = True

    def disable(self) -> None:
        """Stop recording and forget what was recorded."""
        self.enabled = False
        self.ring.clear()

    def next_seq(self) -> int:
        return next(self._seq)

    def publish(self, event: Event) -> None:
        """Append one event (made with next_seq()); wake subscribers, if any."""
        self.ring.append(event)
        if self.subscribers:
            for flag in self.subscribers:
                flag.set()

    def subscribe(self) -> asyncio.Event:
        """A flag set whenever an event arrives; pass it to unsubscribe() when the reader goes."""
        flag = asyncio.Event()
        self.subscribers.add(flag)
        return flag

    def unsubscribe(self, flag: asyncio.Event) -> None:
        self.subscribers.discard(flag)

    def since(self, seq: int) -> list[Event]:
        """The events after seq still in the ring, oldest first."""
        newer: list[Event] = []
        for event in reversed(self.ring):
            if event.seq <= seq:
                break
            newer.append(event)
        newer.reverse()
        return newer

    def find(self, seq: int) -> Event | None:
        """The event with this seq, if the ring still holds it."""
        return next((e for e in reversed(self.ring) if e.seq == seq), None)


hub = Hub()


def _short(text: str | None, limit: int = TEXT_LIMIT) -> str | None:
    return text if text is None or len(text) <= limit else text[:limit]


def _recorder(make: Callable[..., Event]) -> Callable[..., None]:
    """Turn an Event builder into a hook: nothing when the hub is off, never an exception into the message path."""

    @functools.wraps(make)
    def record(*args: Any) -> None:
        if not hub.enabled:
            return
        try:
            hub.publish(make(*args))
        except Exception:  # noqa: BLE001 - the console never breaks a push or a delivery
            hub.dropped += 1

    return record


@_recorder
def push(sealed: Any, text: str, message_type: str, key: Any, logger: Any) -> Event:
    """A message is being pushed by the extension that owns this logger (extension.<Name>)."""
    headers = sealed.headers
    return Event(hub.next_seq(), time.time(), "push", message_type, headers["q2msg-id"],
                 who=logger.name.removeprefix("extension."), size=len(sealed.body),
                 key=None if key is None else _key_text(key), headers=headers, text=_short(text))  # fmt: skip


@_recorder
def delivered(handler: Any, message: Any, seconds: float) -> Event:
    """handle() returned for this message."""
    return Event(hub.next_seq(), time.time(), "delivery", message.type, message.id, 200, type(handler).__name__,
                 seconds, message.attempt, _body_size(handler), headers=message.headers,
                 text=_short(message.text))  # fmt: skip


@_recorder
def duplicate(handler: Any, message: Any) -> Event:
    """A delivery of a message handled already (a replay, or a redelivery): acknowledged, not handled again."""
    return Event(hub.next_seq(), time.time(), "duplicate", message.type, message.id, 200, type(handler).__name__,
                 None, message.attempt, _body_size(handler), "already handled: acknowledged, not handled again",
                 headers=message.headers, text=_short(message.text))  # fmt: skip


@_recorder
def refused(handler: Any, status: int, reason: str, msg_id: str) -> Event:
    """The handler answered a delivery with an error status, for this reason."""
    size = _body_size(handler)
    headers = handler.request.headers if size is not None else None
    attempt = headers.get("q2msg-attempt", "") if headers is not None else ""
    return Event(hub.next_seq(), time.time(), "refusal", handler.MESSAGE_TYPE, msg_id[:64], status,
                 type(handler).__name__, None, int(attempt) if attempt.isdigit() else None, size, reason[:500],
                 headers=headers)  # fmt: skip


@_recorder
def raised(handler: Any, message: Any) -> Event:
    """handle() raised: call it from the except block, where the traceback is."""
    trace = _short(traceback.format_exc(), TRACE_LIMIT)
    return Event(hub.next_seq(), time.time(), "exception", message.type, message.id, 500, type(handler).__name__,
                 None, message.attempt, _body_size(handler), trace.strip().splitlines()[-1][:500],
                 headers=message.headers, text=_short(message.text), trace=trace)  # fmt: skip


def _key_text(key: Any) -> str:
    """An ordering key as text for the table (bytes shown as text when they decode)."""
    if isinstance(key, bytes):
        return key[:200].decode("utf-8", "replace")
    return str(key)[:200]


def _body_size(handler: Any) -> int | None:
    """The sealed body's size, for a single delivery (a batch's records share one request body)."""
    request = handler.request
    if request.headers.get("Content-Type", "").startswith(BATCH_TYPE):
        return None
    return len(request.body)
