"""Microseconds per claim()+done() of the seen-id stores, as the message handler calls them.

Run: python bench/seen_ids.py [folder for the sqlite file]   (default: a temporary folder)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))

from q2ext.dedup import Claim, MemorySeenIds, SqliteSeenIds  # noqa: E402

MESSAGES = 20_000


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


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()))
