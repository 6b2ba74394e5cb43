"""The PostgreSQL seen-id store's schema and statements (seen_pg.py runs them): SQL only, no I/O."""

TABLE = "q2ext_seen_ids"
# Created on first use, under a lock, so hosts starting together do not race for it.
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    n bigserial PRIMARY KEY,        -- claim order: pruning drops the lowest first
    id text NOT NULL UNIQUE,        -- the message id (q2msg-id)
    done boolean NOT NULL,          -- false = claimed (being handled), true = handled
    at double precision NOT NULL,   -- claimed: end of its lease; handled: when done() ran (server clock, epoch s)
    owner text NOT NULL             -- the claiming process (lease.owner_id): only it renews or releases it
)
"""
LOCK_KEY = 0x71326578  # pg_advisory_xact_lock key of the schema creation ('q2ex')
# The database server's clock, unless a test injected one (then %(now)s is its reading).
NOW = "coalesce(%(now)s::float8, extract(epoch from clock_timestamp()))"
# One statement per round trip: write the waiting done marks and releases, claim every id (insert it, or take
# over a claim whose lease ended: its owner is gone), and say which came back NEW and which are handled already
# (anything else is BUSY: claimed by a live owner). One statement, not a pipeline of three: measured here, a
# psycopg pipeline cost 2x the wall time and CPU of one statement. The three id lists never share an id (_split).
ROUND_TRIP = f"""
WITH marked AS (
    INSERT INTO {TABLE} AS s (id, done, at, owner)
    SELECT id, true, coalesce(at, {NOW}), %(owner)s
    FROM unnest(%(marks)s::text[], %(ats)s::float8[]) AS m(id, at) ORDER BY id
    ON CONFLICT (id) DO UPDATE SET done = true, at = excluded.at
), released AS (
    DELETE FROM {TABLE} WHERE id = ANY(%(releases)s::text[]) AND owner = %(owner)s AND NOT done
), claimed AS (
    INSERT INTO {TABLE} AS s (id, done, at, owner)
    SELECT id, false, {NOW} + %(lease)s, %(owner)s FROM unnest(%(ids)s::text[]) AS id ORDER BY id
    ON CONFLICT (id) DO UPDATE SET at = excluded.at, owner = excluded.owner
    WHERE s.done = false AND s.at < {NOW}
    RETURNING s.id
)
SELECT id, true FROM claimed
UNION ALL SELECT id, false FROM {TABLE} WHERE id = ANY(%(ids)s::text[]) AND done
"""
RENEW = f"""
UPDATE {TABLE} SET at = coalesce(%(until)s::float8, extract(epoch from clock_timestamp()) + %(lease)s)
WHERE id = ANY(%(ids)s::text[]) AND owner = %(owner)s AND NOT done
"""
PRUNE = (
    # Rows are in claim order: find the oldest one still in the window, drop the expired ones before it.
    f"DELETE FROM {TABLE} WHERE at < {NOW} - %(window)s AND n < coalesce("
    f"(SELECT n FROM {TABLE} WHERE at >= {NOW} - %(window)s ORDER BY n LIMIT 1), 9223372036854775807)",
    f"DELETE FROM {TABLE} WHERE n <= (SELECT max(n) FROM {TABLE}) - %(max_ids)s",
)
# As the SQLite store's synchronous=OFF: a commit survives any handler crash; only a crash of the database
# server itself may lose the last fraction of a second of claims and marks (SECURITY.md). Measured: see bench/.
# psycopg prepares the round trip after 5 calls; PostgreSQL's default then picks a generic or a custom plan by
# its estimates, and here that choice made each round trip slower as the table grew (0.5 ms, then 10 ms after
# 1,500 round trips). A generic plan always (index scans on id, checked with 1,000,000 rows) measured 0.35 ms of
# server CPU per round trip, steady; a custom plan each time 0.55 ms, unprepared statements more.
# Nothing waits on the server for ever: a lock held elsewhere longer than 5 s fails the round trip (503, retried).
SESSION = (
    "SET synchronous_commit = off; SET plan_cache_mode = force_generic_plan; "
    "SET lock_timeout = '5s'; SET statement_timeout = '60s'"
)
