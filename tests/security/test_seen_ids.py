"""The seen-id stores, SQLite (one host) and PostgreSQL (shared by hosts): the same rules, the same tests.

Tests taking `backend` run once per store; the PostgreSQL ones use the session's server (tests/conftest.py),
each test on a fresh schema. Tests of one store's own mechanics (SQLite's commits, PostgreSQL's round trips)
say so in their names.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import sqlite3

import pytest

from q2ext import services
from q2ext.dedup import Claim, MemorySeenIds, SqliteSeenIds, StoreDown
from q2ext.settings import Settings


@pytest.fixture
def db(tmp_path):
    return tmp_path / "seen.sqlite3"


class Backend:
    """Stores of one kind on one shared place (a SQLite file, a PostgreSQL schema); closes them all at the end."""

    def __init__(self, kind: str, where: str) -> None:
        self.kind, self.where = kind, where
        self.made: list = []

    def make(self, **options):
        if self.kind == "sqlite":
            store = SqliteSeenIds(self.where, **options)
        else:
            from q2ext.seen_pg import PostgresSeenIds

            store = PostgresSeenIds(self.where, **options)
        self.made.append(store)
        return store

    def row(self, msg_id: str):
        """(done, at, owner) of an id, read straight from the database."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.where) as con:
                return con.execute("SELECT done, at, owner FROM seen WHERE id = ?", (msg_id,)).fetchone()
        import psycopg

        with psycopg.connect(self.where) as con:
            found = con.execute("SELECT done, at, owner FROM q2ext_seen_ids WHERE id = %s", (msg_id,)).fetchone()
        return None if found is None else (int(found[0]), found[1], found[2])

    def kill(self, store) -> None:
        """As SIGKILL: the process is gone, nothing written or closed properly."""
        store.leases.close()
        if self.kind == "sqlite":
            store._db.close()
            store._db = None
        else:
            store._closed = True
            store._drop_blocking()

    def close(self) -> None:
        for store in self.made:
            with contextlib.suppress(Exception):  # a killed store
                store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, db):
    if request.param == "sqlite":
        chosen = Backend("sqlite", str(db))
    else:
        chosen = Backend("postgres", request.getfixturevalue("postgres").fresh_schema())
    yield chosen
    chosen.close()


@pytest.fixture
def store(backend):
    return backend.make()


SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # SQLite's own commit mechanics


def leased(backend, clock, **options):
    """A store on the test's clock whose leases are renewed only when the test says so."""
    return backend.make(clock=clock, renew_in_thread=False, lease_s=10, renew_s=3, **options)


def test_first_claim_is_new_and_a_second_is_busy(store):
    assert store.claim("a") is Claim.NEW
    assert store.claim("a") is Claim.BUSY


def test_claim_after_done_is_done(store):
    store.claim("a")
    store.done("a")
    assert store.claim("a") is Claim.DONE


def test_released_id_can_be_claimed_again(store):
    store.claim("a")
    store.release("a")
    assert store.claim("a") is Claim.NEW


def test_done_ids_survive_a_restart(backend):
    first = backend.make()
    first.claim("a")
    first.done("a")
    first.close()
    assert backend.make().claim("a") is Claim.DONE


def test_another_store_on_the_same_file_sees_claims_and_done_ids(backend, store):
    other = backend.make()
    store.claim("a")
    assert other.claim("a") is Claim.BUSY
    store.done("a")
    assert other.claim("a") is Claim.DONE


def test_release_never_drops_a_claim_made_by_another_store(backend, store):
    other = backend.make()
    store.claim("a")
    other.release("a")
    assert other.claim("a") is Claim.BUSY


def test_claim_of_a_crashed_process_is_free_once_its_lease_ends(backend, clock):
    crashed = leased(backend, clock)
    crashed.claim("a")  # and never done(), release() nor renewed: the process died
    survivor = leased(backend, clock)
    clock.now += 9.9
    assert survivor.claim("a") is Claim.BUSY
    clock.now += 0.2
    assert survivor.claim("a") is Claim.NEW


def test_a_renewed_claim_stays_busy_however_long_handle_runs(backend, clock):
    owner, other = leased(backend, clock), leased(backend, clock)
    owner.claim("a")
    for _ in range(100):  # 300 s of handle(), renewed every 3 s
        clock.now += 3
        assert owner.leases.renew_now() == 1
        assert other.claim("a") is Claim.BUSY


