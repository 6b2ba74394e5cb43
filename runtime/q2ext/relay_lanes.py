"""Adaptive delivery: when a connection to an endpoint is free, one POST carries every record ready for it.

A lane is one handler endpoint. It has a few POST slots (--max-in-flight); each free slot takes what the
partitions bound for the endpoint have ready, up to --max-batch records and bytes: a lone record goes as a
single POST with the seed's q2msg-* headers (light load: no wait, no batch), several go as one batch POST
(batch.py). Under load records pile up behind busy slots and go together: fewer POSTs, same order.

Each record of a batch gets its own outcome: a 2xx finishes it, a failure sends it down the single-record
slow path (attempts.py: retries, backoff, dead letter), and the later records of its key in the batch go
back to the head of their key (put_back) to follow it. An endpoint that does not answer batches (415, or
anything but a batch answer) gets single POSTs from then on, said once in the log.
"""

from __future__ import annotations

import functools
import logging

from .attempts import sealed_headers
from .retry import NOT_ATTEMPTED, OK, Outcome
from .scheduler import key_of

log = logging.getLogger("q2ext.relay")
RECORD_OVERHEAD = 512  # bytes a record's header block adds to a batch body, about
NOTHING_ATTEMPTED = Outcome("retry", 503, "the handler attempted no record of the batch")


class Lane:
    """One endpoint: its free POST slots, the partitions that may have records ready for it, how it is spoken to."""

    def __init__(self, url: str, slots: int) -> None:
        self.url = url
        self.free = max(1, slots)
        self.parts: dict = {}  # partitions to take from, in turn (a dict as an ordered set)
        self.single = False  # the endpoint answered a batch with something that is not a batch answer
        self.batches = 0  # batch POSTs in flight


def record_size(record) -> int:
    return len(record.value or b"") + RECORD_OVERHEAD


def take(lane: Lane, limit: int, max_bytes: int) -> list[tuple]:
    """(partition, record) pairs ready to go, up to limit records and max_bytes, partition after partition."""
    out: list[tuple] = []
    room = max_bytes
    for part in list(lane.parts):
        if len(out) >= limit:
            break
        del lane.parts[part]
        if part.stopping.is_set():
            continue
        records = part.scheduler.take(limit - len(out), room, record_size)
        if not records:
            continue  # nothing ready: it comes back when a record of it settles or arrives
        lane.parts[part] = None  # to the end of the turn: the next POST starts with another partition
        room -= sum(record_size(r) for r in records)
        out.extend((part, record) for record in records)
        if room <= 0:
            break
    return out


def fill(relay, lane: Lane) -> None:
    """Use every free slot of the lane: a single POST for a lone record, one batch POST for several."""
    cfg = relay.config
    while lane.free > 0 and lane.parts:
        taken = take(lane, 1 if lane.single else cfg.max_batch, cfg.batch_max_bytes)
        if not taken:
            return
        lane.free -= 1
        if len(taken) == 1:
            relay._start(*taken[0], lane)
        else:
            post(relay, lane, taken)


def post(relay, lane: Lane, taken: list[tuple]) -> None:
    """One batch POST of the taken records (a record that is not sealed goes to the slow path instead)."""
    items, orders = [], {}
    for part, record in taken:
        headers, _ = sealed_headers(record)
        if headers is None:
            relay._go_on(part, record, None)  # dead-lettered there
            continue
        order = orders.setdefault((part.tp, key_of(record)), len(orders))
        items.append((part, record, headers, order))
    if len(items) <= 1:
        if items:
            return relay._start(items[0][0], items[0][1], lane)
        lane.free += 1
        return
    lane.batches += 1
    relay.stats.batch_records(len(items))
    try:
        relay.poster.send_batch(
            lane.url,
            [(headers, record.value or b"", order) for _, record, headers, order in items],
            functools.partial(answered, relay, lane, items),
        )
    except Exception as exc:  # a bug must not stall the records: each goes on by itself
        log.exception("sending a batch to %s failed", lane.url)
        answered(relay, lane, items, exc)


def answered(relay, lane: Lane, items: list[tuple], result) -> None:
    """The batch's answer: an outcome per record, then the freed slot takes what is ready."""
    lane.batches -= 1
    lane.free += 1
    try:
        outcomes = relay.poster.batch_outcomes(lane.url, result, len(items))
    except Exception as exc:  # noqa: BLE001 - a bug here must not lose the records: they retry one by one
        log.exception("reading the batch answer of %s failed", lane.url)
        outcomes = [Outcome("retry", None, f"batch answer unreadable ({type(exc).__name__})")] * len(items)
    if outcomes is None:
        if not lane.single:
            lane.single = True
            said = _said(result)
            log.warning("%s does not take batches (%s); sending it one record per POST from now on", lane.url, said)
        outcomes = [NOT_ATTEMPTED] * len(items)
    elif all(o is NOT_ATTEMPTED for o in outcomes):  # never loop on a batch nobody attempts: back off instead
        outcomes = [NOTHING_ATTEMPTED, *outcomes[1:]]
    conclude(relay, items, outcomes)
    fill(relay, lane)


def conclude(relay, items: list[tuple], outcomes: list[Outcome]) -> None:
    """Finish, retry or put back each record; a key's records after its first unfinished one are put back."""
    held: set = set()
    back: dict = {}
    for (part, record, _, order), outcome in zip(items, outcomes, strict=True):
        if outcome is OK:
            relay.attempts.count_delivered(part, record)
            part.scheduler.finished(record)
        elif order in held or outcome is NOT_ATTEMPTED:
            held.add(order)
            back.setdefault(part, []).append(record)
        else:
            held.add(order)
            relay._go_on(part, record, outcome)
    for part, records in back.items():
        part.scheduler.put_back(records)
    for part in {item[0]: None for item in items}:
        part.done = part.scheduler.commit_offset
        relay._ready_again(part)


def _said(result) -> str:
    status = getattr(result, "status", None)
    return f"it answered HTTP {status}" if status is not None else "its answer was not a batch answer"
