"""The seed's own command lines, typed word for word into a pseudo-terminal, in a freshly baked project.

Where the first `q2 create_extension` runs: inside a project, as in Q2's SDK (whose `q2 create_extension`
runs inside the SDK's repository). A fresh place is a project cookiecutter just made (here with a Base
extension, MyBank), set up by its own `make` with a fresh HOME and a fresh machine's PATH; `. .venv/bin/activate`
puts `q2` on PATH, and from there the seed's lines are typed as the seed shows them: `q2 create_extension
AllCaps`, `9`, `lowercase`, the seed's handle(), `q2 create_extension SendToBus -t base`, the seed's import and
get(), `q2 run -l DEBUG`, GET /SendToBus. Then the refusals: one line, a non-zero exit, nothing written.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest

import seed_tutorial as tutorial
from q2ext.kinds import KINDS

from .conftest import clean_env, fresh_machine_env

pytestmark = pytest.mark.slow  # builds the project's own .venv from PyPI

PROMPT = "q2-test$ "
SEED_EXTENSION_LINES = ("class AllCapsHandler(Q2MessageBusRequestHandler):", "    MESSAGE_TYPE = 'Lowercase'")


@dataclass
class Walk:
    project: Path
    env: dict[str, str]
    transcript: str
    port: int
    status: int


def _snapshot(project: Path) -> dict[str, bytes]:
    """Every file of the project but its .venv, caches and run-time state."""
    skip = (".venv", ".q2ext", "__pycache__", ".pytest_cache", ".ruff_cache")
    files = (p for p in sorted(project.rglob("*")) if p.is_file() and not set(p.relative_to(project).parts) & set(skip))
    return {str(p.relative_to(project)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def walk(template, tmp_path_factory) -> Walk:
    """Bake MyBank, `make` its .venv, then type the seed's lines into bash in a pseudo-terminal."""
    workdir = tmp_path_factory.mktemp("q2cmd")
    home = workdir / "home"
    home.mkdir()
    port = tutorial.free_port()
    env = fresh_machine_env(home, TERM="dumb")
    bake = [sys.executable, "-m", "cookiecutter", str(template), "--no-input", "-o", str(workdir)]
    baked = subprocess.run(
        [*bake, "extension_name=MyBank", "extension_kind=base"], cwd=workdir, env=clean_env(), capture_output=True
    )
    assert baked.returncode == 0, baked.stderr
    project = workdir / "MyBank"
    made = subprocess.run(["make", "test"], cwd=project, env=env, capture_output=True, text=True)  # sets up .venv
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]

    transcript = io.StringIO()
    shell_env = {**env, "PS1": PROMPT, "VIRTUAL_ENV_DISABLE_PROMPT": "1", "Q2EXT_PORT": str(port)}
    shell = pexpect.spawn(
        "bash", ["--norc", "--noprofile"], cwd=str(project), env=shell_env, encoding="utf-8", timeout=120
    )
    shell.logfile_read = transcript
    try:
        shell.expect_exact(PROMPT)
        shell.sendline(". .venv/bin/activate")
        shell.expect_exact(PROMPT)

        shell.sendline("q2 create_extension AllCaps")
        shell.expect_exact("What type of extension are you creating?")
        shell.expect_exact("Please make a selection and press Return [1]: ")
        shell.sendline("9")
        shell.expect_exact("What type of messages should this handler consume?")
        shell.expect_exact("Only this type of message will be consumed by this bus: ")
        shell.sendline("lowercase")
        shell.expect_exact(PROMPT)
        tutorial.write_handle(project)

        shell.sendline("q2 create_extension SendToBus -t base")
        shell.expect_exact(PROMPT)
        tutorial.write_send_to_bus(project)

        shell.sendline("q2 run -l DEBUG")
        status = _get_when_up(shell, f"http://localhost:{port}")
        shell.expect_exact("HELLO WORLD", timeout=60)
        shell.sendintr()
        shell.expect_exact(PROMPT, timeout=60)
        shell.sendline("exit")
        shell.expect(pexpect.EOF, timeout=30)
    finally:
        shell.close(force=True)
    return Walk(project, env, transcript.getvalue().replace("\r\n", "\n"), port, status)