def test_a_claim_that_was_taken_over_is_not_renewed_by_its_old_owner(backend, clock):
    stalled, other = leased(backend, clock), leased(backend, clock)
    stalled.claim("a")
    clock.now += 11  # stalled missed its renewals: the lease ended
    assert other.claim("a") is Claim.NEW
    assert stalled.leases.renew_now() == 0
    clock.now += 9
    assert leased(backend, clock).claim("a") is Claim.BUSY  # still other's lease


def test_done_and_release_stop_renewing_a_claim(backend, clock):
    store = leased(backend, clock)
    store.claim("handled")
    store.claim("given-back")
    assert sorted(store.leases.held()) == ["given-back", "handled"]
    store.done("handled")
    store.release("given-back")
    assert store.leases.held() == []


def test_a_lease_renewal_thread_keeps_the_claim_of_a_live_process(backend):
    """The real thread (no injected clock): a claim outlives its lease because it is renewed."""
    import threading

    renewed = threading.Event()
    owner = backend.make(lease_s=0.5, renew_s=0.1)
    real_renew = owner.renew

    def renew(ids, until):
        count = real_renew(ids, until)
        if count:
            renewed.set()
        return count

    owner.renew = renew
    owner.claim("a")
    assert renewed.wait(60)
    assert backend.row("a")[2] == owner._owner


def test_a_restarted_process_takes_over_its_predecessors_claims_when_their_leases_end(backend, clock):
    before = leased(backend, clock)
    before.claim_many(["a", "b"])
    backend.kill(before)
    after = leased(backend, clock)
    assert after.claim_many(["a", "b"]) == [Claim.BUSY, Claim.BUSY]
    clock.now += 10.5
    assert after.claim_many(["a", "b"]) == [Claim.NEW, Claim.NEW]


def test_ids_older_than_the_window_are_pruned(backend, clock):
    seen = backend.make(window_s=60, clock=clock)
    seen.claim("old")
    seen.done("old")
    clock.now += 61
    seen.claim("new")
    seen.done("new")
    assert seen.prune() == 1
    assert len(seen) == 1


def test_store_keeps_at_most_max_ids_dropping_the_oldest_first(backend):
    seen = backend.make(max_ids=100, prune_every=50, cache_ids=0)
    for i in range(1000):
        seen.claim(f"id{i}")
        seen.done(f"id{i}")
    assert len(seen) <= 150
    assert seen.claim("id999") is Claim.DONE
    assert seen.claim("id0") is Claim.NEW


@SQLITE_ONLY
def test_sqlite_store_uses_write_ahead_logging_without_sync_on_commit(db, store):
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 0  # OFF: see SECURITY.md


def test_done_mark_is_on_disk_after_close(backend):
    seen = backend.make()
    seen.claim("a")
    seen.done("a")
    seen.close()
    assert backend.row("a")[0] == 1


def test_done_mark_waits_out_a_locked_database_and_is_written_with_the_next_commit(db):
    seen = SqliteSeenIds(db, busy_timeout_s=0.05)
    seen.claim("handled")
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock too long
    with pytest.raises(sqlite3.OperationalError):
        seen.done("handled")
    locker.execute("ROLLBACK")
    locker.close()
    seen.claim("next")
    other = SqliteSeenIds(db)
    assert other.claim("handled") is Claim.DONE
    other.close()
    seen.close()


def _claim_all(kind: str, where: str, ids: list[str], results) -> None:
    seen = Backend(kind, where).make()
    won = [msg_id for msg_id in ids if seen.claim(msg_id) is Claim.NEW]
    for msg_id in won:
        seen.done(msg_id)
    seen.close()
    results.put(won)


def test_processes_racing_for_the_same_ids_each_win_an_id_at_most_once(backend):
    ids = [f"race-{i}" for i in range(300)]
    results = multiprocessing.get_context("spawn").Queue()
    procs = [
        multiprocessing.get_context("spawn").Process(
            target=_claim_all, args=(backend.kind, backend.where, ids, results)
        )
        for _ in range(3)
    ]
    for proc in procs:
        proc.start()
    won = [msg_id for _ in procs for msg_id in results.get(timeout=60)]
    for proc in procs:
        proc.join(30)
    assert sorted(won) == sorted(ids)


@pytest.mark.parametrize("value", ["", ":memory:"])
def test_memory_store_is_chosen_only_when_no_file_is_set(value):
    assert isinstance(services.make_seen(Settings(SEEN_IDS_FILE=value)), MemorySeenIds)


