"""The relay's rules without a broker: what an answer means, how long to wait, where to deliver."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from kafka_helpers import RUNTIME, write_extension

from q2ext import http1, keyring
from q2ext.poster import Poster
from q2ext.relay_config import RelayConfig
from q2ext.retry import OK, RetryBudget, backoff, classify, parse_retry_after
from q2ext.routes import discover_routes, read_routes


@pytest.mark.parametrize("status", [200, 201, 204])
def test_a_2xx_answer_is_delivered(status):
    assert classify(status, "").verdict == "ok"


@pytest.mark.parametrize("status", [404, 408, 409, 429, 500, 502, 503, 504])
def test_these_answers_are_retried(status):
    assert classify(status, "why").verdict == "retry"


@pytest.mark.parametrize("status", [301, 400, 401, 403, 410, 413, 422, 425])
def test_any_other_answer_is_permanent(status):
    assert classify(status, "why").verdict == "dead"


def outcome_of_send(result):
    return Poster(keyring.new(dev=True).delivery, timeout_s=3).outcome_of_send("http://h/x", result)


def test_a_callback_post_that_got_an_answer_is_judged_by_its_status():
    assert outcome_of_send(http1.Response(200, {}, b"")) is OK
    assert outcome_of_send(http1.Response(422, {}, b"")).verdict == "dead"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (asyncio.TimeoutError(), "no answer from http://h/x within 3s"),
        (http1.HttpError("bad head"), "http://h/x: bad head"),
        (ConnectionRefusedError("refused"), "cannot connect to http://h/x (refused)"),
    ],
)
def test_a_callback_post_that_got_no_answer_is_retried_saying_why(error, reason):
    outcome = outcome_of_send(error)
    assert (outcome.verdict, outcome.reason) == ("retry", reason)


def test_a_callback_post_that_ended_in_a_bug_raises_it_for_the_slow_path():
    with pytest.raises(KeyError):
        outcome_of_send(KeyError("bug"))


def test_backoff_doubles_with_jitter_and_stays_under_its_bound():
    delays = [backoff(attempt, 0.5, 30.0) for attempt in range(1, 12)]
    assert 0.25 <= delays[0] <= 0.5
    assert 4.0 <= delays[4] <= 8.0
    assert all(delay <= 30.0 for delay in delays)


def test_retry_after_sets_the_least_wait():
    assert backoff(1, 0.05, 0.5, retry_after=7) == 7


def test_retry_after_is_read_in_seconds_and_nonsense_ignored():
    assert (parse_retry_after("3"), parse_retry_after("1.5"), parse_retry_after("soon")) == (3.0, 1.5, None)


def test_a_routes_file_maps_types_to_endpoints(tmp_path):
    path = tmp_path / "routes.json"
    path.write_text(json.dumps({"Lowercase": "http://10.0.0.5:1980/Lowercase/message/process/sdk"}))
    assert read_routes(str(path)) == {"Lowercase": "http://10.0.0.5:1980/Lowercase/message/process/sdk"}


def test_a_routes_file_that_is_not_an_object_is_refused_with_an_example(tmp_path):
    path = tmp_path / "routes.json"
    path.write_text('["Lowercase"]')
    with pytest.raises(ValueError, match=r'e\.g\. \{"Lowercase": "http://'):
        read_routes(str(path))


def test_the_installed_message_bus_extensions_give_the_routes(tmp_path, monkeypatch):
    write_extension(tmp_path, "AllCapsRoutes", "LowercaseRoutes")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert discover_routes(["AllCapsRoutes"], "http://127.0.0.1:1980/") == {
        "LowercaseRoutes": "http://127.0.0.1:1980/LowercaseRoutes/message/process/sdk"
    }


def test_relay_without_a_message_bus_extension_says_what_to_do(tmp_path):
    (tmp_path / "configuration").mkdir()
    (tmp_path / "configuration" / "settings.py").write_text("INSTALLED_EXTENSIONS = []\n")
    result = subprocess.run(
        [sys.executable, "-m", "q2ext", "relay", "--kafka", "127.0.0.1:1"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(RUNTIME)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "no Message Bus extension is installed" in result.stderr and "--routes" in result.stderr


def test_a_record_is_retried_for_fifteen_minutes_by_default_then_dead_lettered():
    budget = RetryBudget(RelayConfig("127.0.0.1:9", {"Lowercase": "http://h/x"}).retry_for_s)
    assert not budget.spent(started=100.0, now=100.0 + 899)
    assert budget.spent(started=100.0, now=100.0 + 900)


def test_a_retry_budget_of_zero_retries_forever():
    assert not RetryBudget(0).spent(started=0.0, now=10.0**9)


def test_the_retry_budget_reads_its_injected_clock():
    now = [100.0]
    budget = RetryBudget(10, clock=lambda: now[0])
    started = budget.start()
    now[0] += 9.9
    assert not budget.spent(started)
    now[0] += 0.1
    assert budget.spent(started)
