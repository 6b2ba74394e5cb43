"""A loopback push to a type nobody consumes says, in one line, which types are consumed and which one was meant.

Real parts: a baked project whose AllCaps consumes Lowercase and Upper consumes Uppercase, its server
(`python -m q2ext run`, DEBUG) on a loopback port, and pushes with `python -m q2ext push`. The server is
started serving AllCaps only (Q2EXT_INSTALLED_EXTENSIONS), as if Upper had been added after `make run`.
"""

from __future__ import annotations

import pytest

from .devux_helpers import bake, fresh_env, q2ext, start_server


@pytest.fixture(scope="module")
def project(template, tmp_path_factory):
    root = tmp_path_factory.mktemp("loopback")
    project = bake(template, root / "out")
    env = fresh_env(root / "home")
    added = q2ext(project, "extension", "Upper", "--kind", "message_bus", "--type", "Uppercase", env=env)
    assert added.returncode == 0, added.stderr
    return project, env


@pytest.fixture(scope="module")
def server(project):
    path, env = project
    running = start_server(path, {**env, "Q2EXT_INSTALLED_EXTENSIONS": "AllCaps"})
    yield running
    running.stop()


def push(project, server, message_type: str):
    path, env = project
    return q2ext(
        path,
        "push",
        "--port",
        str(server.port),
        "--type",
        message_type,
        "--text",
        "hi",
        env={**env, "Q2EXT_HOST": "127.0.0.1"},
    )


def test_push_of_a_type_nobody_consumes_names_the_consumed_types_and_the_near_one(project, server):
    result = push(project, server, "lowercase")

    assert result.returncode == 1
    assert result.stderr.splitlines() == [  # one line, and no POST was sent (no "Sending HTTP request" line)
        "error: loopback bus: no extension of this project consumes 'lowercase' messages "
        "(it consumes Lowercase, Uppercase); did you mean 'Lowercase'?"
    ]


def test_a_misspelt_type_gets_the_closest_spelling_suggested(project, server):
    result = push(project, server, "Uppercsae")

    assert result.stderr.strip().endswith("did you mean 'Uppercase'?")


def test_push_the_running_server_does_not_consume_is_told_what_it_does_consume_after_its_404(project, server):
    result = push(project, server, "Uppercase")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "<html" not in result.stderr
    assert result.stderr.splitlines()[-1:] == [
        f"error: loopback bus: the server at http://127.0.0.1:{server.port} answered 404: no handler there "
        "consumes 'Uppercase' messages (it consumes Lowercase)"
    ]


def test_push_of_a_consumed_type_still_reaches_its_handler(project, server):
    result = push(project, server, "Lowercase")

    assert result.returncode == 0, result.stderr
    assert "pushed message" in result.stdout and "of type Lowercase onto the loopback bus" in result.stdout


def test_the_404_of_an_unserved_bus_path_lists_the_consumed_types_in_debug(server):
    response = server.get("/Nobody/message/process/sdk")

    assert response.status == 404
    assert response.json() == {
        "status": 404,
        "error": "no handler consumes 'Nobody' messages on this server",
        "consumes": ["Lowercase"],
    }
