"""Logging set up to look like the seed tutorial's: time, logger name, level, message."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
import time
from collections.abc import Callable

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


def escape(value: object, limit: int = 200) -> str:
    """An attacker-chosen string made safe for one log line: control and format characters as \\xNN escapes."""
    text = str(value)[:limit]
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escaped(ch) for ch in text)


def _escaped(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


_VARIABLE = re.compile(r"'[^']*'|\"[^\"]*\"|\d+")


class Throttle:
    """Log the first `burst` lines of each interval in full, then only count them per key, and say the counts once.

    Refusals cost their sender nothing to cause, so a flood must not become a flood of log lines: at most
    burst + 1 lines per interval, whatever arrives.
    """

    def __init__(
        self,
        logger: logging.Logger,
        every_s: float = 10.0,
        burst: int = 5,
        level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.clock = clock
        self.every_s = every_s
        self.burst = burst
        self.level = level
        self.started = -every_s
        self.logged = 0
        self.counts: dict[str, int] = {}
        self.timer: asyncio.TimerHandle | None = None

    def warning(self, msg: str, *args: object, key: str | None = None) -> None:
        """Log this line, or count it under key (default: the message), with quoted parts and numbers left out."""
        if self.logger.isEnabledFor(self.level) and self.admit(key if key is not None else msg % args if args else msg):
            self.logger.log(self.level, msg, *args)

    def admit(self, key: str) -> bool:
        """True for the first `burst` lines of the interval; after them, count the line under key and say False."""
        now = self.clock()
        if now - self.started >= self.every_s:
            self.flush()
            self.started, self.logged = now, 0
        if self.logged < self.burst:
            self.logged += 1
            return True
        name = _VARIABLE.sub("…", key)[:160]
        if name in self.counts or len(self.counts) < 50:
            self.counts[name] = self.counts.get(name, 0) + 1
        else:
            self.counts["(other)"] = self.counts.get("(other)", 0) + 1
        self._flush_later()
        return False

    def _flush_later(self) -> None:
        if self.timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop: the next line after the interval says the counts
            self.timer = loop.call_later(max(0.0, self.started + self.every_s - self.clock()), self.flush)

    def flush(self) -> None:
        """Say how many lines were left out since the last flush, per key, in one line."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.counts:
            return
        counts, self.counts = self.counts, {}
        total = sum(counts.values())
        top = sorted(counts.items(), key=lambda item: -item[1])[:10]
        self.logger.log(
            self.level,
            "... and %d more like these in the last %.0fs, not logged one by one: %s",
            total,
            self.every_s,
            "; ".join(f"{count} x {name}" for name, count in top),
            extra={"q2ext_summary": True},
        )


class ThrottleFilter(logging.Filter):
    """A Throttle for a library's logger (Tornado logs a line per bad request or slow body: a sender's choice)."""

    def __init__(self, logger: logging.Logger, every_s: float = 10.0, burst: int = 5, min_level: int = logging.INFO):
        super().__init__()
        self.throttle = Throttle(logger, every_s, burst, level=logging.WARNING)
        self.min_level = min_level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.min_level or getattr(record, "q2ext_summary", False):
            return True
        return self.throttle.admit(record.getMessage())


def throttle_logger(name: str, every_s: float = 10.0, burst: int = 5) -> None:
    """Throttle what this logger says at INFO and above (once per logger, however often it is called)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, ThrottleFilter) for f in logger.filters):
        logger.addFilter(ThrottleFilter(logger, every_s, burst))


def describe(exc: BaseException) -> str:
    """An error as '<Class>: <text>', once: aiokafka's errors already start their text with their class name."""
    name, text = exc.__class__.__name__, str(exc)
    if not text:
        return name
    return text if text.startswith(name) else f"{name}: {text}"


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep, waking early if stop is set; True if it was."""
    if stop.is_set():
        return True
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


class QuietKafkaLogs(logging.Filter):
    """Let one aiokafka warning of each kind through per interval: it logs every failed reconnect, ~20 a second."""

    def __init__(self, every_s: float = 30.0) -> None:
        super().__init__()
        self.every_s = every_s
        self.last: dict[tuple[str, object], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith("aiokafka"):
            return True
        key, now = (record.name, record.msg), time.monotonic()
        if now - self.last.get(key, -self.every_s) < self.every_s:
            return False
        self.last[key] = now
        return True


def quiet_kafka_logs(every_s: float = 30.0, level: str = "INFO") -> None:
    """aiokafka at WARNING unless LOG=DEBUG, and QuietKafkaLogs on the root handlers (the relay says it once)."""
    if logging.getLevelName(level.upper()) != logging.DEBUG:  # its INFO lines (joins, coordinators) drown ours
        for name in ("aiokafka", "kafka"):
            logging.getLogger(name).setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.addFilter(QuietKafkaLogs(every_s))
