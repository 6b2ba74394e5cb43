"""Seen message ids in PostgreSQL: one store shared by the handler processes of every host (SEEN_IDS_URL).

The same rules as the SQLite store (dedup.SqliteSeenIds): a claim is one atomic upsert, so two processes on
any hosts never both get NEW for an id; a claim is a lease (lease.py) its owner renews while handle() runs,
compared on the database server's clock, so a crashed owner's claims free up within lease_s; done() marks
and release()s ride on the next round trip; bounded by age (window_s) and count (max_ids).
Claims that arrive while a round trip is out wait and go together in the next one (one statement carries
the pending marks, releases and claims), so under load the store costs a round trip per batch of
deliveries, not per message. The table is created on first use (seen_pg_sql.SCHEMA; docs/deploy.md in a project).
If the server cannot be reached, every call raises dedup.StoreDown: the handler answers 503 (retryable).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

from .dedup import Claim, DoneCache, StoreDown, prune_due
from .lease import LEASE_S, RENEW_S, LeaseKeeper, owner_id
from .seen_pg_sql import LOCK_KEY, PRUNE, RENEW, ROUND_TRIP, SCHEMA, SESSION, TABLE

log = logging.getLogger("q2ext.dedup")
ROUND_TRIP_TIMEOUT_S = 30.0  # a round trip with no answer this long (a peer gone silent) fails: 503, retried
Marks = list[tuple[str, float | None]]


class PostgresSeenIds:
    """Seen ids in one PostgreSQL table shared by every handler process on every host."""

    def __init__(
        self,
        url: str,
        max_ids: int = 1_000_000,
        window_s: float = 7 * 24 * 3600,
        lease_s: float = LEASE_S,
        renew_s: float = RENEW_S,
        prune_every: int = 1_000,
        cache_ids: int = 20_000,
        flush_s: float = 0.005,
        timeout_s: float = 3.0,
        clock: Callable[[], float] | None = None,
        renew_in_thread: bool = True,
    ) -> None:
        self.url = url
        self.max_ids = max_ids
        self.window_s = window_s
        self.prune_every = prune_every
        self.flush_s = flush_s
        self.timeout_s = timeout_s  # a call waits this long for a connection (then StoreDown: 503)
        self.clock = clock  # None: the database server's clock (one clock for every host); tests inject one
        self.round_trips = 0  # statements sent so far (what "claims share a round trip" is measured by)
        self._owner = owner_id()
        self.leases = LeaseKeeper(self, lease_s, renew_s, clock or _no_clock, thread=renew_in_thread)
        self._lock = threading.Lock()  # the blocking connection: the lease thread and blocking callers share it
        self._conn: psycopg.Connection | None = None
        self._aconn: psycopg.AsyncConnection | None = None  # the sender's connection...
        self._aconn_loop: asyncio.AbstractEventLoop | None = None  # ...and the event loop it belongs to
        self._schema_ready = False
        self._done_cache = DoneCache(cache_ids)
        self._marks: Marks = []  # done() marks not written yet
        self._releases: list[str] = []  # release()s not written yet
        self._queued: list[tuple[str, asyncio.Future]] = []
        self._sender: asyncio.Task | None = None
        self._kick_on: asyncio.AbstractEventLoop | None = None  # the loop a flush timer is due on
        self._claims = 0
        self._closed = False

    # ------------------------------------------------------------------ claims

    def claim(self, msg_id: str) -> Claim:
        return self.claim_many([msg_id])[0]

    def claim_many(self, msg_ids: list[str]) -> list[Claim]:
        """Claim several ids in one round trip, blocking (tests, tools); the handler uses the async calls."""
        answers: list[Claim | None] = [Claim.DONE if i in self._done_cache else None for i in msg_ids]
        asked = [i for i, a in zip(msg_ids, answers, strict=True) if a is None]
        if not asked:
            return answers  # type: ignore[return-value]
        before = self._claims
        answers = self._settle(msg_ids, answers, self._run_blocking(asked))
        self._prune_now_and_then(before)
        return answers

    async def claim_soon(self, msg_id: str) -> Claim:
        """claim(), sent with every other claim (and pending mark) that arrived before the next round trip."""
        if msg_id in self._done_cache:
            return Claim.DONE
        future = asyncio.get_running_loop().create_future()
        self._queued.append((msg_id, future))
        self._start_sender()
        return await future

    async def claim_batch(self, msg_ids: list[str]) -> list[Claim]:
        """The claims of a batch POST: all in one round trip (with whatever else is waiting for it)."""
        results = await asyncio.gather(*(self.claim_soon(i) for i in msg_ids), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return list(results)  # type: ignore[arg-type]

    def _settle(self, msg_ids: list[str], answers: list[Claim | None], rows: list[tuple[str, bool]]) -> list[Claim]:
        """Turn the claim statement's rows into an answer per id (the same id twice: NEW, then BUSY)."""
        new = {i for i, is_new in rows if is_new}
        done = {i for i, is_new in rows if not is_new}
        out: list[Claim] = []
        for msg_id, answer in zip(msg_ids, answers, strict=True):
            if answer is None:
                if msg_id in new:
                    new.discard(msg_id)
                    answer = Claim.NEW
                    self.leases.hold(msg_id)
                    self._claims += 1
                elif msg_id in done:
                    answer = Claim.DONE
                    self._done_cache.add(msg_id)
                else:
                    answer = Claim.BUSY
            out.append(answer)
        return out

    # ------------------------------------------------------------------ done, release, renew

    def done(self, msg_id: str) -> None:
        """Mark handled: remembered at once, written with the next round trip (or flush_s after they pause)."""
        self._done_cache.add(msg_id)
        self.leases.drop(msg_id)
        self._marks.append((msg_id, self.clock() if self.clock else None))
        self._write_soon()

    def release(self, msg_id: str) -> None:
        """Give a claim back (handle() raised or asked to retry): written with the next round trip."""
        self.leases.drop(msg_id)
        self._releases.append(msg_id)
        self._write_soon()

    def renew(self, msg_ids: list[str], until: float) -> int:
        """Extend this owner's leases (LeaseKeeper's thread) to the server's now + lease_s (a test clock: until)."""
        params = self._params(ids=msg_ids, until=until if self.clock else None, lease=self.leases.lease_s)
        with self._blocking_conn() as conn:
            return conn.execute(RENEW, params).rowcount

    def flush(self) -> None:
        """Write pending done() marks and releases now (blocking)."""
        if self._marks or self._releases:
            self._run_blocking([])

    def __len__(self) -> int:
        self.flush()
        with self._blocking_conn() as conn:
            return conn.execute(f"SELECT count(*) FROM {TABLE} WHERE done").fetchone()[0]

    def prune(self) -> int:
        """Drop ids older than the window, then the oldest beyond max_ids; returns how many went."""
        params = self._params(window=self.window_s, max_ids=self.max_ids)
        with self._blocking_conn() as conn, conn.transaction():
            removed = sum(conn.execute(sql, params).rowcount for sql in PRUNE)
        if removed:
            log.debug("pruned %d seen ids from PostgreSQL", removed)
        return removed

    def close(self) -> None:
        """Write what is pending, stop renewing, close the connections (the table stays)."""
        self.leases.close()
        self._closed = True
        try:
            self.flush()
        except StoreDown as exc:
            log.warning("seen-id store: %d done mark(s) not written at close: %s", len(self._marks), exc)
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        self._close_async()

    # ------------------------------------------------------------------ round trips

    def _split(self, claims: list[str]) -> tuple[dict, int]:
        """Take the waiting marks and releases for a round trip with these claims; its parameters, and how many claim.

        An id both claimed and marked or released in one trip (a redelivery that arrived while its handle() ran)
        waits with its mark or release for the next trip: one statement may change a row once. Until then the
        claim finds this process's own live claim: BUSY, and the sender retries.
        """
        ids = list(dict.fromkeys(claims))  # one upsert may touch a row once
        wanted = set(ids)
        marks, releases = self._take_pending()
        latest = {i: at for i, at in marks if i not in wanted}  # an id marked twice: one row
        freed = [i for i in dict.fromkeys(releases) if i not in wanted and i not in latest]
        self._restore([(i, at) for i, at in marks if i in wanted], [i for i in releases if i in wanted or i in latest])
        params = self._params(
            marks=list(latest), ats=list(latest.values()), releases=freed, ids=ids, lease=self.leases.lease_s
        )
        return params, len(ids)

    def _params(self, **values) -> dict:
        return {"now": self.clock() if self.clock else None, "owner": self._owner, **values}

    def _run_blocking(self, claims: list[str]) -> list[tuple[str, bool]]:
        """One round trip on the blocking connection; the claim rows."""
        with self._blocking_conn() as conn:
            params, _ = self._split(claims)
            try:
                rows = conn.execute(ROUND_TRIP, params).fetchall()
            except psycopg.Error:
                self._give_back(params)
                raise
            self.round_trips += 1
        return rows

    async def _run_async(self, claims: list[str]) -> list[tuple[str, bool]]:
        """One round trip on the sender's connection; the claim rows."""
        params, _ = self._split(claims)
        try:
            conn = await self._async_connection()
            rows = await asyncio.wait_for(_fetch(conn, params), ROUND_TRIP_TIMEOUT_S)
        except BaseException as exc:
            self._give_back(params)
            if isinstance(exc, (psycopg.Error, OSError, asyncio.TimeoutError)):
                self._close_async()  # the next round trip connects again
                raise StoreDown(f"PostgreSQL seen-id store: {_short(exc)}") from exc
            raise
        self.round_trips += 1
        return rows

    async def _prune_async(self) -> None:
        """prune() on the sender's connection (no thread, no lock shared with the lease thread)."""
        params = self._params(window=self.window_s, max_ids=self.max_ids)
        try:
            conn = await self._async_connection()
            async with conn.transaction():
                for sql in PRUNE:
                    await conn.execute(sql, params)
        except psycopg.Error as exc:
            log.warning("could not prune the seen-id store: %s", _short(exc))
            self._close_async()

    async def _async_connection(self) -> psycopg.AsyncConnection:
        """The sender's connection, made on first use on this event loop (and again after a failure).

        One connection, not a pool: the sender has one round trip out at a time. (psycopg_pool's background
        tasks also outlived event loops that ended, and hung asyncio.run() at its exit in the tests.)
        """
        loop = asyncio.get_running_loop()
        if self._aconn is not None and (self._aconn_loop is not loop or self._aconn.closed):
            self._close_async()
        if self._aconn is None:
            conn = await psycopg.AsyncConnection.connect(
                self.url, autocommit=True, connect_timeout=max(2, int(self.timeout_s))
            )
            try:
                await conn.execute(SESSION)
                if not self._schema_ready:
                    await _create_schema_async(conn)
                    self._schema_ready = True
            except BaseException:
                await conn.close()
                raise
            self._aconn, self._aconn_loop = conn, loop
        return self._aconn

    def _give_back(self, params: dict) -> None:
        """A round trip failed: its marks and releases wait for the next one."""
        self._restore(list(zip(params["marks"], params["ats"], strict=True)), params["releases"])

    def _start_sender(self) -> None:
        """Start the sender on this loop, unless one runs here already (one left on a closed loop does not count)."""
        loop = asyncio.get_running_loop()
        if self._sender is None or self._sender.done() or self._sender.get_loop() is not loop:
            self._sender = loop.create_task(self._send_loop())

    async def _send_loop(self) -> None:
        """Send what waits, one round trip at a time; what arrives meanwhile goes in the next one."""
        while (self._queued or self._marks or self._releases) and not self._closed:
            queued, self._queued = self._queued, []
            before = self._claims
            try:
                rows = await self._run_async([i for i, _ in queued])
                answers = self._settle([i for i, _ in queued], [None] * len(queued), rows) if queued else []
            except Exception as exc:  # noqa: BLE001 - every waiting delivery gets it: none may wait forever
                if not isinstance(exc, StoreDown):
                    log.exception("seen-id store round trip failed")
                    exc = StoreDown(f"PostgreSQL seen-id store: {_short(exc)}")
                log.warning("%s (%d claim(s) answered 503)", exc, len(queued))
                for _, future in queued:
                    if not future.done():
                        future.set_exception(exc)
                if not queued:  # only marks waited: try them again in a second, not in a tight loop
                    asyncio.get_running_loop().call_later(1.0, self._write_soon)
                return
            for (_, future), answer in zip(queued, answers, strict=True):
                if not future.done():
                    future.set_result(answer)
            if prune_due(before, self._claims, self.prune_every):
                await self._prune_async()

    def _write_soon(self) -> None:
        """Write pending marks/releases flush_s from now unless a round trip carries them first; no loop: now."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if self._kick_on is loop and not loop.is_closed():
            return
        self._kick_on = loop
        loop.call_later(self.flush_s, self._kick)

    def _kick(self) -> None:
        self._kick_on = None
        if self._marks or self._releases:
            self._start_sender()

    def _prune_now_and_then(self, before: int) -> None:
        """prune() once the claims passed another multiple of prune_every since before (the count then)."""
        if prune_due(before, self._claims, self.prune_every):
            self.prune()

    # ------------------------------------------------------------------ connections

    @contextmanager
    def _blocking_conn(self) -> Iterator[psycopg.Connection]:
        """The blocking connection, under the lock; a database error drops it (the next call connects again)
        and is raised as StoreDown."""
        with self._lock:
            try:
                yield self._blocking()
            except psycopg.Error as exc:
                self._drop_blocking()
                raise StoreDown(f"PostgreSQL seen-id store: {_short(exc)}") from exc

    def _blocking(self) -> psycopg.Connection:
        """The blocking connection (under self._lock), made on first use with the schema."""
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=max(1, int(self.timeout_s)))
            self._conn.execute(SESSION)
            if not self._schema_ready:
                with self._conn.transaction():
                    self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                    self._conn.execute(SCHEMA)
                self._schema_ready = True
        return self._conn

    def _drop_blocking(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _close_async(self) -> None:
        """Drop the sender's connection: closed on its loop if that loop still runs, else with the object."""
        conn, self._aconn = self._aconn, None
        if conn is None or conn.closed:
            return
        loop = self._aconn_loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is running:
            running.create_task(conn.close())
        elif loop is not None and not loop.is_closed() and not loop.is_running():
            loop.run_until_complete(conn.close())

    # ------------------------------------------------------------------ bookkeeping

    def _take_pending(self) -> tuple[Marks, list[str]]:
        marks, self._marks = self._marks, []
        releases, self._releases = self._releases, []
        return marks, releases

    def _restore(self, marks: Marks, releases: list[str]) -> None:
        """A round trip failed: its marks and releases wait for the next one."""
        self._marks = marks + self._marks
        self._releases = releases + self._releases


async def _fetch(conn: psycopg.AsyncConnection, params: dict) -> list[tuple[str, bool]]:
    cursor = await conn.execute(ROUND_TRIP, params)
    return await cursor.fetchall()


async def _create_schema_async(conn: psycopg.AsyncConnection) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        await conn.execute(SCHEMA)


def _no_clock() -> float:
    """LeaseKeeper's clock when the server keeps time: renew() ignores the until it computes."""
    return 0.0


def _short(exc: BaseException) -> str:
    """An error's first line (libpq's messages run to several)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
