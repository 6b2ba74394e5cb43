"""The bus tests pass with the bus lane off too: what every request gets on a Tornado release it was not tested with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUS_TESTS = (
    "tests/wire",
    "tests/security/test_http_refusals.py",
    "tests/security/test_json_bodies.py",
    "tests/security/test_replay.py",
    "tests/runtime/test_base_handler.py",
)


def test_the_bus_tests_pass_on_tornados_full_path():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *BUS_TESTS],
        cwd=ROOT,
        env={**os.environ, "Q2EXT_BUS_LANE": "0"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
