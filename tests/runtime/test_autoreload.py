"""In DEBUG `python -m q2ext run` restarts itself when an extension or the settings change; not out of DEBUG.

Real parts: a baked project with a Base extension, its server as its own process, real GETs. Tornado checks the
files every 0.5 s and notes their times on its first check: an edit made before that first check would count as
the starting point, so while waiting the test moves the file's time on until the server says it restarts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .devux_helpers import Server, bake, fresh_env, q2ext, start_server, wait_until

RESTARTING = "modified; restarting server"


@pytest.fixture
def project(template, tmp_path) -> tuple[Path, dict[str, str]]:
    return bake(template, tmp_path / "out", kind="base", name="Hello"), fresh_env(tmp_path / "home")


@pytest.fixture
def running(project):
    servers: list[Server] = []

    def start(*args: str) -> Server:
        servers.append(start_server(*project, *args))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def edit_until_restarted(server: Server, path: Path, edit) -> None:
    """Make the edit, then move the file's time on (never back) until the server logs its restart."""
    restarts = server.log.count(RESTARTING)
    edit(path)
    stamp = path.stat().st_mtime_ns

    def touch() -> None:
        nonlocal stamp
        stamp += 1_000_000_000
        os.utime(path, ns=(stamp, stamp))

    wait_until(lambda: server.log.count(RESTARTING) > restarts, f"a restart after {path.name} changed", tick=touch)


def body_is(server: Server, path: str, text: str) -> bool:
    try:
        return server.get(path).text == text
    except OSError:  # between the old process and the new one
        return False


def test_debug_server_serves_an_edited_extension_without_a_manual_restart(running, project):
    server = running()
    source = project[0] / "Hello" / "extension.py"
    assert server.get("/Hello").text == "Hello from Hello"

    edit_until_restarted(server, source, lambda p: p.write_text(p.read_text().replace("Hello from", "Edited:")))

    wait_until(lambda: body_is(server, "/Hello", "Edited: Hello"), "GET /Hello showing the edited get()")


def test_restart_keeps_the_process_and_its_command_line(running, project):
    server = running("--log", "INFO")
    cmdline = Path(f"/proc/{server.proc.pid}/cmdline")
    before = cmdline.read_bytes()
    source = project[0] / "Hello" / "extension.py"

    edit_until_restarted(server, source, lambda p: p.write_text(p.read_text().replace("Hello from", "Again:")))

    wait_until(lambda: body_is(server, "/Hello", "Again: Hello"), "GET /Hello showing the edited get()")
    assert cmdline.read_bytes() == before
    assert before.split(b"\0")[1:-1] == [
        b"-m",
        b"q2ext",
        b"run",
        b"--port",
        str(server.port).encode(),
        b"--log",
        b"INFO",
    ]


def test_debug_server_serves_an_extension_added_to_the_settings(running, project):
    server = running()
    path, env = project
    settings = path / "configuration" / "settings.py"

    def add(_settings: Path) -> None:
        added = q2ext(path, "extension", "Added", "--kind", "base", env=env)
        assert added.returncode == 0, added.stderr

    edit_until_restarted(server, settings, add)

    wait_until(lambda: body_is(server, "/Added", "Hello from Added"), "GET /Added served after the restart")


def test_code_broken_by_an_edit_is_reported_and_the_fix_is_served(running, project):
    server = running()
    source = project[0] / "Hello" / "extension.py"
    good = source.read_text()

    edit_until_restarted(server, source, lambda p: p.write_text(good.replace("async def get(self):", "def get(self)")))
    wait_until(lambda: "DEBUG: fix it and save" in server.log, "the server reporting the broken code")
    assert "SyntaxError" in server.log and server.proc.poll() is None
    edit_until_restarted(server, source, lambda p: p.write_text(good.replace("Hello from", "Fixed:")))

    wait_until(lambda: body_is(server, "/Hello", "Fixed: Hello"), "GET /Hello showing the fixed get()")


def test_server_out_of_debug_does_not_watch_the_code(running):
    server = running("--debug", "0")

    assert "watching the code" not in server.log
    assert "watching the code" in running().log  # the same project in DEBUG does
