"""Which message ids were already handled, so a redelivery or replay never runs handle() twice."""

from __future__ import annotations

import time
from collections import OrderedDict
from enum import Enum


class Claim(Enum):
    """The answer to 'may I handle this id now?'."""

    NEW = "new"  # go on, and call done() or release() after
    DONE = "done"  # handled already: acknowledge without handling
    BUSY = "busy"  # being handled right now elsewhere: ask the sender to retry


class MemorySeenIds:
    """Seen ids of this process, bounded by count and by age (oldest dropped first)."""

    def __init__(self, max_ids: int = 1_000_000, window_s: float = 24 * 3600) -> None:
        self.max_ids = max_ids
        self.window_s = window_s
        self._done: OrderedDict[str, float] = OrderedDict()
        self._busy: set[str] = set()

    def claim(self, msg_id: str) -> Claim:
        if msg_id in self._done:
            return Claim.DONE
        if msg_id in self._busy:
            return Claim.BUSY
        self._busy.add(msg_id)
        return Claim.NEW

    def done(self, msg_id: str) -> None:
        self._busy.discard(msg_id)
        now = time.monotonic()
        self._done[msg_id] = now
        self._trim(now)

    def release(self, msg_id: str) -> None:
        self._busy.discard(msg_id)

    def __len__(self) -> int:
        return len(self._done)

    def _trim(self, now: float) -> None:
        done = self._done
        while len(done) > self.max_ids:
            done.popitem(last=False)
        while done:
            oldest_id, seen_at = next(iter(done.items()))
            if now - seen_at <= self.window_s:
                break
            del done[oldest_id]

    def close(self) -> None:
        """Nothing to flush in memory."""
