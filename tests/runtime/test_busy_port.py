"""`make run` / `python -m q2ext run` on a port already in use: one line with the PORT= that fixes it, no traceback.

Real parts: a baked project, a real listener holding the port, the real CLI and the project's real Makefile
(run with this interpreter instead of building .venv) in a fresh machine's environment.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import pytest

from .devux_helpers import bake, free_port, fresh_env, q2ext

ONE_LINE = re.compile(r"error: port (\d+) is in use \(another make run\?\); run make run PORT=(\d+)")


@pytest.fixture(scope="module")
def project(template, tmp_path_factory):
    root = tmp_path_factory.mktemp("busy")
    return bake(template, root / "out", kind="base", name="Hello"), fresh_env(root / "home")


@pytest.fixture
def busy_port():
    """A port something listens on for the test's duration (what an earlier `make run` holds)."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_cli_run_on_a_busy_port_prints_one_line_with_a_free_port_to_use(project, busy_port):
    path, env = project
    result = q2ext(path, "run", "--port", str(busy_port), env={**env, "Q2EXT_HOST": "127.0.0.1"})

    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    found = ONE_LINE.fullmatch(lines[0])
    assert found, lines[0]
    assert int(found.group(1)) == busy_port
    assert int(found.group(2)) > busy_port and is_free(int(found.group(2)))


def test_make_run_on_a_busy_port_ends_with_the_one_line(project, busy_port):
    path, env = project
    result = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "run", f"PORT={busy_port}", f"PY={sys.executable}"],
        cwd=path,
        env={**env, "Q2EXT_HOST": "127.0.0.1"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make:")]
    assert len(ours) == 1 and ONE_LINE.fullmatch(ours[0]), result.stderr


def _hold_three_ports_in_a_row() -> tuple[int, list[socket.socket]]:
    """Listening sockets on three consecutive free ports (another run of ports if a test elsewhere took one)."""
    for _ in range(50):
        first, holders = free_port(), []
        try:
            for port in (first, first + 1, first + 2):
                holder = socket.socket()
                holders.append(holder)
                holder.bind(("127.0.0.1", port))
                holder.listen()
            return first, holders
        except OSError:
            for holder in holders:
                holder.close()
    raise AssertionError("found no three free ports in a row in 50 tries")


def test_the_suggested_port_is_past_a_run_of_busy_ones(project):
    path, env = project
    first, holders = _hold_three_ports_in_a_row()
    try:
        result = q2ext(path, "run", "--port", str(first), env={**env, "Q2EXT_HOST": "127.0.0.1"})
    finally:
        for holder in holders:
            holder.close()

    found = ONE_LINE.fullmatch(result.stderr.strip())
    assert found and int(found.group(2)) >= first + 3, result.stderr
