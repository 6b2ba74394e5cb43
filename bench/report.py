"""The bench's outputs: one printed table, results.json (ratios next to raw figures), one PNG chart."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Target:
    """A goal from the benchmark issue: the figure's results.json key, its bound, and which side passes."""

    key: str
    bound: float
    above: bool  # True: the value must be at least bound; False: below it
    floor: float | None = None  # (above only) at least this is acceptable, short of the goal: FLOOR, not MISS

    def verdict(self, value: float | None) -> str:
        if value is None:
            return "-"
        if value >= self.bound if self.above else value < self.bound:
            return "PASS"
        return "FLOOR" if self.floor is not None and value >= self.floor else "MISS"

    def text(self) -> str:
        floor = f" (floor {self.floor:g})" if self.floor is not None else ""
        return f"{'>=' if self.above else '<'} {self.bound:g}{floor}"


TARGETS = {
    "handler_ingest_ratio": Target("handler_ingest_ratio", 0.85, True),
    "handler_ingest_pg_ratio": Target("handler_ingest_pg_ratio", 0.85, True, floor=0.75),
    "kafka_e2e_ratio": Target("kafka_e2e_ratio", 3.0, True, floor=2.0),  # default (adaptive) delivery
    "batch_ratio": Target("batch_ratio", 5.0, True),
    "kafka_p99_ms_at_1000": Target("kafka_p99_ms_at_1000", 50.0, False),  # goal 20
    "kafka_p50_ms_at_20_vs_single": Target("kafka_p50_ms_at_20_vs_single", 2.0, False),  # goal 0.5
    "relay_cpu_us_per_record": Target("relay_cpu_us_per_record", 80.0, False),  # goal 40
    "relay_rss_growth_mb": Target("relay_rss_growth_mb", 20.0, False),
    "handler_rss_growth_mb": Target("handler_rss_growth_mb", 20.0, False),
}


def _get(data: dict, path: str):
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _ratio(value, base):
    return value / base if value is not None and base else None


def baseline_rate(raw: dict) -> float | None:
    """Baseline A's requests/s for the ratios: the median of every round of the run (start and end)."""
    rounds = _get(raw, "baseline_a.rounds")
    return statistics.median(rounds) if rounds else _get(raw, "baseline_a.requests_per_s")


def _paired(raw: dict, case: str, base: float | None) -> float | None:
    """The median of the case's slices each against the baseline A slice of its round (else against base)."""
    pairs = _get(raw, f"{case}.paired_ratios")
    return statistics.median(pairs) if pairs else _ratio(_get(raw, f"{case}.records_per_s"), base)


def _median(values):
    return statistics.median(values) if values else None


def headline(raw: dict) -> dict:
    """The keys the issue asks for, each computed from the raw figures of this run."""
    base = baseline_rate(raw)
    return {
        "handler_ingest_ratio": _paired(raw, "handler_ingest", base),
        "handler_ingest_pg_ratio": _paired(raw, "handler_ingest_pg", base),
        "kafka_e2e_ratio": _ratio(_get(raw, "kafka_e2e.messages_per_s"), base),
        "single_e2e_ratio": _ratio(_get(raw, "single_e2e.messages_per_s"), base),
        "single_relay_cpu_us_per_record": _get(raw, "single_e2e.relay_cpu_us_per_record"),
        "peer_plain_relay_ratio": _ratio(_get(raw, "peer_plain.records_per_s"), base),
        "peer_faststream_ack_ratio": _ratio(_get(raw, "peer_faststream.records_per_s"), base),
        "handler_cpu_ratio": _median(_get(raw, "handler_ingest.paired_cpu_ratios")),
        "batch_ratio": _paired(raw, "batch", base),
        "loopback_ratio": _ratio(_get(raw, "loopback.pushes_per_s"), base),
        "kafka_p99_ms_at_1000": _get(raw, "latency.p99_ms"),
        "kafka_p50_ms_at_20_vs_single": _get(raw, "latency_20.p50_ms_vs_single"),
        "kafka_p99_ms_at_500": _get(raw, "latency_500.p99_ms"),
        "relay_cpu_us_per_record": _get(raw, "kafka_e2e.relay_cpu_us_per_record"),
        "relay_cpu_vs_baseline_a_cpu": _ratio(
            _get(raw, "kafka_e2e.relay_cpu_us_per_record"), _get(raw, "baseline_a.server_cpu_us_per_request")
        ),
        "relay_cpu_vs_load_client_cpu": _ratio(
            _get(raw, "kafka_e2e.relay_cpu_us_per_record"), _get(raw, "baseline_a.client_cpu_us_per_request")
        ),
        "relay_rss_growth_mb": _get(raw, "memory.relay_rss_growth_mb"),
        "handler_rss_growth_mb": _get(raw, "memory.handler_rss_growth_mb"),
    }


