"""The peers as bench cases (dev-only): a hand-written aiokafka relay and FastStream, beside the project."""

from __future__ import annotations

import importlib.util

from http_cases import Context, serve_baseline
from kafka_cases import PARTITIONS, broker
from procs import run_json, script


def _peer(ctx: Context, mode: str, *extra: str) -> dict:
    with broker() as bootstrap:
        argv = [*script("peers.py"), "--mode", mode, "--kafka", bootstrap, "--count", str(ctx.size(20_000, 2_000))]
        argv += ["--partitions", str(PARTITIONS), *extra]
        return run_json(argv, ctx.project.root, ctx.project.env(DEBUG=0))


def plain_relay(ctx: Context) -> dict:
    """aiokafka -> aiohttp, each partition in offset order, no envelope, to baseline A's server."""
    server, port = serve_baseline(ctx)
    try:
        return _peer(ctx, "plain", "--port", str(port))
    finally:
        server.stop()


def faststream_ack(ctx: Context) -> dict:
    """FastStream's Kafka subscriber in-process, committing after each message (at least once)."""
    if importlib.util.find_spec("faststream") is None:
        return {"skipped": "faststream is not installed (the template repo's dev extra has it)"}
    return _peer(ctx, "faststream")
