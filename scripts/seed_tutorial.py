"""The seed's Message Bus tutorial as steps a program can take: bake, add SendToBus, edit, serve, request.

`make demo` (scripts/demo.py) and tests/template/test_seed_tutorial.py both walk these steps, so what the
demo shows is what the tests check. Each step runs the real thing: the cookiecutter CLI, the baked
project's Makefile, a real server on a free loopback port.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
NAME, TYPE = "AllCaps", "Lowercase"
ANSWERS = (f"extension_name={NAME}", "extension_kind=message_bus", f"message_type={TYPE}")

# The tutorial's code, word for word.
HANDLE = '''    async def handle(self, message: Message):
        """
        This is the hook where you can put your handling logic.

        message.text contains the message body posted from the bus.
        """

        self.logger.info(message.text.upper())
'''
IMPORT = "from q2_sdk.core import message_bus\n"
GET = """    async def get(self):
        await message_bus.push(self.logger, 'hello world', 'Lowercase')
"""
# The lines of the tutorial's log, in order (the logger name, then what the line says).
SEED_LINES = (
    ("extension.SendToBus", "Sending HTTP request POST http://localhost:{port}/Lowercase/message/process/sdk"),
    ("extension.SendToBus", "Request Headers: {'q2msg-type': 'sdk-generic.Lowercase'"),
    ("extension.SendToBus", "Request Body: b"),
    ("extension.SendToBus", "Effective URL: http://localhost:{port}/Lowercase/message/process/sdk"),
    ("extension.Lowercase/message/process/sdk", "Message: hello world"),
    ("extension.Lowercase/message/process/sdk", "HELLO WORLD"),
)
ORDER_NOTE = (
    "(Here `Effective URL` comes after the handler's lines: the loopback bus awaits the handler's answer "
    "before it logs the effective URL. The tutorial's log shows it before them.)"
)


def clean_env() -> dict[str, str]:
    """This environment without Q2EXT_* overrides or make variables that would change what the steps do."""
    drop = ("Q2EXT_", "PYTEST_", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def run(
    args: list[str], cwd: Path, timeout: float = 600, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run one command to the end (in this environment, or `env`); its output is kept to show on failure."""
    env = dict(env) if env is not None else clean_env()
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def bake(
    output_dir: Path, template: Path = TEMPLATE, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`cookiecutter <template> --no-input extension_name=AllCaps extension_kind=message_bus ...`."""
    args = [sys.executable, "-m", "cookiecutter", str(template), "--no-input", "-o", str(output_dir), *ANSWERS]
    return run(args, output_dir, env=env)


def make(
    project: Path, *args: str, timeout: float = 900, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`make ...` in the baked project (the first target sets up its .venv)."""
    return run(["make", *args], project, timeout, env)


def write_handle(project: Path) -> None:
    """Replace AllCaps's handle() with the tutorial's: log the message in capitals."""
    path = project / NAME / "extension.py"
    text, count = re.subn(
        r"    async def handle\(self, message: Message\):\n.*?\n        pass\n", HANDLE, path.read_text(), flags=re.S
    )
    if count != 1:
        raise RuntimeError(f"{path} has no generated handle() ending in `pass` to replace")
    path.write_text(text)


def write_send_to_bus(project: Path) -> None:
    """Add the tutorial's import line at the top of SendToBus's imports, and its get() in place of the generated one."""
    path = project / "SendToBus" / "extension.py"
    text = re.sub(r"^(from |import )", IMPORT + r"\1", path.read_text(), count=1, flags=re.M)
    text, count = re.subn(r"    async def get\(self\):\n(?:        .*\n)+", GET, text)
    if count != 1:
        raise RuntimeError(f"{path} has no generated get() to replace")
    path.write_text(text)


def free_port() -> int:
    """A TCP port nobody listens on right now (never 1980, so a developer's `make run` is left alone)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 10) -> tuple[int, str]:
    """GET a URL: (status, body)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@contextmanager
def serving(
    project: Path,
    port: int,
    log_file: Path,
    *make_args: str,
    ready_timeout: float = 600,
    env: Mapping[str, str] | None = None,
):
    """`make run LOG=DEBUG PORT=<port>` until the block ends; yields the base URL once /health answers."""
    with log_file.open("w") as log:
        proc = subprocess.Popen(
            ["make", *make_args, "run", "LOG=DEBUG", f"PORT={port}"],
            cwd=project,
            env=dict(env) if env is not None else clean_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + ready_timeout
        while not _healthy(base):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"`make run` did not come up on port {port}:\n{log_file.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base
    finally:
        _stop(proc)


def _healthy(base: str) -> bool:
    try:
        return http_get(base + "/health", timeout=2)[0] == 200
    except OSError:
        return False


def _stop(proc: subprocess.Popen) -> None:
    """Ctrl-C for make and the server (one process group), then a kill if they linger."""
    for sig, wait in ((signal.SIGINT, 15), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue


def wait_for_log(log_file: Path, text: str, timeout: float = 20) -> str:
    """The log once it holds this text (the message is handled after GET /SendToBus has answered)."""
    deadline = time.monotonic() + timeout
    while text not in log_file.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    return log_file.read_text()


def _is(line: str, logger: str, says: str, port: int) -> bool:
    """Whether a log line is this tutorial line."""
    return f" {logger} " in line and says.replace("{port}", str(port)) in line


def seed_lines(log: str, port: int) -> list[str]:
    """The log lines that match the tutorial's (the first of each), in the order they were logged."""
    lines = log.splitlines()
    found = [next((i for i, line in enumerate(lines) if _is(line, *seed, port)), None) for seed in SEED_LINES]
    return [lines[index] for index in sorted(index for index in found if index is not None)]


def in_seed_order(lines: list[str], port: int) -> bool:
    """Whether these lines are the tutorial's, each one, in the tutorial's order."""
    if len(lines) != len(SEED_LINES):
        return False
    return all(_is(line, *seed, port) for line, seed in zip(lines, SEED_LINES, strict=True))


def show_lines(log: str, port: int) -> str:
    """What `make demo` prints: the tutorial's lines as they were logged, and why the order differs if it does."""
    lines = seed_lines(log, port)
    note = ["", ORDER_NOTE] if len(lines) == len(SEED_LINES) and not in_seed_order(lines, port) else []
    return "\n".join(["The tutorial's log lines, in the order they were logged:", "", *lines, *note])
