"""The relay's retry rules: what an answer means for a record, how long to wait, when to give up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import http1, wire
from .logs import escape

MAX_RETRY_AFTER_S = 300.0  # a handler asking for a longer pause still gets retried after 5 minutes
NO_ANSWER = (asyncio.TimeoutError, http1.HttpError, OSError)  # what getting no answer raises: a retry


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: delivered, retry (maybe after Retry-After), or dead (permanent)."""

    verdict: str  # "ok" | "retry" | "dead"
    status: int | None
    reason: str
    retry_after: float | None = None


OK = Outcome("ok", 200, "")
NOT_ATTEMPTED = Outcome("retry", 503, "not attempted: an earlier record of the batch must be retried first")


def classify(status: int, reason: str, retry_after: float | None = None) -> Outcome:
    """2xx delivers; 404, 408, 409, 429 and 5xx are retried (wire.retryable); any other answer is permanent."""
    if 200 <= status < 300:
        return OK
    return Outcome("retry" if wire.retryable(status) else "dead", status, reason, retry_after)


def outcome_of(response: http1.Response) -> Outcome:
    """What a handler's answer to one POST means for the record(s) in it."""
    if 200 <= response.status < 300:
        return OK
    reason = refusal_reason(response.status, response.headers, response.body)
    return classify(response.status, reason, parse_retry_after(response.headers.get("retry-after")))


def batch_outcome(result: dict) -> Outcome:
    """The outcome of one record of a batch answer."""
    if not isinstance(result, dict) or not isinstance(result.get("status"), int):
        return Outcome("retry", None, "batch answer without a status for this record")
    if result.get("attempted") is False:
        return NOT_ATTEMPTED
    retry_after = result.get("retry_after")
    return classify(result["status"], str(result.get("error") or ""), retry_after if retry_after else None)


def no_answer(url: str, exc: BaseException, timeout_s: float) -> Outcome:
    """The retry outcome of a POST that got no answer, saying why."""
    if isinstance(exc, asyncio.TimeoutError):
        return Outcome("retry", None, f"no answer from {url} within {timeout_s:g}s")
    if isinstance(exc, http1.HttpError):
        return Outcome("retry", None, f"{url}: {exc}")
    return Outcome("retry", None, f"cannot connect to {url} ({exc})")


def backoff(attempt: int, low: float, high: float, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter (50-100% of the step, at most high); a Retry-After (up to 5 min) wins."""
    delay = min(high, low * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
    return delay


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is ignored: handlers answer seconds)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def refusal_reason(status: int, headers, body: bytes) -> str:
    """Why the handler said no: its q2msg-refused header, else the JSON body's error, else the status."""
    reason = headers.get("q2msg-refused")
    if not reason and body:
        with contextlib.suppress(ValueError, UnicodeDecodeError, AttributeError):
            reason = json.loads(body).get("error")
    return escape(str(reason or f"HTTP {status}"), 300)  # the target's words go into log lines: escaped


class RetryBudget:
    """How long a record's retries may run before it is dead-lettered: a budget in time, not in attempts.

    Time, so that it outlasts what it waits for: a crashed handler's seen-id leases (10 s), a restart,
    a key ring reaching every handler (UNKNOWN_KEY_GRACE_SECONDS), whatever the backoff steps were.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds  # 0: retry forever
        self.clock = clock

    def start(self) -> float:
        """The moment a record's first attempt is made."""
        return self.clock()

    def spent(self, started: float, now: float | None = None) -> bool:
        """True once retries begun at started have run for the budget."""
        return bool(self.seconds) and (self.clock() if now is None else now) - started >= self.seconds
