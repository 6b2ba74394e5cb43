"""SLOW (builds a project's own .venv from PyPI): docs/kafka-bus.md walked as written, in a freshly baked project.

As a new user does it, with an empty HOME and a fresh machine's PATH: `make bus` and `make run` started at the
same moment in two terminals (both find .venv missing), then every command of the doc's "Trying it on your
machine" block, read from the doc itself, so the doc and this test cannot drift: keys, bus, run DEBUG=0, relay,
push (handle() logs HELLO WORLD), and replay-dlq for a message the handler dead-lettered. Only the doc's ports
are swapped for free ones, so a developer's own broker or server is never touched.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

import seed_tutorial as tutorial

from .conftest import fresh_machine_env

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "{{cookiecutter.extension_name}}" / "docs" / "kafka-bus.md"
DOC_PORTS = {"bus": "9092", "app": "1980"}
VENV_TIMEOUT_S = 900  # building .venv from PyPI on a busy 2-core machine
EVENT_TIMEOUT_S = 120  # a relay joins its group in ~5 s, then delivers at once
# The handler of this walk: the tutorial's handle(), which dead-letters while the file `ledger-closed` exists.
HANDLE = """    async def handle(self, message: Message):
        if Path("ledger-closed").exists():
            raise DeadLetter("the ledger is closed")
        self.logger.info(message.text.upper())
