"""`python bench/run.py --quick` runs every case and reports every figure (never a speed: that is bench/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TARGET_KEYS = (  # the issues' targets; the others are reported without one
    "handler_ingest_ratio",
    "kafka_e2e_ratio",
    "batch_ratio",
    "kafka_p99_ms_at_1000",
    "kafka_p50_ms_at_20_vs_single",
    "relay_cpu_us_per_record",
    "relay_rss_growth_mb",
    "handler_rss_growth_mb",
    "handler_ingest_pg_ratio",
)
HEADLINE_KEYS = TARGET_KEYS + (
    "single_e2e_ratio",
    "single_relay_cpu_us_per_record",
    "handler_cpu_ratio",
    "peer_plain_relay_ratio",
    "peer_faststream_ack_ratio",
    "relay_cpu_vs_load_client_cpu",
)
RAW_CASES = (
    "baseline_a",
    "handler_ingest",
    "handler_ingest_pg",
    "batch",
    "loopback",
    "baseline_b",
    "latency",
    "latency_500",
    "latency_20",
    "kafka_e2e",
    "single_e2e",
    "memory",
    "peer_plain",
    "peer_faststream",
)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done.stdout, json.loads((out / "results.json").read_text())


def test_quick_bench_writes_every_headline_figure_as_a_number(quick_run):
    _, _, results = quick_run
    assert {key: type(results[key]).__name__ for key in HEADLINE_KEYS} == {key: "float" for key in HEADLINE_KEYS}


def test_quick_bench_keeps_the_raw_figures_of_every_case(quick_run):
    _, _, results = quick_run
    assert sorted(results["raw"]) == sorted(RAW_CASES)


def test_every_message_of_every_case_was_handled_without_error(quick_run):
    _, _, results = quick_run
    raw = results["raw"]
    failures = {
        "handler_ingest": raw["handler_ingest"]["requests"] - raw["handler_ingest"]["records_ok"],
        "handler_ingest_pg": raw["handler_ingest_pg"]["requests"] - raw["handler_ingest_pg"]["records_ok"],
        "batch": raw["batch"]["records"] - raw["batch"]["records_ok"],
        "loopback": raw["loopback"]["errors"],
        "kafka_e2e": raw["kafka_e2e"]["push_errors"] + raw["kafka_e2e"]["out_of_order"],
        "latency": raw["latency"]["push_errors"] + raw["latency"]["out_of_order"],
        "latency_500": raw["latency_500"]["push_errors"] + raw["latency_500"]["out_of_order"],
        "single_e2e": raw["single_e2e"]["push_errors"] + raw["single_e2e"]["out_of_order"],
        "latency_20": raw["latency_20"]["push_errors"] + raw["latency_20"]["out_of_order"],
    }
    violations = {case: raw[case].get("order_violations") for case in ("kafka_e2e", "latency", "single_e2e")}
    assert failures == dict.fromkeys(failures, 0), violations


def test_quick_bench_prints_a_verdict_next_to_each_target(quick_run):
    _, stdout, _ = quick_run
    verdict_lines = [line for line in stdout.splitlines() if line.endswith(("PASS", "FLOOR", "MISS"))]
    assert len(verdict_lines) == len(TARGET_KEYS)


def test_quick_bench_draws_a_png_chart(quick_run):
    out, _, _ = quick_run
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_baseline_a_is_measured_again_after_the_kafka_cases(quick_run):
    _, stdout, results = quick_run
    rounds = results["raw"]["baseline_a"]["rounds"]
    assert len(rounds) == 2 and all(rate > 0 for rate in rounds)  # --quick: one round at the start, one at the end
    assert f"median of its rounds {rounds}" in stdout


def test_handler_ingest_ratio_is_the_median_of_its_paired_rounds(quick_run):
    _, _, results = quick_run
    pairs = results["raw"]["handler_ingest"]["paired_ratios"]
    assert len(pairs) == 1 and results["handler_ingest_ratio"] == pairs[0]
