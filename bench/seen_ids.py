"""Microseconds per claim()+done() of the seen-id stores, as the message handler calls them.

Run: python bench/seen_ids.py [folder for the sqlite file]   (default: a temporary folder)

Memory and SQLite: blocking claim+done in one process (SQLite commits are local). PostgreSQL: the handler's
path, claim_soon() from 16 concurrent deliveries (so claims share round trips), on a server this script
starts (scripts/pg_local.py); its figure has this process's CPU and the server processes' CPU apart.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "runtime"), str(ROOT / "scripts")]

from pg_local import LocalPostgres  # noqa: E402

from q2ext.dedup import Claim, MemorySeenIds, SqliteSeenIds  # noqa: E402

MESSAGES = 20_000
CONCURRENT = 16  # deliveries in flight, as the bench's load client keeps them
TICKS = os.sysconf("SC_CLK_TCK")


async def per_message_us(store) -> float:
    """claim+done per message, yielding to the event loop as a server would between requests."""
    ids = [uuid.uuid4().hex for _ in range(MESSAGES)]
    started = time.perf_counter()
    for count, msg_id in enumerate(ids):
        assert store.claim(msg_id) is Claim.NEW
        store.done(msg_id)
        if count % 20 == 0:
            await asyncio.sleep(0)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(0.05)
    store.close()
    return elapsed / MESSAGES * 1e6


async def concurrent_us(store) -> tuple[float, float]:
    """Wall and this process's CPU per message, CONCURRENT deliveries each claim_soon() then done()."""

    async def delivery(ids: list[str]) -> None:
        for msg_id in ids:
            assert await store.claim_soon(msg_id) is Claim.NEW
            await asyncio.sleep(0)  # handle()
            store.done(msg_id)

    ids = [uuid.uuid4().hex for _ in range(MESSAGES)]
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(delivery(ids[i::CONCURRENT]) for i in range(CONCURRENT)))
    return (time.perf_counter() - wall) / MESSAGES * 1e6, (time.process_time() - cpu) / MESSAGES * 1e6


def server_cpu_s(server: LocalPostgres) -> float:
    """utime+stime of the postmaster and its children (the backends, the WAL writer, ...)."""
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" ", 1)
        except OSError:
            continue
        fields = rest.rsplit(")", 1)[1].split()
        if int(pid) == postmaster or int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def postgres_figures() -> str:
    from q2ext.seen_pg import PostgresSeenIds

    with LocalPostgres() as server:
        store = PostgresSeenIds(server.url)
        store.claim("warm-up")
        trips, before = store.round_trips, server_cpu_s(server)
        wall, cpu = asyncio.run(concurrent_us(store))
        server_us = (server_cpu_s(server) - before) / MESSAGES * 1e6
        per_trip = MESSAGES / max(1, store.round_trips - trips)
        store.close()
    return (
        f"postgresql store, {CONCURRENT} concurrent deliveries: {wall:.1f} us wall per claim+done, "
        f"{cpu:.1f} us CPU here + {server_us:.1f} us CPU in the server, {per_trip:.1f} claims per round trip"
    )


async def main(folder: str) -> None:
    print(f"memory store: {await per_message_us(MemorySeenIds()):.1f} us per claim+done")
    sqlite = await per_message_us(SqliteSeenIds(Path(folder) / "seen.sqlite3"))
    print(f"sqlite store in {folder}: {sqlite:.1f} us per claim+done ({MESSAGES} messages)")
    duplicate = SqliteSeenIds(Path(folder) / "seen.sqlite3", cache_ids=0)
    ids = [row[0] for row in duplicate._db.execute("SELECT id FROM seen LIMIT 5000")]
    started = time.perf_counter()
    for msg_id in ids:
        duplicate.claim(msg_id)
    print(f"sqlite store, duplicate seen by another process: {(time.perf_counter() - started) / len(ids) * 1e6:.1f} us")
    duplicate.close()
    wall, cpu = await concurrent_us(SqliteSeenIds(Path(folder) / "concurrent.sqlite3"))
    print(f"sqlite store, {CONCURRENT} concurrent deliveries: {wall:.1f} us wall, {cpu:.1f} us CPU per claim+done")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()))
    print(postgres_figures())