# (label, raw path of the value, unit, headline key of its ratio or target)
ROWS = [
    ("baseline A: plain Tornado POST", "baseline_a.requests_per_s", "req/s", None),
    ("handler ingest (sealed, 1/POST)", "handler_ingest.records_per_s", "msg/s", "handler_ingest_ratio"),
    ("handler ingest p99", "handler_ingest.p99_ms", "ms", None),
    ("handler ingest, PostgreSQL seen ids", "handler_ingest_pg.records_per_s", "msg/s", "handler_ingest_pg_ratio"),
    ("handler ingest p99, PostgreSQL", "handler_ingest_pg.p99_ms", "ms", None),
    ("batch ingest (records/POST)", "batch.records_per_s", "msg/s", "batch_ratio"),
    ("loopback push()->handle() DEBUG", "loopback.pushes_per_s", "msg/s", "loopback_ratio"),
    ("baseline B: aiokafka produce", "baseline_b.produce_per_s", "rec/s", None),
    ("baseline B: aiokafka group consume", "baseline_b.consume_per_s", "rec/s", None),
    ("Kafka e2e ordered push->handle()", "kafka_e2e.messages_per_s", "msg/s", "kafka_e2e_ratio"),
    ("Kafka e2e p99 (saturated)", "kafka_e2e.p99_ms", "ms", None),
    ("Kafka p99 at 1,000 msg/s", "latency.p99_ms", "ms", "kafka_p99_ms_at_1000"),
    ("Kafka p99 at 500 msg/s", "latency_500.p99_ms", "ms", None),
    ("Kafka p50 at 20 msg/s", "latency_20.p50_ms", "ms", None),
    ("Kafka p50 at 20 msg/s, --max-batch 1", "latency_20.single_p50_ms", "ms", None),
    ("  difference (default - single)", "latency_20.p50_ms_vs_single", "ms", "kafka_p50_ms_at_20_vs_single"),
    ("Kafka e2e, relay --max-batch 1", "single_e2e.messages_per_s", "msg/s", "single_e2e_ratio"),
    ("relay CPU per record", "kafka_e2e.relay_cpu_us_per_record", "us", "relay_cpu_us_per_record"),
    ("relay CPU per record, --max-batch 1", "single_e2e.relay_cpu_us_per_record", "us", None),
    ("load client CPU per POST (baseline A)", "baseline_a.client_cpu_us_per_request", "us", None),
    ("handler CPU per msg / baseline A's", "handler_ingest.server_cpu_us_per_request", "us", "handler_cpu_ratio"),
    ("peer: aiokafka->aiohttp relay, plain", "peer_plain.records_per_s", "rec/s", "peer_plain_relay_ratio"),
    ("peer: FastStream, ack per message", "peer_faststream.records_per_s", "rec/s", "peer_faststream_ack_ratio"),
    ("relay RSS growth", "memory.relay_rss_growth_mb", "MB", "relay_rss_growth_mb"),
    ("handler RSS growth", "memory.handler_rss_growth_mb", "MB", "handler_rss_growth_mb"),
]


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def _fmt_ratio(value) -> str:
    """Three decimals: a ratio of 0.849 against a target of 0.85 must not print as 0.85 next to MISS."""
    return "-" if value is None else f"{value:.3f}"


