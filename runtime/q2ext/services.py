"""The per-process services every part shares: settings, key ring, seen ids, metrics, bus."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from . import keyring as keyring_mod, settings as settings_mod
from .contracts import Bus, SeenIds
from .dedup import MemorySeenIds, SqliteSeenIds
from .keyring import KeyRing, RingReloader
from .metrics import Registry
from .settings import Settings

log = logging.getLogger("q2ext")


@lru_cache(maxsize=1)
def git_rev() -> str:
    """The short git revision of the project, or '-' outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "-"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "-"


@dataclass
class Services:
    """What one process uses; built once by the server, the relay or the CLI."""

    settings: Settings
    ring: KeyRing | None  # None until first needed where no Message Bus extension is installed (see keys())
    seen: SeenIds | None
    metrics: Registry = field(default_factory=Registry)
    bus: Bus | None = None  # made on first push() by bus.bus_for(), from the settings
    consumed: dict[str, str] | None = None  # message type -> bus path, of the app server.make_app built
    on_handled: list[Callable[[Any], None]] = field(default_factory=list)  # called with each message handle() took
    reloader: RingReloader | None = None  # re-reads the ring file on an unknown key id; None: 401 at once

    def keys(self) -> KeyRing:
        """The message key ring, loaded now if start-up did not need it (no Message Bus extension installed)."""
        if self.ring is None:
            self.ring = keyring_mod.load_for(self.settings)
        return self.ring

    async def close(self) -> None:
        if self.bus is not None:
            await self.bus.close()
            self.bus = None
        close = getattr(self.seen, "close", None)  # a test may hand in a store of its own
        if close:
            close()


def make_seen(settings: Settings) -> SeenIds:
    """The seen-id store asked for: PostgreSQL shared by hosts, a SQLite file shared by processes, or memory."""
    if not settings.SEEN_IDS_URL and settings.SEEN_IDS_FILE in ("", ":memory:"):
        window = max(settings.DELIVERY_TOLERANCE_SECONDS * 4, 3600)
        seen, where = MemorySeenIds(max_ids=settings.SEEN_IDS_MAX, window_s=window), "memory (this process only)"
    else:
        # A shared store covers every id a handler could still accept (the maximum message age); a crashed
        # process's claims free up when their leases end (lease.py), a live one renews them while handle() runs.
        shared = {
            "max_ids": settings.SEEN_IDS_MAX,
            "window_s": max(settings.MAX_MESSAGE_AGE_SECONDS, settings.DELIVERY_TOLERANCE_SECONDS),
            "lease_s": settings.SEEN_IDS_LEASE_SECONDS,
            "renew_s": settings.SEEN_IDS_LEASE_SECONDS * 0.3,
        }
        if settings.SEEN_IDS_URL:
            seen, where = _postgres_seen(settings.SEEN_IDS_URL, shared)
        else:
            seen = SqliteSeenIds(settings.SEEN_IDS_FILE, **shared)
            where = f"{settings.SEEN_IDS_FILE} (shared by this project's handler processes)"
    log.debug("seen message ids kept in %s: window %ds, at most %d ids", where, seen.window_s, seen.max_ids)
    return seen


def _postgres_seen(url: str, options: dict) -> tuple[SeenIds, str]:
    """The PostgreSQL store of SEEN_IDS_URL, and where it is (psycopg is imported only when it is set)."""
    from urllib.parse import urlsplit

    from .seen_pg import PostgresSeenIds

    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("SEEN_IDS_URL must start with postgresql:// (e.g. postgresql://user@db-host:5432/q2ext)")
    where = f"PostgreSQL on {parts.hostname or 'the local socket'} (shared by every handler host)"  # never the URL
    return PostgresSeenIds(url, **options), where


def build(settings: Settings | None = None, ring: KeyRing | None = None) -> Services:
    """Services for this process from the settings; refuses to run out of DEBUG without a real ring."""
    settings = settings or settings_mod.get()
    reloader = None
    if ring is None:
        ring = keyring_mod.load_for(settings)
        reloader = RingReloader.for_ring(ring, settings)
    return Services(settings=settings, ring=ring, seen=make_seen(settings), reloader=reloader)


_current: Services | None = None


def current() -> Services:
    """The process's services, built from settings on first use."""
    global _current
    if _current is None:
        _current = build()
    return _current


def install(services: Services | None) -> Services | None:
    """Make these the process's services (the server, relay and tests call it)."""
    global _current
    _current = services
    return services
