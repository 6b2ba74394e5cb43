"""The project's commands (what make calls): run, push, extension, keys, rotate-key, retire-key."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from . import keyring, logs
from . import settings as settings_mod
from .keyring import KeyRingError

log = logging.getLogger("q2ext.cli")


def _settings(args: argparse.Namespace) -> settings_mod.Settings:
    """Project settings with the command line's --port/--debug/--kafka on top."""
    cfg = settings_mod.load()
    changes = {}
    if getattr(args, "port", None):
        changes["PORT"] = args.port
    if getattr(args, "debug", None) is not None:
        changes["DEBUG"] = args.debug
    if getattr(args, "kafka", None):
        changes["KAFKA_BOOTSTRAP_SERVERS"] = args.kafka
    if getattr(args, "log", None):
        changes["LOG_LEVEL"] = args.log.upper()
    return settings_mod.use(cfg.replace(**changes))


def cmd_run(args: argparse.Namespace) -> int:
    from . import services, server

    cfg = _settings(args)
    logs.setup(cfg.LOG_LEVEL)
    svc = services.build(cfg)
    asyncio.run(server.serve(svc, cfg.PORT))
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from . import bus, services

    cfg = _settings(args)
    logs.setup(cfg.LOG_LEVEL)
    logger = logging.getLogger("extension.push")

    async def go() -> str:
        svc = services.install(services.build(cfg))
        try:
            return await bus.push(logger, args.text, args.type, key=args.key)
        finally:
            await svc.close()

    msg_id = asyncio.run(go())
    print(f"pushed message {msg_id} of type {args.type} onto the {cfg.bus_mode} bus")
    return 0


def cmd_extension(args: argparse.Namespace) -> int:
    from . import scaffold

    options = dict(opt.split("=", 1) for opt in args.option or [])
    created = scaffold.add_extension(
        Path(args.project), args.name, args.kind, message_type=args.type, options=options
    )
    print(f"created extension {args.name} ({args.kind}) in {created}/ and added it to INSTALLED_EXTENSIONS")
    print("`make run` now serves it; `make test` runs its tests.")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    cfg = settings_mod.load()
    path = Path(cfg.KEYRING_FILE)
    if path.exists() and not args.force:
        ring = keyring.read_file(path)
        print(f"key ring {path} exists (ids {', '.join(sorted(ring.keys))}, active {ring.active_id}); "
              f"use `make rotate-key` to add a key")
        return 0
    ring = keyring.new()
    keyring.write_file(ring, path)
    keyring.write_delivery_file(ring, cfg.DELIVERY_KEY_FILE)
    print(f"created key ring {path} and the relay's delivery key {cfg.DELIVERY_KEY_FILE} (mode 0600, ignored by git).")
    print("Keep them secret; in production load them from your secret store (Q2EXT_KEYRING, Q2EXT_DELIVERY_KEY).")
    return 0


def cmd_rotate_key(args: argparse.Namespace) -> int:
    path = Path(settings_mod.load().KEYRING_FILE)
    ring = keyring.rotate(keyring.read_file(path))
    keyring.write_file(ring, path)
    print(f"added key {ring.active_id} and made it active; older keys still open messages until retired "
          f"(ids now {', '.join(sorted(ring.keys))}). Restart servers to pick it up.")
    return 0


def cmd_retire_key(args: argparse.Namespace) -> int:
    path = Path(settings_mod.load().KEYRING_FILE)
    ring = keyring.retire(keyring.read_file(path), args.id)
    keyring.write_file(ring, path)
    print(f"retired key {args.id}; messages sealed with it are now refused as 'unknown key'")
    return 0


def _bool(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="q2ext", description="Run and manage this extension project.")
    sub = top.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--port", type=int, help="HTTP port (default: settings PORT, 1980)")
        p.add_argument("--log", help="log level: DEBUG, INFO, WARNING")
        p.add_argument("--debug", type=_bool, default=None, help="1 for DEBUG (loopback bus), 0 for Kafka")
        p.add_argument("--kafka", help="Kafka bootstrap servers, e.g. 127.0.0.1:9092")

    p = sub.add_parser("run", help="serve every installed extension on Tornado")
    common(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("push", help="push one message onto the configured bus")
    common(p)
    p.add_argument("--type", required=True, help="message type, e.g. Lowercase")
    p.add_argument("--text", required=True, help="message text")
    p.add_argument("--key", default=None, help="ordering key (Kafka: same key, same order)")
    p.set_defaults(func=cmd_push)

    p = sub.add_parser("extension", help="add an extension to this project")
    p.add_argument("name")
    p.add_argument("--kind", default="base")
    p.add_argument("--type", default=None, help="message type (Message Bus only)")
    p.add_argument("--option", action="append", help="kind option as key=value (e.g. adapter_type=fx_rate)")
    p.add_argument("--project", default=".")
    p.set_defaults(func=cmd_extension)

    p = sub.add_parser("keys", help="create the project's real key ring")
    p.add_argument("--force", action="store_true", help="replace an existing ring (old messages become unreadable)")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("rotate-key", help="add a new active key")
    p.set_defaults(func=cmd_rotate_key)

    p = sub.add_parser("retire-key", help="remove a key by id")
    p.add_argument("id")
    p.set_defaults(func=cmd_retire_key)

    from . import commands_extra

    commands_extra.register(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m q2ext`; errors are one readable line, not a traceback."""
    sys.path.insert(0, os.getcwd())
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (KeyRingError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from .bus import PushError

        if isinstance(exc, PushError):  # one readable line; the log has the details
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise
