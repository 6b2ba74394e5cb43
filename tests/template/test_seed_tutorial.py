"""The seed's Message Bus tutorial, word for word, on a freshly baked project, through its real Makefile.

One walk (scripts/seed_tutorial.py, the same steps as `make demo`): the cookiecutter CLI bakes AllCaps,
`make extension NAME=SendToBus KIND=base` builds the project's own .venv from PyPI and adds SendToBus,
`make test` passes, the tutorial's handle() and get() go in (and pass `make lint`), `make run LOG=DEBUG`
serves on a free port and GET /SendToBus pushes 'hello world', and `make test` passes again at the end. It runs
as on a new user's machine: an empty HOME and a fresh machine's PATH. Each test checks one thing the walk showed.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import seed_tutorial as tutorial

from .conftest import clean_env, fresh_machine_env

pytestmark = pytest.mark.slow  # the walk builds the project's own .venv from PyPI


@dataclass
class Walk:
    project: Path
    baked: subprocess.CompletedProcess
    extension: subprocess.CompletedProcess
    make_test: subprocess.CompletedProcess
    make_lint: subprocess.CompletedProcess
    make_test_at_the_end: subprocess.CompletedProcess
    status: int
    log: str
    port: int


@pytest.fixture(scope="module")
def walk(template, tmp_path_factory) -> Walk:
    workdir = tmp_path_factory.mktemp("tutorial")
    project = workdir / tutorial.NAME
    env = fresh_machine_env(workdir / "home")
    baked = tutorial.bake(workdir, template, env=env)
    assert baked.returncode == 0, baked.stderr
    extension = tutorial.make(project, "extension", "NAME=SendToBus", "KIND=base", env=env)
    make_test = tutorial.make(project, "test", env=env)
    tutorial.write_handle(project)
    tutorial.write_send_to_bus(project)
    make_lint = tutorial.make(project, "lint", env=env)
    port, log_file = tutorial.free_port(), workdir / "run.log"
    with tutorial.serving(project, port, log_file, env=env) as base:
        status, _body = tutorial.http_get(f"{base}/SendToBus")
        log = tutorial.wait_for_log(log_file, "HELLO WORLD")
    make_test_at_the_end = tutorial.make(project, "test", env=env)
    return Walk(project, baked, extension, make_test, make_lint, make_test_at_the_end, status, log, port)


def test_make_extension_sets_up_the_venv_and_adds_send_to_bus(walk):
    assert walk.extension.returncode == 0, walk.extension.stdout + walk.extension.stderr
    assert (walk.project / ".venv" / ".installed").is_file()
    assert (walk.project / "SendToBus" / "extension.py").is_file()


def test_fresh_project_passes_make_test(walk):
    assert walk.make_test.returncode == 0, walk.make_test.stdout[-5000:] + walk.make_test.stderr[-2000:]
    assert " passed" in walk.make_test.stdout and " failed" not in walk.make_test.stdout


def test_tutorial_code_passes_make_lint(walk):
    assert walk.make_lint.returncode == 0, walk.make_lint.stdout + walk.make_lint.stderr


def test_get_send_to_bus_answers_200(walk):
    assert walk.status == 200


def test_make_test_passes_at_the_end_of_the_tutorial(walk):
    result = walk.make_test_at_the_end
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout


def test_log_shows_all_of_the_seeds_lines(walk):
    lines = tutorial.seed_lines(walk.log, walk.port)
    assert len(lines) == len(tutorial.SEED_LINES), walk.log
    assert "extension.Lowercase/message/process/sdk DEBUG    Message: hello world" in "\n".join(lines)
    assert "extension.Lowercase/message/process/sdk INFO     HELLO WORLD" in "\n".join(lines)


def test_demo_shows_the_seeds_lines_in_the_order_they_were_logged(walk):
    shown = tutorial.show_lines(walk.log, walk.port).splitlines()
    logged = [line for line in walk.log.splitlines() if line in shown]
    assert [line for line in shown if line in logged] == logged
    assert len(logged) == len(tutorial.SEED_LINES), walk.log


def test_demo_says_why_the_logs_order_differs_from_the_seeds(walk):
    lines = tutorial.seed_lines(walk.log, walk.port)
    assert not tutorial.in_seed_order(lines, walk.port)  # the loopback bus logs `Effective URL` last
    assert tutorial.show_lines(walk.log, walk.port).endswith(tutorial.ORDER_NOTE)


def test_request_body_is_logged_as_ciphertext_only(walk):
    body_line = next(line for line in walk.log.splitlines() if "Request Body: b" in line)
    assert "hello world" not in body_line.lower()


def test_stopping_make_run_stops_the_server(walk):
    with pytest.raises(OSError):
        tutorial.http_get(f"http://localhost:{walk.port}/health", timeout=2)


def test_menu_number_9_picks_message_bus(template, cookiecutter_config, tmp_path):
    answers = "AllCaps\n9\nLowercase\n\n\n"
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", str(template), "--config-file", str(cookiecutter_config)],
        input=answers,
        cwd=tmp_path,
        env=clean_env(COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "What type of extension are you creating?" in result.stdout
    assert "9 - Message Bus" in result.stdout and "1 - Online (default)" in result.stdout
    extension = (tmp_path / "AllCaps" / "AllCaps" / "extension.py").read_text()
    assert "(Q2MessageBusRequestHandler)" in extension and "MESSAGE_TYPE = 'Lowercase'" in extension


def _log(*says: tuple[str, str]) -> str:
    return "\n".join(f"2026-01-01 00:00:00 {logger} DEBUG    {text}" for logger, text in says)


def test_show_lines_keeps_a_logs_order_and_adds_the_note():
    seed = [(logger, says.replace("{port}", "5")) for logger, says in tutorial.SEED_LINES]
    log = _log(*seed[:3], *seed[4:], seed[3])  # `Effective URL` after HELLO WORLD, as the loopback bus logs it
    shown = tutorial.show_lines(log, 5).splitlines()
    assert shown[2:8] == log.splitlines()
    assert shown[-1] == tutorial.ORDER_NOTE


def test_show_lines_adds_no_note_for_a_log_in_the_seeds_order():
    log = _log(*((logger, says.replace("{port}", "5")) for logger, says in tutorial.SEED_LINES))
    shown = tutorial.show_lines(log, 5)
    assert shown.splitlines()[2:] == log.splitlines()
    assert tutorial.ORDER_NOTE not in shown
