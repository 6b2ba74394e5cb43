"""What every command shares: the project settings with the command line on top, and yes/no flags."""

from __future__ import annotations

import argparse

from . import settings as settings_mod


def settings_for(args: argparse.Namespace) -> settings_mod.Settings:
    """Project settings with the command line's --port/--debug/--kafka/--log on top."""
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


def yes(text: str) -> bool:
    """A yes/no flag's value: 1, true, yes or on."""
    return text.strip().lower() in {"1", "true", "yes", "on"}
