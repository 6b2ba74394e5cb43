"""Message keys are needed where messages are handled: a Message Bus extension installed (or code that pushes).

A project with only an Online extension serves DEBUG=0 without any key ring and prints no key warning in
DEBUG; a push from it without keys fails with one line; a Message Bus project still refuses DEBUG=0
without a real ring. Real parts: baked projects, `python -m q2ext run` / `push` as their own processes.
"""

from __future__ import annotations

import pytest

from .devux_helpers import bake, fresh_env, q2ext, start_server


@pytest.fixture(scope="module")
def online(template, tmp_path_factory):
    root = tmp_path_factory.mktemp("online")
    return bake(template, root / "out", kind="online", name="Banking"), fresh_env(root / "home")


@pytest.fixture(scope="module")
def message_bus(template, tmp_path_factory):
    root = tmp_path_factory.mktemp("bus")
    return bake(template, root / "out"), fresh_env(root / "home")


def warnings_in(log: str) -> list[str]:
    return [line for line in log.splitlines() if " WARNING " in line or " ERROR " in line]


def test_online_only_project_runs_out_of_debug_without_a_key_ring(online):
    server = start_server(*online, "--debug", "0")
    try:
        assert server.get("/health").json()["status"] == "ok"
        log = server.log
    finally:
        server.stop()

    assert "production" in log
    assert warnings_in(log) == []
    assert not (online[0] / ".q2ext" / "keyring.json").exists()


def test_online_only_project_prints_no_key_warning_in_debug(online):
    server = start_server(*online)
    try:
        log = server.log
    finally:
        server.stop()

    assert warnings_in(log) == []
    assert "DEVELOPMENT" not in log and "make keys" not in log
    assert not (online[0] / ".q2ext" / "keyring.dev.json").exists()


def test_push_command_without_keys_fails_with_one_line_that_says_make_keys(online):
    path, env = online
    result = q2ext(path, "push", "--debug", "0", "--type", "Lowercase", "--text", "hi", env=env)

    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "no key ring" in lines[0] and "make keys" in lines[0]


def test_push_from_a_page_without_keys_fails_with_a_one_line_push_error(template, tmp_path):
    project = bake(template, tmp_path / "out", kind="base", name="Sender")
    source = project / "Sender" / "extension.py"
    text = source.read_text().replace('self.write("Hello from Sender")', "await push(self.logger, 'hi', 'Lowercase')")
    source.write_text("from q2_sdk.core.message_bus import push\n" + text)
    server = start_server(project, fresh_env(tmp_path / "home"), "--debug", "0")
    try:
        status = server.get("/Sender").status
        log = server.log
    finally:
        server.stop()

    assert status == 500
    assert (
        "PushError: push() needs the message keys: no key ring: DEBUG is off, so a real key ring is required. "
        "Run `make keys`" in log
    )


def test_message_bus_project_still_refuses_to_run_out_of_debug_without_a_key_ring(message_bus):
    path, env = message_bus
    result = q2ext(path, "run", "--debug", "0", env={**env, "Q2EXT_METRICS_PORT": "0"})

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: no key ring: DEBUG is off, so a real key ring is required. Run `make keys` (writes "
        ".q2ext/keyring.json), or set Q2EXT_KEYRING or Q2EXT_KEYRING_FILE"
    ]
