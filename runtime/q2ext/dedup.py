"""Which message ids were already handled, so a redelivery or replay never runs handle() twice."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager
from enum import Enum
from pathlib import Path

from .lease import LEASE_S, RENEW_S, LeaseKeeper, owner_id

log = logging.getLogger("q2ext.dedup")


class Claim(Enum):
    """The answer to 'may I handle this id now?'."""

    NEW = "new"  # go on, and call done() or release() after
    DONE = "done"  # handled already: acknowledge without handling
    BUSY = "busy"  # being handled right now elsewhere: ask the sender to retry


class StoreDown(Exception):
    """The seen-id store cannot be reached or written now: the delivery is answered 503, and the sender retries."""

    RETRY_AFTER_S = 2  # the 503's Retry-After: no handle() without a claim, so the sender waits and retries


class DoneCache(OrderedDict):
    """The ids this process saw handled last (at most size): a redelivery of one is DONE without asking the store."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def add(self, msg_id: str) -> None:
        self[msg_id] = None
        if len(self) > self.size:
            self.popitem(last=False)


def prune_due(claims_before: int, claims_now: int, every: int) -> bool:
    """True when the claims count passed another multiple of every: a store prunes then, not per message."""
    return claims_before // every != claims_now // every


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

    def claim_many(self, msg_ids: list[str]) -> list[Claim]:
        return [self.claim(msg_id) for msg_id in msg_ids]

    async def claim_soon(self, msg_id: str) -> Claim:
        return self.claim(msg_id)

    async def claim_batch(self, msg_ids: list[str]) -> list[Claim]:
        return self.claim_many(msg_ids)

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


