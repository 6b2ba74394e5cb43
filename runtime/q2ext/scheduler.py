"""Which fetched record of a partition may be delivered next: per-key order, and the offset safe to commit.

The heart of the relay's ordering guarantee, as a plain class with no I/O, so it is tested without a broker:
- a key's records go in offset order: one record of a key is in flight at a time (next_ready), or a run of
  them in one POST (take); a retrying record keeps its key busy until it is finished, and records handed
  out but not attempted go back to the head of their key (put_back);
- records of different keys go concurrently, up to max_in_flight;
- the commit offset is the lowest offset not finished (a crash redelivers, never skips, anything waiting
  or in flight); with nothing unfinished it is the offset after the last record added;
- a record below what was added already (a refetch after a seek or rebalance) is never queued twice.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Hashable, Iterable
from typing import Any, Protocol


class Record(Protocol):
    """What the scheduler needs of a Kafka record (aiokafka's ConsumerRecord has it)."""

    offset: int
    key: Any


def key_of(record: Record) -> Hashable:
    """A record's ordering key; a record without one has no order to keep, so it is a key of its own."""
    return record.key if record.key is not None else record.offset


def not_seen(records: list, next_offset: int | None) -> list:
    """The records at or above next_offset: anything below was fetched already (delivered or queued)."""
    if next_offset is None or not records or records[0].offset >= next_offset:
        return records
    return [r for r in records if r.offset >= next_offset]


class KeyScheduler:
    """The fetched records of one partition, by key: what may go now, and how far delivery got.

    next_ready() hands out one record at a time; a sender that carries several records in one POST calls
    take(), which hands out every waiting record of each idle key (oldest first) until the POST is full.
    finished(), released() or put_back() per record then; a key is idle again once all of its are.
    """

    def __init__(self, max_in_flight: int = 16) -> None:
        self.max_in_flight = max(1, max_in_flight)
        self.in_flight = 0  # records handed out and not finished or released
        self.pending = 0  # records added and not finished (waiting, in flight, or released to come again)
        self.next_offset: int | None = None  # the offset after the last record added
        self._waiting: dict[Hashable, deque] = {}  # per key, its records not yet handed out, in offset order
        self._ready: deque[Hashable] = deque()  # keys whose next record may go now (none of theirs in flight)
        self._busy: dict[Hashable, int] = {}  # keys with records in flight: how many
        self._unfinished: list[int] = []  # heap of the offsets added...
        self._finished: set[int] = set()  # ...minus these (removed from the heap lazily)

    def add(self, records: Iterable[Record]) -> int:
        """Queue fetched records (in offset order); how many were dropped as already added before."""
        records = list(records)
        fresh = not_seen(records, self.next_offset)
        for record in fresh:
            heapq.heappush(self._unfinished, record.offset)
            self.pending += 1
            key = key_of(record)
            waiting = self._waiting.get(key)
            if waiting is None:
                self._waiting[key] = deque((record,))
                if key not in self._busy:
                    self._ready.append(key)
            else:
                waiting.append(record)
        if fresh:
            self.next_offset = fresh[-1].offset + 1
        return len(records) - len(fresh)

    def next_ready(self) -> Record | None:
        """The next record that may go now (its key idle, a slot free), marked in flight; None if none may."""
        if not self._ready or self.in_flight >= self.max_in_flight:
            return None
        key = self._ready.popleft()
        waiting = self._waiting[key]
        record = waiting.popleft()
        if not waiting:
            del self._waiting[key]
        self._busy[key] = 1
        self.in_flight += 1
        return record

    def take(self, limit: int, max_bytes: int = 0, size=None) -> list[Record]:
        """Up to limit records (and max_bytes by size(record), 0: any) that may go now in one POST: each idle
        key's waiting records in offset order, key after key; at least one if any may go."""
        out: list[Record] = []
        total = 0
        ready, waiting_of, busy = self._ready, self._waiting, self._busy
        while ready and len(out) < limit and self.in_flight < self.max_in_flight:
            key = ready[0]
            waiting = waiting_of[key]
            taken = 0
            while waiting and len(out) < limit and self.in_flight < self.max_in_flight:
                if max_bytes and size is not None:
                    total += size(waiting[0])
                    if out and total > max_bytes:
                        break
                out.append(waiting.popleft())
                taken += 1
                self.in_flight += 1
            if not taken:
                break
            busy[key] = taken
            ready.popleft()
            if not waiting:
                del waiting_of[key]
            if len(out) < limit and waiting:  # stopped inside a key: the POST is full
                break
        return out

    def put_back(self, records: list[Record]) -> None:
        """Records handed out and not attempted (in offset order): they go again first, in the same order."""
        for record in reversed(records):
            key = key_of(record)
            waiting = self._waiting.get(key)
            if waiting is None:
                self._waiting[key] = deque((record,))
            else:
                waiting.appendleft(record)
            self._free(record)

    def finished(self, record: Record) -> None:
        """The record was delivered or dead-lettered: its key may go on, and the commit offset may move."""
        self._free(record)
        self._finished.add(record.offset)
        self.pending -= 1

    def released(self, record: Record) -> None:
        """The record's delivery stopped unfinished (shutdown, rebalance): its offset stays uncommitted."""
        self._free(record)

    def _free(self, record: Record) -> None:
        key = key_of(record)
        self.in_flight -= 1
        left = self._busy.get(key, 1) - 1
        if left > 0:
            self._busy[key] = left
            return
        self._busy.pop(key, None)
        if key in self._waiting:
            self._ready.append(key)

    @property
    def commit_offset(self) -> int | None:
        """The next offset to commit: every record below it is finished. None before any record was added."""
        heap, finished = self._unfinished, self._finished
        while heap and heap[0] in finished:
            finished.discard(heapq.heappop(heap))
        return heap[0] if heap else self.next_offset
