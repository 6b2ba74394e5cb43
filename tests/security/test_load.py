"""The handler under 500 concurrent connections: every sealed message is answered 200 or retryable,
and every message answered 200 was handled exactly once (two handler processes sharing one store)."""

from __future__ import annotations

import asyncio
import collections

from q2ext import delivery, envelope, http1
from q2ext.wire import RETRYABLE

from .conftest import PATH, handled_ids

MESSAGES = 1500
CONNECTIONS = 500


async def blast(ports: list[int], jobs: list[tuple[int, envelope.Sealed]], ring) -> list[tuple[str, int]]:
    """POST every job at once over at most 500 kept-alive connections; (message id, status) per POST."""
    clients = {port: http1.Client(f"http://127.0.0.1:{port}", timeout=60) for port in ports}
    slots = asyncio.Semaphore(CONNECTIONS)

    async def one(port: int, sealed: envelope.Sealed) -> tuple[str, int]:
        headers = delivery.sign(sealed.headers, ring.delivery)
        async with slots:
            answer = await clients[port].post(PATH, headers, sealed.body)
        return sealed.headers["q2msg-id"], answer.status

    try:
        return await asyncio.gather(*(one(port, sealed) for port, sealed in jobs))
    finally:
        for client in clients.values():
            client.close()


def test_500_connections_every_200_handled_exactly_once(spawn, tmp_path, ring):
    ports = [spawn().port, spawn().port]
    sealed = [envelope.seal(f"load {i}", "Lowercase", ring.active) for i in range(MESSAGES)]
    # Every message twice, to different processes, as a replayed or redelivered copy would arrive.
    jobs = [(ports[(i + copy) % 2], s) for i, s in enumerate(sealed) for copy in (0, 1)]
    answers = asyncio.run(asyncio.wait_for(blast(ports, jobs, ring), 180))
    statuses = collections.Counter(status for _, status in answers)
    handled = collections.Counter(handled_ids(tmp_path))
    answered_200 = {msg_id for msg_id, status in answers if status == 200}
    print(
        f"\nload: {len(jobs)} POSTs of {MESSAGES} messages over {CONNECTIONS} connections: {dict(statuses)}; "
        f"{len(answered_200)} messages answered 200, {len(handled)} handled, max handle() per id "
        f"{max(handled.values())}"
    )
    assert set(statuses) <= {200} | RETRYABLE | {503}
    assert all(handled[msg_id] == 1 for msg_id in answered_200)
    assert max(handled.values()) == 1
