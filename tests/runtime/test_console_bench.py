"""`python bench/console.py --quick --rounds 1` runs and reports every figure (never a speed: bench/README.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
FIGURES = (
    "hook_us",
    "stream_us",
    "msg_per_s",
    "server_cpu_us_per_msg",
    "capacity_watched_vs_off",
    "rate_watched_vs_off",
)


def test_console_bench_reports_every_figure_and_streams_events():
    done = subprocess.run(
        [sys.executable, str(BENCH / "console.py"), "--quick", "--rounds", "1"],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(name in result for name in FIGURES), sorted(result)
    assert set(result["msg_per_s"]) == {"off", "on", "watched"}
    assert result["events_streamed"] > 0  # the watched slices' reader got the deliveries as they happened