def table(raw: dict, heads: dict) -> str:
    """The printed table: figure, value, baseline, ratio, target and PASS/MISS."""
    base = baseline_rate(raw)
    lines = [f"{'figure':36} {'value':>10} {'unit':7} {'baseline A':>10} {'ratio':>7}  target"]
    for label, path, unit, key in ROWS:
        value = base if path == "baseline_a.requests_per_s" else _get(raw, path)
        ratio = heads.get(key) if key and key.endswith("ratio") else None
        target = TARGETS.get(key) if key else None
        verdict = f"{target.text():9} {target.verdict(heads.get(key))}" if target else ""
        shown_base = _fmt(base) if ratio is not None and unit.endswith("/s") else ""  # a CPU ratio: not req/s
        lines.append(f"{label:36} {_fmt(value):>10} {unit:7} {shown_base:>10} {_fmt_ratio(ratio):>7}  {verdict}")
    rounds = _get(raw, "baseline_a.rounds")
    if rounds:
        lines.append(f"baseline A: median of its rounds {rounds} req/s")
    for case, label in (("handler_ingest", "handler ingest"), ("handler_ingest_pg", "PostgreSQL"), ("batch", "batch")):
        pairs = _get(raw, f"{case}.paired_ratios")
        if pairs:
            lines.append(f"{label} ratio: median of each round's ratio to the baseline run just before it {pairs}")
    return "\n".join(lines)


def write_json(path: Path, raw: dict, heads: dict, meta: dict) -> None:
    """results.json: the headline keys first, then the raw figures they come from."""
    verdicts = {key: target.verdict(heads.get(key)) for key, target in TARGETS.items()}
    doc = {**heads, "targets": {k: t.text() for k, t in TARGETS.items()}, "verdicts": verdicts, **meta, "raw": raw}
    path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")


# (label, raw path of messages/s, raw path of p50 ms, raw path of p99 ms)
PATHS = [
    ("baseline A", "baseline_a.requests_per_s", "baseline_a.p50_ms", "baseline_a.p99_ms"),
    ("handler ingest", "handler_ingest.records_per_s", "handler_ingest.p50_ms", "handler_ingest.p99_ms"),
    ("handler, PostgreSQL", "handler_ingest_pg.records_per_s", "handler_ingest_pg.p50_ms", "handler_ingest_pg.p99_ms"),
    ("batch ingest", "batch.records_per_s", "batch.p50_ms", "batch.p99_ms"),
    ("loopback", "loopback.pushes_per_s", "loopback.p50_ms", "loopback.p99_ms"),
    ("Kafka e2e", "kafka_e2e.messages_per_s", "kafka_e2e.p50_ms", "kafka_e2e.p99_ms"),
    ("Kafka @1000/s", "latency.messages_per_s", "latency.p50_ms", "latency.p99_ms"),
    ("Kafka @500/s", "latency_500.messages_per_s", "latency_500.p50_ms", "latency_500.p99_ms"),
    ("Kafka @20/s", "latency_20.messages_per_s", "latency_20.p50_ms", "latency_20.p99_ms"),
    ("Kafka e2e --max-batch 1", "single_e2e.messages_per_s", "single_e2e.p50_ms", "single_e2e.p99_ms"),
    ("peer plain relay", "peer_plain.records_per_s", None, None),
    ("peer FastStream ack", "peer_faststream.records_per_s", None, None),
]


def chart(path: Path, raw: dict, title: str) -> None:
    """One PNG: messages/s per path (left) and p50/p99 latency per path (right, log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rate = {"baseline_a.requests_per_s": baseline_rate(raw)}  # the median of its rounds, as in the table
    rows = [
        (label, rate.get(r) or _get(raw, r), p50 and _get(raw, p50), p99 and _get(raw, p99))
        for label, r, p50, p99 in PATHS
    ]
    rows = [row for row in rows if row[1] is not None]
    labels = [row[0] for row in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    left.barh(labels, [row[1] for row in rows], color="#4c72b0")
    left.set_xlabel("messages per second (higher is better)")
    left.invert_yaxis()
    for y, row in enumerate(rows):
        left.text(row[1], y, f" {row[1]:,.0f}", va="center", fontsize=8)
    for column, shift, label in ((2, -0.2, "p50"), (3, 0.2, "p99")):
        timed = [(y, row[column]) for y, row in enumerate(rows) if row[column] is not None]
        right.barh([y + shift for y, _ in timed], [max(ms, 0.01) for _, ms in timed], height=0.4, label=label)
    for y, row in enumerate(rows):
        if row[2] is None and row[3] is None:  # e.g. the peers: records pre-produced, throughput only
            right.text(0.02, y, "not measured", transform=right.get_yaxis_transform(), va="center", fontsize=8)
    right.set_yticks(list(range(len(rows))), labels)
    right.set_ylim(len(rows) - 0.5, -0.5)  # every row, first at the top, as on the left
    right.set_xscale("log")
    right.set_xlabel("latency, ms (log scale; lower is better)")
    right.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