"""


@dataclass
class Command:
    argv: list[str]
    terminal: bool  # the doc runs it in a terminal of its own: it keeps running

    @property
    def target(self) -> str:
        return next(arg for arg in self.argv[1:] if "=" not in arg)


def doc_commands(text: str) -> list[Command]:
    """The commands of the doc's block under "Trying it on your machine", in order."""
    section = text.split("## Trying it on your machine", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    lines = [line for line in block.splitlines() if line.strip()]
    return [Command(shlex.split(line, comments=True), "terminal" in line.partition("#")[2]) for line in lines]


def on_ports(command: Command, bus_port: int, app_port: int) -> list[str]:
    """The command with the doc's ports swapped for this test's (the doc's `make bus` / `make run` use defaults)."""
    ports = {DOC_PORTS["bus"]: str(bus_port), DOC_PORTS["app"]: str(app_port)}
    argv = [re.sub("|".join(ports), lambda m: ports[m.group(0)], arg) for arg in command.argv]
    extra = {"bus": [f"BUS_PORT={bus_port}"], "run": [f"PORT={app_port}"]}.get(command.target, [])
    return [*argv, *extra]


def accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def healthy(port: int) -> bool:
    try:
        return tutorial.http_get(f"http://127.0.0.1:{port}/health", timeout=2)[0] == 200
    except OSError:
        return False


def wait_until(condition: Callable[[], bool], what: str, timeout: float, *logs: Path) -> None:
    """Poll a condition until it holds; fail with the logs' ends after a generous deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs if log.exists())
            pytest.fail(f"{what} did not happen within {timeout:g} s\n{tails}")
        time.sleep(0.2)


@contextmanager
def started(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A command left running, as in a terminal of its own; Ctrl-C (then a kill) when the block ends."""
    with log.open("w") as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        for sig, wait in ((signal.SIGINT, 30), (signal.SIGKILL, 10)):
            if proc.poll() is not None:
                break
            try:
                os.killpg(proc.pid, sig)
                proc.wait(wait)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue


@dataclass
class Together:
    project: Path
    env: dict[str, str]
    bus_up: bool
    run_up: bool
    logs: str


@pytest.fixture(scope="module")
def together(template, tmp_path_factory) -> Together:
    """A fresh project in which `make bus` and `make run` start at the same moment, both building .venv."""
    workdir = tmp_path_factory.mktemp("kafka-doc")
    env = fresh_machine_env(workdir / "home")
    assert tutorial.bake(workdir, template, env=env).returncode == 0
    project = workdir / tutorial.NAME
    bus_port, app_port = tutorial.free_port(), tutorial.free_port()
    bus_log, run_log = workdir / "together-bus.log", workdir / "together-run.log"
    with ExitStack() as stack:
        bus = stack.enter_context(started(["make", "bus", f"BUS_PORT={bus_port}"], project, env, bus_log))
        run = stack.enter_context(started(["make", "run", f"PORT={app_port}"], project, env, run_log))
        deadline = time.monotonic() + VENV_TIMEOUT_S
        while not (accepts(bus_port) and healthy(app_port)) and time.monotonic() < deadline:
            if bus.poll() is not None or run.poll() is not None:
                break
            time.sleep(0.5)
        bus_up, run_up = accepts(bus_port), healthy(app_port)
    logs = f"--- make bus\n{bus_log.read_text()[-3000:]}\n--- make run\n{run_log.read_text()[-3000:]}"
    return Together(project, env, bus_up, run_up, logs)


def test_make_bus_and_make_run_started_together_both_come_up(together):
    assert together.bus_up and together.run_up, together.logs
    assert (together.project / ".venv" / ".installed").is_file()


def test_only_one_of_them_built_the_venv(together):
    assert together.logs.count("-m venv .venv") == 1, together.logs


def write_handle(project: Path) -> None:
    """The tutorial's handle(), with a switch to dead-letter (the doc's DeadLetter), and its imports."""
    path = project / tutorial.NAME / "extension.py"
    text = path.read_text().replace(
        "from q2_sdk.core.message_bus import Message\n",
        "from pathlib import Path\n\nfrom q2_sdk.core.message_bus import DeadLetter, Message\n",
    )
    generated = r"    async def handle\(self, message: Message\):\n.*?\n        pass\n"
    text, count = re.subn(generated, HANDLE, text, flags=re.S)
    assert count == 1, text
    path.write_text(text)


@dataclass
class Walk:
    commands: list[Command]
    results: dict[str, list[subprocess.CompletedProcess]]
    run_log: str
    relay_log: str


@pytest.fixture(scope="module")
def walk(together, tmp_path_factory) -> Walk:
    """Every command of the doc's block, in order, in the project `together` set up; then a dead letter replayed."""
    project, env = together.project, together.env
    assert together.bus_up and together.run_up, together.logs
    write_handle(project)
    logs = tmp_path_factory.mktemp("kafka-doc-logs")
    run_log, relay_log = logs / "run.log", logs / "relay.log"
    bus_port, app_port = tutorial.free_port(), tutorial.free_port()
    commands = doc_commands(DOC.read_text())
    results: dict[str, list[subprocess.CompletedProcess]] = {}

    def finished(command: Command) -> subprocess.CompletedProcess:
        result = tutorial.make(project, *on_ports(command, bus_port, app_port)[1:], timeout=300, env=env)
        results.setdefault(command.target, []).append(result)
        return result

    def hello_worlds() -> int:
        return run_log.read_text().count("HELLO WORLD")

    by_target = {command.target: command for command in commands}
    with ExitStack() as stack:
        for command in commands:
            if command.terminal:
                log = {"run": run_log, "relay": relay_log}.get(command.target, logs / f"{command.target}.log")
                stack.enter_context(started(on_ports(command, bus_port, app_port), project, env, log))
                if command.target == "bus":
                    wait_until(lambda: accepts(bus_port), "make bus listening", EVENT_TIMEOUT_S, log)
                if command.target == "run":
                    wait_until(lambda: healthy(app_port), "make run answering /health", EVENT_TIMEOUT_S, log)
            elif command.target == "replay-dlq":
                # First a dead letter to replay: the handler refuses while ledger-closed exists.
                (project / "ledger-closed").touch()
                finished(by_target["push"])
                wait_until(lambda: "dead letter" in relay_log.read_text(), "a dead letter", EVENT_TIMEOUT_S, relay_log)
                (project / "ledger-closed").unlink()
                finished(command)
                wait_until(lambda: hello_worlds() == 2, "the replayed message handled", EVENT_TIMEOUT_S, run_log)
            else:
                finished(command)
                if command.target == "push":
                    wait_until(lambda: hello_worlds() == 1, "handle() logging HELLO WORLD", EVENT_TIMEOUT_S, run_log)
    return Walk(commands, results, run_log.read_text(), relay_log.read_text())


def test_the_doc_shows_each_step_this_test_walks():
    targets = [command.target for command in doc_commands(DOC.read_text())]
    assert targets == ["keys", "bus", "run", "relay", "push", "replay-dlq"]


def test_every_command_of_the_doc_succeeds(walk):
    failed = {t: r.stdout + r.stderr for t, rs in walk.results.items() for r in rs if r.returncode != 0}
    assert failed == {}


def test_pushed_message_reaches_handle_through_the_relay(walk):
    assert walk.run_log.count("HELLO WORLD") >= 1, walk.run_log[-3000:]
    assert "pushed message" in walk.results["push"][0].stdout


def test_dead_letter_is_replayed_and_handled(walk):
    replay = walk.results["replay-dlq"][0]
    assert "moved 1 dead letter(s)" in replay.stdout, replay.stdout + replay.stderr
    assert walk.run_log.count("HELLO WORLD") == 2, walk.run_log[-3000:]


def test_doc_commands_are_read_with_their_terminals():
    commands = doc_commands(DOC.read_text())
    assert [c.target for c in commands if c.terminal] == ["bus", "run", "relay"]
    assert on_ports(commands[1], 5, 6) == ["make", "bus", "BUS_PORT=5"]