_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    n INTEGER PRIMARY KEY,          -- claim order: pruning drops the lowest first
    id TEXT NOT NULL UNIQUE,
    done INTEGER NOT NULL,          -- 0 = claimed (being handled), 1 = handled
    at REAL NOT NULL,               -- claimed: wall-clock end of its lease; handled: when done() ran
    owner TEXT NOT NULL             -- the claiming process (lease.owner_id), so only it renews or releases it
)
"""
# One statement claims atomically: insert a new id, or take over a claim whose lease ended (its owner is gone).
_CLAIM = (
    "INSERT INTO seen (id, done, at, owner) VALUES (?1, 0, ?2, ?3) "
    "ON CONFLICT (id) DO UPDATE SET at = ?2, owner = ?3 WHERE done = 0 AND at < ?4"
)
_RENEW = "UPDATE seen SET at = ? WHERE id = ? AND owner = ? AND done = 0"
_DONE = "INSERT INTO seen (id, done, at, owner) VALUES (?1, 1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET done = 1, at = ?2"


class SqliteSeenIds:
    """Seen ids in a SQLite file shared by the handler processes of a project; survives restarts.

    claim() is one atomic upsert, so two processes never both get NEW for an id. A claim is a lease
    (lease.py): this process renews it every renew_s until done() or release(); a claim whose lease
    ended (its owner crashed) is free, so a crash blocks its ids for lease_s, not longer.
    done() is written with the next claim, in the same commit (or flush_s after the
    claims pause): one commit per message instead of two, since a commit costs far more than
    a statement (see bench/). Claims made in one event-loop turn share a commit (claim_soon). Pruning by
    age and count runs every prune_every claims, not per message. synchronous=OFF: a commit survives a
    process crash, only a power loss may drop the last ids (SECURITY.md); NORMAL cost 3x per commit here.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        max_ids: int = 1_000_000,
        window_s: float = 7 * 24 * 3600,
        lease_s: float = LEASE_S,
        renew_s: float = RENEW_S,
        prune_every: int = 1_000,
        cache_ids: int = 20_000,
        flush_s: float = 0.005,
        busy_timeout_s: float = 10.0,
        gather_s: float = 0.0,
        clock: Callable[[], float] = time.time,
        renew_in_thread: bool = True,
    ) -> None:
        self.path = Path(path)
        self.max_ids = max_ids
        self.window_s = window_s
        self.clock = clock  # wall-clock seconds (leases are compared across processes); tests inject one
        self.prune_every = prune_every
        self.flush_s = flush_s
        self.gather_s = gather_s  # how long the first claim waits for others to share its commit
        self._owner = owner_id()
        self.leases = LeaseKeeper(self, lease_s, renew_s, clock, thread=renew_in_thread)
        self._lock = threading.RLock()  # one connection, maybe used from a test's server thread
        self._done_cache = DoneCache(cache_ids)
        self._pending: list[tuple[str, float, str]] = []
        self._queued: list[tuple[str, asyncio.Future]] = []
        self._claims = 0
        self._commits = 0  # commits so far: the flush timer skips its own while claims keep committing
        self._flush_on: asyncio.AbstractEventLoop | None = None  # the loop a flush_s timer is due on
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))  # private; SQLite gives -wal/-shm its mode
        self._db = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
        _wal(self._db, busy_timeout_s)
        self._db.execute("PRAGMA synchronous=OFF")  # see the class docstring
        self._db.execute(_SCHEMA)
        self.prune()

    def claim(self, msg_id: str) -> Claim:
        return self.claim_many([msg_id])[0]

    def claim_many(self, msg_ids: list[str]) -> list[Claim]:
        """Claim several ids in one commit (a batch POST, or the claims gathered by claim_soon)."""
        answers: list[Claim | None] = [Claim.DONE if i in self._done_cache else None for i in msg_ids]
        if all(answers):
            return answers  # type: ignore[return-value]
        now = self.clock()
        try:
            with self._lock, self._transaction():
                for index, msg_id in enumerate(msg_ids):
                    if answers[index] is None:
                        answers[index] = self._claim_one(msg_id, now)
        except sqlite3.OperationalError as exc:  # locked past busy_timeout_s, disk full, ...: retryable
            raise StoreDown(f"SQLite seen-id store {self.path}: {exc}") from exc
        claimed = 0
        for msg_id, answer in zip(msg_ids, answers, strict=True):
            if answer is Claim.NEW:  # committed: renew its lease from now until done() or release()
                self.leases.hold(msg_id)
                claimed += 1
        before, self._claims = self._claims, self._claims + claimed
        if prune_due(before, self._claims, self.prune_every):
            self.prune()
        return answers  # type: ignore[return-value]

    async def claim_soon(self, msg_id: str) -> Claim:
        """claim(), grouped with the other claims of this event-loop turn (or of gather_s) into one commit.

        A commit costs far more than a statement (~30-80 us here); under concurrent deliveries this shares it.
        gather_s > 0 waits that long for more claims; measured with the rest of the handler's path, a 1 ms wait
        cost more (timer wake-ups, +3 ms p50) than the commits it saved, so the default is the same turn.
        """
        if msg_id in self._done_cache:
            return Claim.DONE
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queued.append((msg_id, future))
        if len(self._queued) == 1:
            if self.gather_s > 0:
                loop.call_later(self.gather_s, self._claim_queued)
            else:
                loop.call_soon(self._claim_queued)
        return await future

    async def claim_batch(self, msg_ids: list[str]) -> list[Claim]:
        """The claims of a batch POST: one commit."""
        return self.claim_many(msg_ids)

    def _claim_queued(self) -> None:
        queued, self._queued = self._queued, []
        try:
            answers = self.claim_many([msg_id for msg_id, _ in queued])
        except Exception as exc:  # noqa: BLE001 - every waiting delivery gets the error (-> 500, retried)
            for _, future in queued:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), answer in zip(queued, answers, strict=True):
            if not future.done():
                future.set_result(answer)

    def _claim_one(self, msg_id: str, now: float) -> Claim:
        """Inside a transaction: insert the claim, or say why not (handled already, or claimed elsewhere)."""
        if self._db.execute(_CLAIM, (msg_id, now + self.leases.lease_s, self._owner, now)).rowcount:
            return Claim.NEW
        row = self._db.execute("SELECT done FROM seen WHERE id = ?", (msg_id,)).fetchone()
        if row is not None and row[0]:
            self._done_cache.add(msg_id)
            return Claim.DONE
        return Claim.BUSY  # claimed elsewhere (or pruned a moment ago): the sender retries

    def renew(self, msg_ids: list[str], until: float) -> int:
        """Extend the leases of these claims of this process to end at until (LeaseKeeper calls it)."""
        with self._lock:
            if self._db is None:
                return 0
            with self._transaction():
                before = self._db.total_changes
                self._db.executemany(_RENEW, ((until, msg_id, self._owner) for msg_id in msg_ids))
                return self._db.total_changes - before

    def done(self, msg_id: str) -> None:
        self._done_cache.add(msg_id)
        self.leases.drop(msg_id)
        with self._lock:
            self._pending.append((msg_id, self.clock(), self._owner))
            if self._flush_on is not None and not self._flush_on.is_closed():
                return  # a flush is due on this loop
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop here: write now
            self.flush()
            return
        self._flush_on = loop
        loop.call_later(self.flush_s, self._flush_if_quiet, self._commits)

    def _flush_if_quiet(self, commits: int) -> None:
        """The flush_s timer: write the marks, unless claims committed meanwhile (the next one carries them).

        So while messages flow, the marks cost no commit of their own; once the claims pause, they are written.
        """
        with self._lock:
            if self._pending and self._commits != commits:
                self._flush_on.call_later(self.flush_s, self._flush_if_quiet, self._commits)
                return
            self._flush_on = None
        self.flush()

    def release(self, msg_id: str) -> None:
        self.leases.drop(msg_id)
        with self._lock, self._transaction():
            self._db.execute("DELETE FROM seen WHERE id = ? AND done = 0 AND owner = ?", (msg_id, self._owner))

    def flush(self) -> None:
        """Write pending done() marks now."""
        with self._lock:
            if self._pending and self._db is not None:
                with self._transaction():
                    pass

    def __len__(self) -> int:
        self.flush()
        with self._lock:
            return self._db.execute("SELECT count(*) FROM seen WHERE done = 1").fetchone()[0]

    def prune(self) -> int:
        """Drop ids older than the window, then the oldest beyond max_ids; returns how many went."""
        cutoff = self.clock() - self.window_s
        with self._lock, self._transaction():
            before = self._db.total_changes
            # Rows are in claim order: scan from the oldest and stop at the first one still in the window.
            fresh = self._db.execute("SELECT n FROM seen WHERE at >= ? ORDER BY n LIMIT 1", (cutoff,)).fetchone()
            self._db.execute("DELETE FROM seen WHERE n < ? AND at < ?", (fresh[0] if fresh else 2**62, cutoff))
            top = self._db.execute("SELECT max(n) FROM seen").fetchone()[0]
            if top is not None:
                self._db.execute("DELETE FROM seen WHERE n <= ?", (top - self.max_ids,))
            removed = self._db.total_changes - before
        if removed:
            log.debug("pruned %d seen ids from %s", removed, self.path)
        return removed

    def close(self) -> None:
        """Write what is pending and close the database (the file stays for the next start)."""
        self.leases.close()
        with self._lock:
            if self._db is not None:
                self.flush()
                self._db.close()
                self._db = None

    @contextmanager
    def _transaction(self):
        """One commit that also carries the pending done() marks."""
        pending, self._pending = self._pending, []
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._pending = pending + self._pending  # nothing began: the marks wait for the next commit
            raise
        try:
            if pending:
                self._db.executemany(_DONE, pending)
            yield
            self._db.execute("COMMIT")
            self._commits += 1
        except BaseException:
            self._db.execute("ROLLBACK")
            self._pending = pending + self._pending
            raise


def _wal(db: sqlite3.Connection, timeout_s: float) -> None:
    """Turn on WAL; processes opening a new file together can get 'locked' at once here (no busy handler)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
