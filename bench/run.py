"""`make bench`: bake the seed project, measure every path against baselines of the same run, report.

    python bench/run.py [--quick] [--only NAME ...] [--rounds N] [--out DIR]

Cases: baseline_a, handler_ingest, handler_ingest_pg, batch, loopback, baseline_b, latency, latency_500,
latency_20, kafka_e2e, single_e2e, memory, peer_plain, peer_faststream (the peers: dev-only, skipped when
faststream is not installed).
Writes DIR/results.json and DIR/bench.png (DIR defaults to bench/), prints one table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import http_cases
import kafka_cases
import peer_cases
import report
from procs import BENCH
from project import bake

sys.path.insert(0, str(BENCH.parent / "scripts"))
from pg_local import LocalPostgres  # noqa: E402

HTTP_CASES = ("baseline_a", "handler_ingest", "handler_ingest_pg", "batch", "loopback")
KAFKA_CASES = ("baseline_b", "latency", "latency_500", "latency_20", "kafka_e2e", "single_e2e", "memory")
KAFKA_CASES += ("peer_plain", "peer_faststream")
CASES = HTTP_CASES + KAFKA_CASES
BATCH_PER_POST = 100


def median_run(runs: list[dict]) -> dict:
    """The run with the median rate (its own latencies come with it), plus every round's rate."""
    key = "records_per_s"
    ordered = sorted(runs, key=lambda r: r[key])
    return {**ordered[len(ordered) // 2], "rounds": [round(r[key], 1) for r in runs]}


def http_rounds(ctx: http_cases.Context, ring, wanted: set[str], rounds: int) -> dict:
    """Baseline A, handler ingest and batch ingest in alternating short slices, servers up, the same POSTs.

    This machine's speed drifts by up to 1.5x within minutes, and a round of 10,000 requests per server
    (a server started per round) gave paired ratios from 0.68 to 1.02 in one run; slices of a few seconds,
    one right after the other, keep each pair on the same machine speed. Batch slices (100 records per POST)
    go to the same handler process as the single POSTs. handler_ingest_pg: a second handler process whose seen-id
    store is a PostgreSQL server on this machine (started here, scripts/pg_local.py), the same POSTs.
    """
    runs: dict[str, list[dict]] = {"baseline_a": [], "handler_ingest": [], "handler_ingest_pg": [], "batch": []}
    with contextlib.ExitStack() as started:  # whatever started is stopped, even if a later start fails
        baseline = http_cases.serve_baseline(ctx)
        started.callback(baseline[0].stop)
        handler = http_cases.serve_handler(ctx) if wanted & {"handler_ingest", "batch"} else None
        if handler:
            started.callback(handler[0].stop)
        postgres = LocalPostgres().start() if "handler_ingest_pg" in wanted else None
        if postgres:
            started.callback(postgres.close)
        handler_pg = http_cases.serve_handler(ctx, SEEN_IDS_URL=postgres.url) if postgres else None
        if handler_pg:
            started.callback(handler_pg[0].stop)
        for index in range(rounds):
            posts, warm = http_cases.single_slice(ctx, ring, f"h{index}")
            runs["baseline_a"].append(http_cases.measure_running(ctx, *baseline, posts, warm))
            if "handler_ingest" in wanted:
                runs["handler_ingest"].append(http_cases.measure_running(ctx, *handler, posts, warm))
            if handler_pg:
                runs["handler_ingest_pg"].append(http_cases.measure_running(ctx, *handler_pg, posts, warm))
            if "batch" in wanted:
                runs["batch"].append(http_cases.batch_slice(ctx, ring, *handler, BATCH_PER_POST, f"b{index}"))
    out = {name: median_run(found) for name, found in runs.items() if found}
    for name in ("handler_ingest", "handler_ingest_pg", "batch"):  # each slice against the baseline slice of its round
        if runs[name]:
            pairs = zip(runs["baseline_a"], runs[name], strict=True)
            out[name]["paired_ratios"] = [round(h["records_per_s"] / b["records_per_s"], 3) for b, h in pairs]
    if runs["handler_ingest"]:  # server CPU per message against baseline A's per request, round by round
        pairs = zip(runs["baseline_a"], runs["handler_ingest"], strict=True)
        out["handler_ingest"]["paired_cpu_ratios"] = [
            round(h["server_cpu_us_per_request"] / b["server_cpu_us_per_request"], 3) for b, h in pairs
        ]
    return out


def baseline_again(ctx: http_cases.Context, ring, raw: dict) -> None:
    """One more baseline A round after the Kafka cases: the ratios use the median of every round of the run."""
    again = http_cases.baseline_a(ctx, *http_cases.single_slice(ctx, ring, "hend"))
    raw["baseline_a"]["rounds"].append(round(again["records_per_s"], 1))


def measure(ctx: http_cases.Context, wanted: set[str], rounds: int) -> dict:
    """Run the wanted cases; baseline A always runs, since every ratio is against it."""
    ring = ctx.project.ring()
    raw = http_rounds(ctx, ring, wanted, rounds)
    steps = [
        ("loopback", lambda: http_cases.loopback(ctx)),
        ("baseline_b", lambda: kafka_cases.baseline_b(ctx)),
        ("latency", lambda: kafka_cases.latency_at_rate(ctx)),
        ("latency_500", lambda: kafka_cases.latency_at_rate(ctx, 500)),
        ("latency_20", lambda: kafka_cases.light_load(ctx, 20)),
        ("single_e2e", lambda: kafka_cases.end_to_end_single(ctx)),
        ("peer_plain", lambda: peer_cases.plain_relay(ctx)),
        ("peer_faststream", lambda: peer_cases.faststream_ack(ctx)),
    ]
    for name, step in steps:
        if name in wanted:
            _say(f"case {name}")
            raw[name] = step()
    if wanted & {"kafka_e2e", "memory"}:
        _say("case kafka_e2e" + (" + memory" if "memory" in wanted else ""))
        raw.update(
            {("kafka_e2e" if k == "e2e" else k): v for k, v in kafka_cases.end_to_end(ctx, "memory" in wanted).items()}
        )
    if wanted.intersection(KAFKA_CASES):
        _say("baseline A again, after the Kafka cases")
        baseline_again(ctx, ring, raw)
    return raw


def _say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (the smoke test's)")
    parser.add_argument("--only", action="append", choices=CASES, help="run only this case (repeatable)")
    parser.add_argument("--rounds", type=int, help="rounds of baseline A / handler / batch slices (default 7, quick 1)")
    parser.add_argument("--connections", type=int, default=16, help="load client connections")
    parser.add_argument("--out", type=Path, default=BENCH, help="folder for results.json and bench.png")
    args = parser.parse_args(argv)
    wanted = set(args.only or CASES)
    rounds = args.rounds or (1 if args.quick else 7)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="q2ext-bench-") as tmp:
        _say("baking the seed project")
        project = bake(Path(tmp))
        ctx = http_cases.Context(project, Path(tmp), args.quick, args.connections)
        raw = measure(ctx, wanted, rounds)
        meta = {
            "quick": args.quick,
            "rounds": rounds,
            "connections": args.connections,
            "project_baked": project.how,
            "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
            "seconds": round(time.monotonic() - started, 1),
            "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
    heads = report.headline(raw)
    args.out.mkdir(parents=True, exist_ok=True)
    report.write_json(args.out / "results.json", raw, heads, meta)
    report.chart(args.out / "bench.png", raw, f"q2ext bench {'(quick) ' if args.quick else ''}{meta['when']}")
    print(report.table(raw, heads))
    print(f"project baked {project.how}")
    print(f"wrote {args.out / 'results.json'} and {args.out / 'bench.png'} in {meta['seconds']:.0f}s")
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in heads.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