def test_sqlite_store_covers_the_maximum_message_age(tmp_path):
    seen = services.make_seen(Settings(SEEN_IDS_FILE=str(tmp_path / "s.sqlite3")))
    assert isinstance(seen, SqliteSeenIds)
    assert seen.window_s == Settings().MAX_MESSAGE_AGE_SECONDS >= Settings().DELIVERY_TOLERANCE_SECONDS
    assert seen.leases.lease_s == Settings().SEEN_IDS_LEASE_SECONDS == 10
    assert seen.leases.renew_s == 3
    seen.close()


def commits_during(store, action) -> int:
    """How many COMMITs the store's connection ran during action()."""
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    try:
        action()
    finally:
        store._db.set_trace_callback(None)
    return sum(1 for s in statements if s.strip().upper() == "COMMIT")


@SQLITE_ONLY
def test_sqlite_claims_made_in_one_event_loop_turn_share_one_commit(store):
    async def claim_together():
        return await asyncio.gather(*(store.claim_soon(f"id-{i}") for i in range(20)))

    answers: list = []
    assert commits_during(store, lambda: answers.extend(asyncio.run(claim_together()))) == 1
    assert answers == [Claim.NEW] * 20


@SQLITE_ONLY
def test_sqlite_with_a_gather_window_claims_of_later_turns_join_the_same_commit(store):
    store.gather_s = 3600  # the window never ends by itself here: the test ends it, as its timer would

    async def claim_over_turns():
        first = asyncio.ensure_future(store.claim_soon("early"))
        await asyncio.sleep(0)  # a later event-loop turn, inside the window
        second = asyncio.ensure_future(store.claim_soon("late"))
        while len(store._queued) < 2:
            await asyncio.sleep(0)
        store._claim_queued()  # the gather timer fires
        return await asyncio.gather(first, second)

    answers: list = []
    assert commits_during(store, lambda: answers.extend(asyncio.run(claim_over_turns()))) == 1
    assert answers == [Claim.NEW, Claim.NEW]


def test_the_same_id_twice_in_one_turn_is_new_then_busy(store):
    async def twice():
        return await asyncio.gather(store.claim_soon("x"), store.claim_soon("x"))

    assert asyncio.run(twice()) == [Claim.NEW, Claim.BUSY]


@SQLITE_ONLY
def test_sqlite_while_claims_flow_done_marks_ride_on_their_commits_then_are_written_when_they_pause(db, store):
    store.flush_s = 3600  # the flush timer is fired by the test below, as the clock would after a pause

    async def handle_ten():
        for index in range(10):
            assert await store.claim_soon(f"id-{index}") is Claim.NEW
            store.done(f"id-{index}")
        store._flush_if_quiet(store._commits - 1)  # the timer fires while claims still commit: no commit
        store._flush_if_quiet(store._commits)  # ... and once they paused: one commit with the last mark

    assert commits_during(store, lambda: asyncio.run(handle_ten())) == 11  # ten claims, one flush
    other = SqliteSeenIds(db)
    assert other.claim("id-9") is Claim.DONE
    other.close()


@SQLITE_ONLY
def test_sqlite_a_done_mark_is_written_even_after_the_loop_its_timer_was_on_closed(db, store):
    async def handle(msg_id: str) -> None:
        await store.claim_soon(msg_id)
        store.done(msg_id)

    asyncio.run(handle("first"))  # its flush timer never fires: the loop is gone
    asyncio.run(handle("second"))  # carries the first mark; its own needs a timer on this loop
    other = SqliteSeenIds(db)

    async def pause() -> None:
        store.done("third")
        for _ in range(30_000):  # the timer writes it once the claims pause: wait for that, up to 30 s and more
            if not store._pending:
                return
            await asyncio.sleep(0.001)

    asyncio.run(pause())
    assert [other.claim(i) for i in ("first", "second", "third")] == [Claim.DONE] * 3
    other.close()


@SQLITE_ONLY
def test_sqlite_a_batch_of_ids_is_claimed_in_one_commit(store):
    store.claim("seen")
    store.done("seen")
    store.flush()
    answers: list = []
    assert commits_during(store, lambda: answers.extend(store.claim_many(["a", "seen", "b", "a"]))) == 1
    assert answers == [Claim.NEW, Claim.DONE, Claim.NEW, Claim.BUSY]


def test_sqlite_a_claim_on_a_database_locked_too_long_raises_store_down(db):
    seen = SqliteSeenIds(db, busy_timeout_s=0.05)
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock too long
    try:
        with pytest.raises(StoreDown, match="database is locked"):
            seen.claim("a")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert seen.claim("a") is Claim.NEW
    seen.close()
