"""How the relay reads Kafka and delivers: one dataclass the CLI fills from flags and settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import wire


@dataclass
class RelayConfig:
    """How the relay reads Kafka and delivers; the CLI fills it from flags and settings."""

    bootstrap: str
    routes: dict[str, str]  # message type -> handler endpoint URL
    group: str = "q2ext-relay"
    client_options: dict[str, Any] = field(default_factory=dict)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0  # 0: no /metrics endpoint
    min_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    retry_for_s: float = 900.0  # a record still refused this long after its first attempt is dead-lettered (0: never)
    timeout_s: float = 10.0
    session_timeout_ms: int = 10_000  # tansu: keep well under 37.5 s; a join takes half of it
    fetch_max_wait_ms: int = 20  # tansu holds each fetch for half of this even when data waits
    commit_interval_s: float = 0.2
    progress_interval_s: float = 10.0
    queue_max: int = 200  # records buffered per partition before fetching from it pauses (bounds memory)
    # POSTs in flight at once: per endpoint (adaptive), or per partition with max_batch 1 (1: strictly serial)
    max_in_flight: int = 16
    max_batch: int = 100  # records one POST may carry (adaptive delivery; 1: one record per POST, as before)
    batch_max_bytes: int = 1024 * 1024  # ... and at most this many body bytes per POST
    create_topics: bool = True

    @property
    def adaptive(self) -> bool:
        """Several ready records per POST; not with max_batch 1, nor max_in_flight 1 (strictly one at a time)."""
        return self.max_batch > 1 and self.max_in_flight > 1

    @property
    def fetch_records(self) -> int:
        """Records one fetch call hands over: a queue's worth, or two full batches."""
        return max(self.queue_max, 2 * self.max_batch)

    @property
    def fetch_sizes(self) -> dict[str, int]:
        """The consumer's fetch limits: about a queue's worth per partition, or a few batches' worth.

        One record per POST: 64 KB (~100 sealed messages) per partition; 256 KB swung the relay's RSS by
        ~40 MB while it ran behind a busy handler. Batches of N need N records at hand: ~1 KB per record.
        """
        per_partition = max(64 * 1024, 1024 * self.max_batch)
        return {"max_partition_fetch_bytes": per_partition, "fetch_max_bytes": 16 * per_partition}

    def topics(self) -> dict[str, str]:
        """Topic -> message type."""
        return {wire.topic_for(t): t for t in self.routes}
