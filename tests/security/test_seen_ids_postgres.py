"""The PostgreSQL seen-id store's own mechanics (the rules it shares with SQLite are in test_seen_ids.py).

Round trips: claims that arrive together, and the done marks and releases waiting, share one pipeline.
Store down: a claim raises StoreDown, the handler answers 503 (retry) and never calls handle() without a claim.
Several hosts: one sealed message POSTed once to each of two handler processes runs handle() twice with a SQLite
file each, and once with the shared store.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from pg_local import LocalPostgres

from q2ext import batch, delivery, services
from q2ext.dedup import Claim, StoreDown
from q2ext.seen_pg import PostgresSeenIds
from q2ext.settings import Settings

from .conftest import handled_ids, make_services, post, serve_in_thread, settings_for


def free_port() -> int:
    from q2ext.broker import free_port as free

    return free()


@pytest.fixture
def pg_store(postgres):
    store = PostgresSeenIds(postgres.fresh_schema())
    yield store
    store.close()


def test_postgres_claims_made_in_one_event_loop_turn_share_one_round_trip(pg_store):
    async def claim_together():
        return await asyncio.gather(*(pg_store.claim_soon(f"id-{i}") for i in range(50)))

    before = pg_store.round_trips
    assert asyncio.run(claim_together()) == [Claim.NEW] * 50
    assert pg_store.round_trips - before == 1


def test_postgres_claims_arriving_during_a_round_trip_share_the_next_one(pg_store):
    async def in_two_waves():
        first = asyncio.ensure_future(pg_store.claim_soon("first"))
        while pg_store._sender is None or pg_store._queued:  # until the first round trip is out
            await asyncio.sleep(0)
        later = [asyncio.ensure_future(pg_store.claim_soon(f"later-{i}")) for i in range(30)]
        return await asyncio.gather(first, *later)

    before = pg_store.round_trips
    assert asyncio.run(in_two_waves()) == [Claim.NEW] * 31
    assert pg_store.round_trips - before == 2


def test_postgres_done_marks_and_releases_ride_on_the_next_claims_round_trip(postgres):
    store = PostgresSeenIds(postgres.fresh_schema(), flush_s=3600)  # no flush timer: only a claim carries them

    async def handle_two_then_claim():
        assert await store.claim_soon("handled") is Claim.NEW
        assert await store.claim_soon("given-back") is Claim.NEW
        store.done("handled")
        store.release("given-back")
        before = store.round_trips
        assert await store.claim_soon("next") is Claim.NEW
        return store.round_trips - before

    assert asyncio.run(handle_two_then_claim()) == 1
    other = PostgresSeenIds(store.url)
    assert other.claim_many(["handled", "given-back"]) == [Claim.DONE, Claim.NEW]
    other.close()
    store.close()


def test_postgres_a_batch_of_ids_is_claimed_in_one_round_trip(pg_store):
    pg_store.claim("seen")
    pg_store.done("seen")
    pg_store._done_cache.clear()  # ask the database, not this process's memory
    before = pg_store.round_trips
    assert asyncio.run(pg_store.claim_batch(["a", "seen", "b", "a"])) == [Claim.NEW, Claim.DONE, Claim.NEW, Claim.BUSY]
    assert pg_store.round_trips - before == 1


def test_postgres_table_is_created_on_first_use_as_documented(postgres):
    import psycopg

    url = postgres.fresh_schema()
    PostgresSeenIds(url).close()  # made, never used: no table yet
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('q2ext_seen_ids')").fetchone() == (None,)
    store = PostgresSeenIds(url)
    store.claim("a")
    store.close()
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'q2ext_seen_ids' "
            "AND table_schema = current_schema() ORDER BY ordinal_position"
        ).fetchall()
    assert [c for (c,) in columns] == ["n", "id", "done", "at", "owner"]


def test_seen_ids_url_chooses_the_postgres_store(postgres):
    seen = services.make_seen(Settings(SEEN_IDS_URL=postgres.url))
    assert isinstance(seen, PostgresSeenIds)
    assert seen.window_s == Settings().MAX_MESSAGE_AGE_SECONDS and seen.leases.lease_s == 10
    seen.close()


def test_a_seen_ids_url_that_is_not_postgresql_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="must start with postgresql://"):
        services.make_seen(Settings(SEEN_IDS_URL="mysql://db/q2ext"))


def test_the_store_says_where_it_is_without_the_password_of_its_url(caplog):
    caplog.set_level(logging.DEBUG, logger="q2ext")

    seen = services.make_seen(Settings(SEEN_IDS_URL="postgresql://q2:s3cret-pw@db.example:5432/q2ext"))
    seen.close()  # nothing was claimed: no connection was ever made

    assert "PostgreSQL on db.example" in caplog.text
    assert "s3cret-pw" not in caplog.text


def test_claims_raise_store_down_while_the_server_is_stopped_and_work_again_after():
    with LocalPostgres() as server:
        store = PostgresSeenIds(server.url, timeout_s=1)

        async def claim(msg_id: str) -> Claim:
            return await store.claim_soon(msg_id)

        assert asyncio.run(claim("before")) is Claim.NEW
        store.done("before")  # no loop: written now
        server.stop()
        with pytest.raises(StoreDown):
            asyncio.run(claim("during"))
        with pytest.raises(StoreDown):
            store.claim("during")
        server.start()
        assert asyncio.run(claim("during")) is Claim.NEW
        assert store.claim("before") is Claim.DONE
        store.close()


def test_store_down_is_answered_503_with_retry_after_and_handle_never_runs(tmp_path, ring, seal):
    down = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"  # nothing listens there
    running = serve_in_thread(make_services(settings_for(tmp_path, SEEN_IDS_URL=down), ring))
    running.services.seen.timeout_s = 1
    try:
        sealed = seal()
        status, answer = running.deliver(sealed)
    finally:
        running.stop()
    assert status == 503 and answer["retry_after"] == 2
    assert "seen-id store unavailable" in answer["error"]
    assert running.services.handled == []


def test_store_down_answers_each_record_of_a_batch_503_and_handle_never_runs(tmp_path, ring, seal):
    down = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    running = serve_in_thread(make_services(settings_for(tmp_path, SEEN_IDS_URL=down), ring))
    running.services.seen.timeout_s = 1
    records = [seal(f"m{i}") for i in range(3)]
    body = batch.encode(({**s.headers, "q2msg-attempt": "1"}, s.body) for s in records)
    try:
        status, answer = running.post(delivery.sign_batch(body, ring.delivery), body)
    finally:
        running.stop()
    assert status == 200 and [r["status"] for r in answer["results"]] == [503, 503, 503]
    assert running.services.handled == []


@pytest.mark.parametrize(("shared", "handled"), [(False, 2), (True, 1)], ids=["sqlite-file-each", "shared-postgres"])
def test_one_message_posted_once_to_each_of_two_hosts_is_handled_once_only_with_the_shared_store(
    spawn, tmp_path, seal, ring, postgres, shared, handled
):
    url = postgres.fresh_schema() if shared else ""
    hosts = [spawn(Q2EXT_SEEN_IDS_FILE=str(tmp_path / f"host{n}.sqlite3"), Q2EXT_SEEN_IDS_URL=url) for n in (1, 2)]
    sealed = seal()
    headers = delivery.sign(sealed.headers, ring.delivery)
    answers = [post(host.port, headers, sealed.body) for host in hosts]
    assert [status for status, _ in answers] == [200, 200]
    assert handled_ids(tmp_path) == [sealed.headers["q2msg-id"]] * handled
