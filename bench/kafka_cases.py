"""The Kafka cases, each on a fresh local broker: baseline B, end to end + memory, latency at a fixed rate."""

from __future__ import annotations

import statistics
import time
from contextlib import contextmanager

from http_cases import Context, push, serve_project
from procs import Proc, cpu_seconds, free_port, get_json, rss_mb, run_json, script

PARTITIONS = 4  # what the relay creates a topic with
WARMUP = 1_000
IDLE_S = 2.5  # the relay checks each second whether it went idle, and hands free memory back if so


@contextmanager
def broker():
    """A fresh in-memory tansu broker (so every case starts on fresh topics)."""
    from q2ext.broker import Broker

    running = Broker(free_port()).start()
    try:
        yield running.bootstrap
    finally:
        running.stop()


def baseline_b(ctx: Context) -> dict:
    """Raw aiokafka produce and group consume of the same sealed records, same broker build."""
    count = ctx.size(50_000, 2_000)
    with broker() as bootstrap:
        argv = [*script("kafka_baseline.py"), "--kafka", bootstrap, "--count", str(count)]
        return run_json([*argv, "--partitions", str(PARTITIONS)], ctx.project.root, ctx.project.env(DEBUG=0))


class Pipeline:
    """Handler (with the bench probe) and a real `python -m q2ext relay` subprocess on one broker."""

    def __init__(self, ctx: Context, bootstrap: str, *relay_flags: str) -> None:
        from q2ext.broker import create_topics_sync

        self.ctx = ctx
        self.push_env = ctx.project.env(DEBUG=0, KAFKA_BOOTSTRAP_SERVERS=bootstrap)
        create_topics_sync(bootstrap, ["sdk-generic.Lowercase"], PARTITIONS)
        self.handler, port = serve_project(
            ctx,
            "kafka-handler",
            debug=False,
            INSTALLED_EXTENSIONS="AllCaps,q2bench_probe",
        )
        self.handler_rss_at_start = rss_mb(self.handler.pid)
        self.stats_url = f"http://{ctx.host}:{port}/_bench/stats"
        self.bootstrap, self.port = bootstrap, port
        self.relay = self._start_relay(*relay_flags)
        self.relay_rss_at_start = rss_mb(self.relay.pid)

    def _start_relay(self, *relay_flags: str) -> Proc:
        ctx = self.ctx
        argv = ctx.project.python("-m", "q2ext", "relay", "--kafka", self.bootstrap, "--debug", "0")
        argv += ["--target", f"http://{ctx.host}:{self.port}", "--metrics-port", "0", "--session-timeout-ms", "2000"]
        argv += list(relay_flags)
        relay = Proc("relay", argv, ctx.project.root, ctx.work, ctx.project.env(DEBUG=0))
        relay.wait_log("relay group")  # connected to the broker, about to join
        return relay

    def restart_relay(self, *relay_flags: str) -> None:
        """The relay again with other flags, in the same group (it goes on from the committed offsets)."""
        self.relay.stop()
        self.relay = self._start_relay(*relay_flags)
        pushed = push(self.ctx, self.push_env, 64, "--keys", "64")  # until it is assigned and delivering
        self.wait_handled(pushed["acked"], 120)
        get_json(self.stats_url + "?reset=1")

    def stop(self) -> None:
        self.relay.stop()
        self.handler.stop()

    def wait_handled(self, count: int, timeout: float) -> dict:
        """Poll the probe until handle() saw count messages since the last reset."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in (self.relay, self.handler):
                if not proc.alive():
                    raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
            handled = get_json(self.stats_url + "?count=1")["handled"]
            if handled >= count:
                return get_json(self.stats_url)
            time.sleep(0.1)
        raise RuntimeError(f"only {handled} of {count} handled in {timeout:.0f}s:\n{self.relay.tail()}")

    def warm_up(self) -> None:
        """Join the group and push a first stream through, then start counting afresh."""
        pushed = push(self.ctx, self.push_env, WARMUP, "--keys", "64")
        # Every acknowledged push, the pusher's connecting one included: counting only WARMUP let the last
        # warm-up message reach handle() after the reset, where the probe took it for an order violation.
        self.wait_handled(pushed["acked"], 120)
        get_json(self.stats_url + "?reset=1")

    def idle_snapshot(self) -> dict:
        """snapshot() once the pipeline has been idle a moment: live memory, not a burst's buffers."""
        time.sleep(IDLE_S)
        return self.snapshot()

    def snapshot(self) -> dict:
        return {
            "relay_cpu_s": cpu_seconds(self.relay.pid),
            "relay_rss_mb": rss_mb(self.relay.pid),
            "handler_rss_mb": rss_mb(self.handler.pid),
        }

    def stream(self, count: int, *options: str) -> dict:
        """Push count messages (ordered per key) and wait until handle() saw them all; the figures."""
        before = self.snapshot()
        pushed = push(self.ctx, self.push_env, count, "--workers", "64", "--keys", "64", *options)
        stats = self.wait_handled(pushed["acked"], 60 + count / 100)
        after = self.snapshot()
        get_json(self.stats_url + "?reset=1")
        span = stats["last"] - pushed["wall_start"]
        return {
            "messages": count,
            "messages_per_s": count / span,
            "p50_ms": stats["p50_ms"],
            "p99_ms": stats["p99_ms"],
            "max_ms": stats["max_ms"],
            "out_of_order": stats["out_of_order"],
            "order_violations": stats.get("violations", []),
            "push_errors": pushed["errors"],
            "pushes_per_s": pushed["pushes_per_s"],
            "relay_cpu_us_per_record": (after["relay_cpu_s"] - before["relay_cpu_s"]) / count * 1e6,
            "before": before,
            "after": after,
        }


