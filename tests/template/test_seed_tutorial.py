"""The seed's Message Bus tutorial, word for word, on a freshly baked project, through its real Makefile.

One walk (scripts/seed_tutorial.py, the same steps as `make demo`): the cookiecutter CLI bakes AllCaps,
`make extension NAME=SendToBus KIND=base` builds the project's own .venv from PyPI and adds SendToBus,
`make test` passes, the tutorial's handle() and get() go in (and pass `make lint`), `make run LOG=DEBUG`
serves on a free port and GET /SendToBus pushes 'hello world'. Each test checks one thing the walk showed.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import seed_tutorial as tutorial

from .conftest import clean_env


@dataclass
class Walk:
    project: Path
    baked: subprocess.CompletedProcess
    extension: subprocess.CompletedProcess
    make_test: subprocess.CompletedProcess
    make_lint: subprocess.CompletedProcess
    status: int
    log: str
    port: int


@pytest.fixture(scope="module")
def walk(template, tmp_path_factory) -> Walk:
    workdir = tmp_path_factory.mktemp("tutorial")
    project = workdir / tutorial.NAME
    baked = tutorial.bake(workdir, template)
    assert baked.returncode == 0, baked.stderr
    extension = tutorial.make(project, "extension", "NAME=SendToBus", "KIND=base")
    make_test = tutorial.make(project, "test")
    tutorial.write_handle(project)
    tutorial.write_send_to_bus(project)
    make_lint = tutorial.make(project, "lint")
    port, log_file = tutorial.free_port(), workdir / "run.log"
    with tutorial.serving(project, port, log_file) as base:
        status, _body = tutorial.http_get(f"{base}/SendToBus")
        log = tutorial.wait_for_log(log_file, "HELLO WORLD")
    return Walk(project, baked, extension, make_test, make_lint, status, log, port)


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


def test_log_shows_the_seeds_lines_ending_in_hello_world(walk):
    lines = tutorial.seed_lines(walk.log, walk.port)
    assert len(lines) == len(tutorial.SEED_LINES), walk.log
    assert lines[-2].endswith("extension.Lowercase/message/process/sdk DEBUG    Message: hello world")
    assert lines[-1].endswith("extension.Lowercase/message/process/sdk INFO     HELLO WORLD")


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