def _get_when_up(shell: pexpect.spawn, base: str) -> int:
    """GET /SendToBus once the server answers /health; reading the terminal meanwhile, so the server never blocks."""
    deadline = time.monotonic() + 120
    while not tutorial._healthy(base):
        if time.monotonic() > deadline or not shell.isalive():
            raise RuntimeError(f"{base}/health never answered")
        shell.expect([pexpect.TIMEOUT, pexpect.EOF], timeout=0.2)  # drain the terminal while waiting
    return tutorial.http_get(base + "/SendToBus")[0]


def q2(walk: Walk, *args: str) -> subprocess.CompletedProcess:
    """The project's own .venv/bin/q2, with the fresh machine's environment."""
    venv_q2 = walk.project / ".venv" / "bin" / "q2"
    return subprocess.run([str(venv_q2), *args], cwd=walk.project, env=walk.env, capture_output=True, text=True)


def test_q2_shows_the_seeds_kind_menu(walk):
    menu = "\n".join(f"    {kind.number}) {kind.label}" for kind in KINDS)
    assert "\nWhat type of extension are you creating?\n\n" + menu + "\n\nPlease make a selection" in walk.transcript


def test_answering_9_then_lowercase_makes_the_seeds_extension(walk):
    source = (walk.project / "AllCaps" / "extension.py").read_text()
    assert all(line in source.splitlines() for line in SEED_EXTENSION_LINES)
    assert "url(r'/Lowercase/message/process/sdk'," in (walk.project / "AllCaps" / "urls.py").read_text()


def test_the_message_type_prompt_says_how_the_answer_is_spelled(walk):
    assert "lowercase -> Lowercase" in walk.transcript


def test_dash_t_base_makes_a_base_extension(walk):
    assert "(Q2BaseRequestHandler)" in (walk.project / "SendToBus" / "extension.py").read_text()


def test_get_send_to_bus_answers_200(walk):
    assert walk.status == 200


def test_q2_run_logs_every_seed_line_including_hello_world(walk):
    lines = tutorial.seed_lines(walk.transcript, walk.port)  # as logged: `Effective URL` may come after HELLO WORLD
    assert len(lines) == len(tutorial.SEED_LINES), walk.transcript[-4000:]
    assert any(line.endswith("extension.Lowercase/message/process/sdk INFO     HELLO WORLD") for line in lines)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["create_extension", "X", "-t", "bogus"],
            "error: extension type 'bogus' is not one of online, sso, ardent, q2console, central, adapter, "
            "audit_action, custom_health_check, message_bus, caliper_api_custom_endpoint, base",
        ),
        (["create_extension", "9Lives"], "error: extension_name '9Lives' must start with a letter (e.g. 'NineLives')"),
        (["create_extension", "Y", "-t", "bus"], "did you mean 'message_bus'?"),
        (["create_extension", "Shouting", "-t", "message_bus", "-m", "lowercase"], "AllCaps already consumes"),
        (["create_extension", "AllCaps", "-t", "base"], "already exists"),
    ],
    ids=["bogus-type", "9Lives", "bus", "second-consumer", "existing"],
)
def test_refusal_is_one_line_exits_non_zero_and_writes_nothing(walk, args, error):
    before = _snapshot(walk.project)

    result = q2(walk, *args)

    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and error in result.stderr, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert _snapshot(walk.project) == before


def test_make_extension_takes_a_kind_number_and_prints_its_name(walk):
    args = ["make", "extension", "NAME=Orders", "KIND=9", "TYPE=orderPlaced"]
    made = subprocess.run(args, cwd=walk.project, env=walk.env, capture_output=True, text=True)

    assert made.returncode == 0, made.stdout + made.stderr
    assert "created extension Orders (message_bus)" in made.stdout
    assert "MESSAGE_TYPE = 'OrderPlaced'" in (walk.project / "Orders" / "extension.py").read_text()


def test_q2_help_lists_the_seeds_commands(walk):
    result = q2(walk, "--help")

    assert result.returncode == 0
    assert result.stdout.startswith("usage: q2 [-h] {create_extension,run,test,generate_config}")


def test_q2_test_runs_the_projects_tests(walk):
    result = q2(walk, "test", "-q", "MyBank")

    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout
