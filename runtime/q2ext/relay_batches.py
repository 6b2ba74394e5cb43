"""Opt-in batch delivery (--batch N): a partition's records in offset order, many per POST.

Each record keeps its own guarantees: the handler answers per record, handles them in order and stops at
the first one to retry; 2xx and dead letters finish a record, a retry answer waits with backoff.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

from .attempts import Abandoned, Attempts, sealed_headers
from .logs import sleep_or_stop
from .retry import NOT_ATTEMPTED, OK

log = logging.getLogger("q2ext.relay")


async def work_in_batches(part, attempts: Attempts, resume_if_drained) -> None:
    """Deliver this partition's queue in batches, one POST at a time, in offset order."""
    queue = part.queue
    while not part.stopping.is_set():
        if not queue:
            part.wake.clear()
            await part.wake.wait()
            continue
        try:
            finished = await deliver_batch(part, attempts)
        except Abandoned:
            return
        except Exception:  # a bug must not silently stall the partition: say so, try the records again
            log.exception("delivering a batch of %s[%d] failed; trying again in 1s", part.tp.topic, part.tp.partition)
            await sleep_or_stop(part.stopping, 1.0)
            continue
        for _ in range(finished):
            record = queue.popleft()
        part.done = record.offset + 1
        resume_if_drained(part)


def next_batch(queue, size: int, max_bytes: int) -> list[tuple[Any, dict[str, str]]]:
    """The sealed records at the head of the queue that fit one POST (at least one, unless the head is bad)."""
    out: list[tuple[Any, dict[str, str]]] = []
    total = 0
    for record in itertools.islice(queue, size):
        headers, _ = sealed_headers(record)
        total += len(record.value or b"")
        if headers is None or (out and total > max_bytes):
            break
        out.append((record, headers))
    return out


async def deliver_batch(part, attempts: Attempts) -> int:
    """Deliver the head of the queue in one POST per attempt; how many records are finished (in order)."""
    cfg = attempts.config
    pending = next_batch(part.queue, cfg.batch_size, cfg.batch_max_bytes)
    if not pending:  # the head record is not a sealed message: the single path dead-letters it
        await attempts.deliver(part, part.queue[0])
        return 1
    tries = [0] * len(pending)
    finished = 0
    started = attempts.budget.start()
    while pending:
        tries = [n + 1 for n in tries]
        part.busy += 1
        try:
            outcomes = await attempts.poster.post_batch(part.url, pending, tries)
        finally:
            part.busy -= 1
        tries = [n - (o is NOT_ATTEMPTED) for n, o in zip(tries, outcomes, strict=True)]
        done = 0
        for (record, headers), outcome, attempt in zip(pending, outcomes, tries, strict=True):
            if outcome is OK:
                attempts.count_delivered(part, record)
            elif outcome.verdict == "dead" or attempts.budget.spent(started):
                await attempts.dead_letter(part, record, outcome, attempt)
            else:
                await attempts.wait_to_retry(part, record, headers, outcome, attempt)
                break
            done += 1
        pending, tries, finished = pending[done:], tries[done:], finished + done
    return finished
