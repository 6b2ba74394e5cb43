"""Commands of the Kafka bus: bus (a local broker), relay (Kafka -> handlers), replay-dlq (dead letters back)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

log = logging.getLogger("q2ext.cli")


def cmd_bus(args: argparse.Namespace) -> int:
    from . import broker, logs

    logs.setup(args.log or "INFO")
    try:
        return broker.run_foreground(args.port)
    except broker.BrokerError as exc:
        print(f"error: {exc}")
        return 1


def relay_config(args: argparse.Namespace, cfg):
    """The relay's configuration from its flags and the project settings."""
    from .relay_config import RelayConfig
    from .routes import discover_routes, read_routes

    target = args.target or f"http://{cfg.HOST}:{cfg.PORT}"
    routes = read_routes(args.routes) if args.routes else discover_routes(cfg.INSTALLED_EXTENSIONS, target)
    if not routes:
        raise ValueError(
            "no Message Bus extension is installed, so there is nothing to relay: add one "
            "(make extension ... KIND=message_bus) or pass --routes FILE"
        )
    if args.max_in_flight < 1:
        raise ValueError("--max-in-flight must be 1 (strictly one record at a time per partition) or more")
    if args.max_batch < 1:
        raise ValueError("--max-batch must be 1 (one record per POST) or more, e.g. 100")
    if args.max_batch_bytes < 1024:
        raise ValueError("--max-batch-bytes must be at least 1024 (a batch holds at least one record anyway)")
    if args.retry_for < 0:
        raise ValueError("--retry-for must be 0 (retry forever) or a number of seconds, e.g. 900")
    if args.min_backoff <= 0 or args.max_backoff < args.min_backoff:
        raise ValueError("--min-backoff must be above 0 and --max-backoff at least --min-backoff")
    return RelayConfig(
        bootstrap=cfg.KAFKA_BOOTSTRAP_SERVERS,
        routes=routes,
        group=args.group,
        client_options=dict(cfg.KAFKA_CLIENT_OPTIONS),
        metrics_host=args.metrics_host,
        metrics_port=args.metrics_port,
        min_backoff_s=args.min_backoff,
        max_backoff_s=args.max_backoff,
        retry_for_s=args.retry_for,
        timeout_s=args.timeout,
        session_timeout_ms=args.session_timeout_ms,
        progress_interval_s=args.progress_every,
        max_batch=args.max_batch,
        batch_max_bytes=args.max_batch_bytes,
        max_in_flight=args.max_in_flight,
    )


def cmd_relay(args: argparse.Namespace) -> int:
    from . import deliverykey, logs
    from .cmdline import settings_for as _settings
    from .relay import Relay

    cfg = _settings(args)
    logs.setup(cfg.LOG_LEVEL)
    logs.quiet_kafka_logs(level=cfg.LOG_LEVEL)
    config = relay_config(args, cfg)
    key, source = deliverykey.load_delivery_for(cfg)
    log.info("relay signs deliveries with delivery key %s from %s; it holds no message keys", key.id, source)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await Relay(config, key).run(stop)

    asyncio.run(go())
    return 0


def cmd_replay_dlq(args: argparse.Namespace) -> int:
    from . import dlq, logs
    from .cmdline import settings_for as _settings

    cfg = _settings(args)
    logs.setup(cfg.LOG_LEVEL)
    moved = asyncio.run(dlq.replay(cfg.KAFKA_BOOTSTRAP_SERVERS, args.type, cfg.KAFKA_CLIENT_OPTIONS, args.group))
    print(f"moved {moved} dead letter(s) of {args.type} back onto sdk-generic.{args.type}")
    return 0


def register(sub) -> None:
    """Add the Kafka-side subcommands to the CLI."""
    p = sub.add_parser("bus", help="run a local Kafka-protocol broker (tansu, in memory) until Ctrl-C")
    p.add_argument("--port", type=int, default=9092, help="port to listen on (default 9092)")
    p.add_argument("--log", help="log level")
    p.set_defaults(func=cmd_bus)

    p = sub.add_parser("relay", help="deliver Kafka records to the Message Bus handlers (a consumer group)")
    _kafka_flags(p)
    p.add_argument("--target", help="base URL of the handlers, or several comma-separated (default http://HOST:PORT)")
    p.add_argument("--group", default="q2ext-relay", help="consumer group; relays in one group share partitions")
    p.add_argument("--routes", help='JSON file {"Type": "endpoint URL"} instead of the installed extensions')
    p.add_argument("--metrics-port", type=int, default=1981, help="port of /metrics and /health (0: none)")
    p.add_argument("--metrics-host", default="127.0.0.1", help="address of /metrics and /health")
    p.add_argument("--min-backoff", type=float, default=0.5, help="first retry delay in seconds")
    p.add_argument("--max-backoff", type=float, default=30.0, help="longest retry delay in seconds")
    p.add_argument(
        "--retry-for", type=float, default=900.0, help="seconds of retries before a dead letter (0: forever)"
    )
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a handler's answer")
    p.add_argument("--session-timeout-ms", type=int, default=10_000, help="consumer group session timeout")
    p.add_argument("--progress-every", type=float, default=10.0, help="seconds between progress lines")
    p.add_argument(
        "--max-in-flight",
        type=int,
        default=16,
        help="POSTs in flight per endpoint (per partition with --max-batch 1; 1: strictly one at a time)",
    )
    p.add_argument(
        "--max-batch",
        "--batch",  # the former opt-in fixed-size batches: now a spelling of the adaptive limit
        dest="max_batch",
        type=int,
        default=100,
        help="most records one POST carries when they are ready together (1: one record per POST)",
    )
    p.add_argument(
        "--max-batch-bytes", type=int, default=1024 * 1024, help="most message bytes one POST carries (default 1 MB)"
    )
    p.set_defaults(func=cmd_relay)

    p = sub.add_parser("replay-dlq", help="move the dead letters of a type back onto its topic")
    _kafka_flags(p)
    p.add_argument("--type", required=True, help="message type, e.g. Lowercase")
    p.add_argument("--group", default="q2ext-replay-dlq", help="group that remembers how far replay got")
    p.set_defaults(func=cmd_replay_dlq)


def _kafka_flags(p: argparse.ArgumentParser) -> None:
    from .cmdline import yes as _bool

    p.add_argument("--kafka", help="Kafka bootstrap servers (default: settings KAFKA_BOOTSTRAP_SERVERS)")
    p.add_argument("--debug", type=_bool, default=None, help="1 for DEBUG (allows the development key ring)")
    p.add_argument("--log", help="log level: DEBUG, INFO, WARNING")
