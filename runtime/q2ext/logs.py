"""Logging set up to look like the seed tutorial's: time, logger name, level, message."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(name)s %(levelname)-8s %(message)s"


def setup(level: str = "INFO", stream=None) -> None:
    """Route every logger to one stream handler at this level (idempotent)."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"log level {level!r} is not one of DEBUG, INFO, WARNING, ERROR")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_q2ext", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._q2ext = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(numeric)
    # Library chatter would drown the seed's lines at DEBUG.
    for noisy in ("asyncio", "aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.INFO))
