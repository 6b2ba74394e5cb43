"""Commands added by the Kafka bus: relay, replay-dlq, bus (filled in by the relay work)."""

from __future__ import annotations


def register(sub) -> None:
    """Add the Kafka-side subcommands to the CLI."""