def end_to_end(ctx: Context, with_memory: bool) -> dict:
    """push() -> Kafka -> relay -> handle(), ordered per key, at least once; then on to the memory count."""
    count = ctx.size(50_000, 2_000)
    total = ctx.size(200_000, 6_000)
    with broker() as bootstrap:
        pipe = Pipeline(ctx, bootstrap)
        try:
            pipe.warm_up()
            start = pipe.idle_snapshot() if with_memory else None
            result = {"e2e": pipe.stream(count)}
            if with_memory:
                pipe.stream(total - count)
                result["memory"] = memory(pipe, start, pipe.idle_snapshot(), total)
            return result
        finally:
            pipe.stop()


def end_to_end_single(ctx: Context) -> dict:
    """The same path one record per POST (`relay --max-batch 1`, the former default): the gain side by side."""
    with broker() as bootstrap:
        pipe = Pipeline(ctx, bootstrap, "--max-batch", "1")
        try:
            pipe.warm_up()
            return pipe.stream(ctx.size(50_000, 2_000))
        finally:
            pipe.stop()


def light_load(ctx: Context, rate: int = 20) -> dict:
    """p50 push-to-handle() at a light rate, default delivery against --max-batch 1, in alternating rounds.

    One broker and handler; the relay is restarted in the same group for each run, so both modes see the same
    machine minutes, in the order ABBA: in quick runs the second run of a round often came out 0.5-2 ms faster,
    whichever mode. The figure is the difference of the medians of the runs' p50s (each over hundreds of messages):
    a busy 2-core machine moves single runs by a millisecond or two.
    """
    count, rounds = ctx.size(200, 60), ctx.size(4, 2)
    runs: dict[str, list[dict]] = {"adaptive": [], "single": []}
    with broker() as bootstrap:
        pipe = Pipeline(ctx, bootstrap)
        try:
            pipe.warm_up()
            modes = [("adaptive", ()), ("single", ("--max-batch", "1"))]
            for index in range(rounds):  # ABBA: neither mode always runs first after a restart
                for mode, flags in modes if index % 2 == 0 else modes[::-1]:
                    pipe.restart_relay(*flags)
                    runs[mode].append(pipe.stream(count, "--rate", str(rate), "--keys", "1000"))
        finally:
            pipe.stop()
    p50 = {mode: statistics.median(r["p50_ms"] for r in found) for mode, found in runs.items()}
    return {
        "rate": rate,
        "messages_per_round": count,
        "rounds": rounds,
        "messages_per_s": statistics.median(r["messages_per_s"] for r in runs["adaptive"]),
        "push_errors": sum(r["push_errors"] for found in runs.values() for r in found),
        "out_of_order": sum(r["out_of_order"] for found in runs.values() for r in found),
        "p50_ms": p50["adaptive"],
        "single_p50_ms": p50["single"],
        "p50_ms_vs_single": p50["adaptive"] - p50["single"],
        "round_p50_ms": {mode: [round(r["p50_ms"], 2) for r in found] for mode, found in runs.items()},
        "p99_ms": statistics.median(r["p99_ms"] for r in runs["adaptive"]),
        "single_p99_ms": statistics.median(r["p99_ms"] for r in runs["single"]),
    }


def memory(pipe: Pipeline, start: dict, end: dict, total: int) -> dict:
    """RSS of relay and handler, idle after warm-up and idle after `total` more messages."""
    return {
        "messages": total,
        "relay_rss_process_start_mb": pipe.relay_rss_at_start,
        "handler_rss_process_start_mb": pipe.handler_rss_at_start,
        "relay_rss_start_mb": start["relay_rss_mb"],
        "relay_rss_end_mb": end["relay_rss_mb"],
        "handler_rss_start_mb": start["handler_rss_mb"],
        "handler_rss_end_mb": end["handler_rss_mb"],
        "relay_rss_growth_mb": end["relay_rss_mb"] - start["relay_rss_mb"],
        "handler_rss_growth_mb": end["handler_rss_mb"] - start["handler_rss_mb"],
    }


def latency_at_rate(ctx: Context, rate: int = 1_000, *relay_flags: str) -> dict:
    """p99 push-to-handle at a fixed push rate, on a fresh broker and topic, in a short run."""
    count = ctx.size(5_000, 1_000)
    with broker() as bootstrap:
        pipe = Pipeline(ctx, bootstrap, *relay_flags)
        try:
            pipe.warm_up()
            result = pipe.stream(count, "--rate", str(rate), "--keys", "1000")
            result["rate"] = rate
            return result
        finally:
            pipe.stop()
