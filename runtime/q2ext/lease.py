"""Leases on seen-id claims: renewed by their owner while handle() runs, so a dead owner's claims free up in seconds.

A claim records its owner and when its lease ends. The owning process renews the leases of every claim it
holds (from NEW until done() or release()) every renew_s; a claim whose lease ended is free for anyone to take.
So a crashed process blocks its in-flight ids for at most lease_s, while a live one keeps them however long
handle() takes. Any seen-id store (SQLite here; a shared PostgreSQL store later) gets this by:
- claiming atomically: insert (id, owner, lease end = now + lease_s), or take over a row that is a claim
  (not done) whose lease end is before now; anything else is BUSY (claimed, live) or DONE;
- implementing Renewable.renew(ids, until) as one write that touches only its own, not-done claims;
- holding a LeaseKeeper: hold(id) once a claim committed NEW, drop(id) at done() or release(), close().
A store shared by several hosts should compare lease ends on one clock (the database server's).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("q2ext.dedup")
LEASE_S = 10.0  # how long a claim blocks others once its owner stops renewing it
RENEW_S = 3.0  # how often the owner renews: three chances before the lease ends


class Renewable(Protocol):
    """What a seen-id store offers its LeaseKeeper."""

    def renew(self, msg_ids: list[str], until: float) -> int:
        """Extend this owner's claims on these ids (not done, not taken over) to end at until; how many."""
        ...


def owner_id() -> str:
    """This process instance, as a claim records it: host, pid and a random part (a pid is reused)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{os.urandom(4).hex()}"


class LeaseKeeper:
    """The ids this process holds claims on, renewed from a thread, so a busy event loop cannot lose them."""

    def __init__(
        self,
        store: Renewable,
        lease_s: float = LEASE_S,
        renew_s: float = RENEW_S,
        clock: Callable[[], float] = time.time,
        thread: bool = True,
    ) -> None:
        if not 0 < renew_s < lease_s:
            raise ValueError(f"renew_s ({renew_s}) must be above 0 and below lease_s ({lease_s})")
        self.store = store
        self.lease_s = lease_s
        self.renew_s = renew_s
        self.clock = clock
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._use_thread = thread

    def until(self) -> float:
        """When a lease taken or renewed now ends."""
        return self.clock() + self.lease_s

    def hold(self, msg_id: str) -> None:
        """Start renewing the claim on msg_id (call when a claim comes back NEW)."""
        with self._lock:
            self._held.add(msg_id)
            if self._use_thread and self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="q2ext-leases", daemon=True)
                self._thread.start()

    def drop(self, msg_id: str) -> None:
        """Stop renewing it (done() or release() settled the claim)."""
        with self._lock:
            self._held.discard(msg_id)

    def held(self) -> list[str]:
        with self._lock:
            return list(self._held)

    def renew_now(self) -> int:
        """Renew every held claim in one write; how many were still ours."""
        ids = self.held()
        return self.store.renew(ids, self.until()) if ids else 0

    def _run(self) -> None:
        while not self._stop.wait(self.renew_s):
            try:
                self.renew_now()
            except Exception as exc:  # noqa: BLE001 - a locked or lost store: try again next round
                log.warning("could not renew %d seen-id claim lease(s): %s", len(self._held), exc)

    def close(self) -> None:
        """Stop renewing (the store is closing; its claims end with their leases)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.renew_s + 5)
