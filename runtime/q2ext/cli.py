"""The project's commands (what make calls): run, push, extension, keys, rotate-key, retire-key, check-keys."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import cmdline, kinds, logs, settings as settings_mod
from .secretkey import KeyRingError

if TYPE_CHECKING:
    from .keyring import KeyRing

log = logging.getLogger("q2ext.cli")


_settings = cmdline.settings_for  # the commands' settings (cmdline.py: shared with commands_extra.py)


def cmd_run(args: argparse.Namespace) -> int:
    from . import reloader, server

    try:
        cfg = _settings(args)
        logs.setup(cfg.LOG_LEVEL)
        svc = server.build_for_server(cfg)  # keys only where a Message Bus extension handles messages
        asyncio.run(server.serve(svc, cfg.PORT, reload=cfg.DEBUG))  # DEBUG: restart on code changes
    except (Exception, SystemExit) as exc:
        if server.is_listen_error(exc):  # one line with the PORT= to use, no traceback
            print(f"error: {server.port_problem(exc, cfg.HOST, cfg.PORT)}", file=sys.stderr)
            return 1
        if reloader.restarted():  # DEBUG, and a change broke the code: wait for the fix, as Tornado's debug does
            reloader.wait_for_fix(exc)
        raise
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
    created = scaffold.add_extension(Path(args.project), args.name, args.kind, message_type=args.type, options=options)
    kind = kinds.find(args.kind).key  # the canonical name, whichever name or number was typed
    print(f"created extension {args.name} ({kind}) in {created}/ and added it to INSTALLED_EXTENSIONS")
    print("`make run` now serves it; `make test` runs its tests.")
    return 0


def _ring_file(args: argparse.Namespace) -> Path:
    """The key ring file a key command edits: --file, else KEYRING_FILE; never silently the wrong one."""
    from . import keyring  # the key commands only: `relay` must not load the message-key code

    if args.file:
        return Path(args.file)
    if os.environ.get(keyring.ENV_KEYRING):
        raise KeyRingError(
            f"this project's keys come from {keyring.ENV_KEYRING}, so editing {settings_mod.load().KEYRING_FILE} "
            f"would change nothing: run this command with --file on a copy of the ring from your secret store, "
            f"then store the result there again"
        )
    return Path(settings_mod.load().KEYRING_FILE)


def _ids(ring: KeyRing) -> str:
    staged = f", staged {', '.join(ring.staged)}" if ring.staged else ""
    return f"ids {', '.join(sorted(ring.keys, key=lambda k: (len(k), k)))}, active {ring.active_id}{staged}"


def cmd_keys(args: argparse.Namespace) -> int:
    from . import deliverykey, keyring

    cfg = settings_mod.load()
    path = _ring_file(args)
    if path.exists() and not args.force:
        print(f"key ring {path} exists ({_ids(keyring.read_file(path))}); use `make rotate-key` to add a key")
        return 0
    ring = keyring.new()
    keyring.write_file(ring, path)
    delivery_path = Path(cfg.DELIVERY_KEY_FILE if not args.file else path.with_name("delivery-key.json"))
    deliverykey.write_delivery_file(ring, delivery_path)
    print(f"created key ring {path} and the relay's delivery key {delivery_path} (mode 0600, ignored by git).")
    print("Keep them secret; in production load them from your secret store (Q2EXT_KEYRING, Q2EXT_DELIVERY_KEY).")
    return 0


def cmd_rotate_key(args: argparse.Namespace) -> int:
    from . import keyring

    path = _ring_file(args)
    ring = (keyring.stage if args.stage else keyring.rotate)(keyring.read_file(path))
    keyring.write_file(ring, path)
    if args.stage:
        print(
            f"staged key {ring.staged[-1]} ({_ids(ring)}): restart every server so all of them can open it, "
            f"then run `make rotate-key` to make it active."
        )
    else:
        print(
            f"key {ring.active_id} is now active ({_ids(ring)}); older keys still open messages until retired. "
            f"Running handlers read it from this file on its first message; restart pushers to seal with it."
        )
    return 0


def cmd_retire_key(args: argparse.Namespace) -> int:
    from . import keyring

    path = _ring_file(args)
    ring = keyring.retire(keyring.read_file(path), args.id)
    keyring.write_file(ring, path)
    print(
        f"retired key {args.id} ({_ids(ring)}); once servers restart, messages sealed with it are refused "
        f"as 'unknown key' (the relay sends them to the dead-letter topic)."
    )
    return 0


def cmd_check_keys(args: argparse.Namespace) -> int:
    from . import keycheck

    problems = keycheck.check(args.files or keycheck.staged_files())
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


_bool = cmdline.yes


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

    ring_file = {"help": "edit this key ring file instead of KEYRING_FILE (e.g. a copy from a secret store)"}
    p = sub.add_parser("keys", help="create the project's real key ring")
    p.add_argument("--force", action="store_true", help="replace an existing ring (old messages become unreadable)")
    p.add_argument("--file", **ring_file)
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("rotate-key", help="make a new key active (or --stage it first, for several servers)")
    p.add_argument("--stage", action="store_true", help="add the key without using it yet; rotate-key activates it")
    p.add_argument("--file", **ring_file)
    p.set_defaults(func=cmd_rotate_key)

    p = sub.add_parser("retire-key", help="remove a key by id")
    p.add_argument("id")
    p.add_argument("--file", **ring_file)
    p.set_defaults(func=cmd_retire_key)

    p = sub.add_parser("check-keys", help="fail if files hold key rings or delivery keys (a pre-commit hook)")
    p.add_argument("files", nargs="*", help="files to check (default: the files staged in git)")
    p.set_defaults(func=cmd_check_keys)

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
