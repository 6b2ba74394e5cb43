"""What the shared services promise, as Protocols: any seen-id store, any bus; and the error a push raises.

Services (services.py) holds one of each; the stores (dedup.py, and any other that keeps these promises) and
the buses (bus.py's loopback, kafka_bus.py's Kafka) implement them without importing services.py.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol


class PushError(Exception):
    """A push did not reach the bus (or, on the loopback, the handler refused it)."""


class SeenIds(Protocol):
    """Which message ids were handled: claim one before handle(), then mark it done or release it."""

    window_s: float
    max_ids: int

    def claim_many(self, msg_ids: list[str]) -> list[Any]: ...

    async def claim_soon(self, msg_id: str) -> Any: ...

    async def claim_batch(self, msg_ids: list[str]) -> list[Any]: ...

    def done(self, msg_id: str) -> None: ...

    def release(self, msg_id: str) -> None: ...

    def close(self) -> None: ...


class Bus(Protocol):
    """Where push() hands a sealed message: the DEBUG loopback, or Kafka."""

    async def send(
        self, logger: logging.Logger, sealed: Any, message_type: str, key: str | bytes | None = None
    ) -> None:
        """Deliver or enqueue the sealed message; raise PushError saying why not."""

    async def close(self) -> None: ...
