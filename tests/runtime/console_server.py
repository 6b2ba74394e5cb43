"""A project with one Message Bus extension, served by `python -m q2ext run` (what `make run` calls) on loopback."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import make_project

START_DEADLINE_S = 60.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXTENSION = '''\
"""Handles Lowercase messages; raises when asked to, so the console has a traceback to show."""

from q2ext.handlers.message_bus import DeadLetter, Q2MessageBusRequestHandler


class ShouterHandler(Q2MessageBusRequestHandler):
    MESSAGE_TYPE = "Lowercase"

    async def handle(self, message):
        if message.text.startswith("dead letter"):
            raise DeadLetter("asked for a dead letter")
        if message.text.startswith("please fail"):
            raise RuntimeError("asked to fail: " + message.text)
        self.logger.info("Message: %s", message.text.upper())
'''
URLS = """\
from tornado.web import url

from .extension import ShouterHandler

URL_PATTERNS = [url(r"/Lowercase/message/process/sdk", ShouterHandler)]
"""


def launch_chromium(playwright):
    """Debian's headless Chromium under Playwright (nothing downloaded); fails with the fix when it is missing."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (as root; .ci/run does it when missing)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def console_project(root: Path, debug: bool = True) -> Path:
    """The runtime plus Shouter (a Message Bus extension of type Lowercase), in DEBUG or not."""
    project = make_project(root)
    (project / "Shouter").mkdir()
    (project / "Shouter" / "__init__.py").write_text("")
    (project / "Shouter" / "extension.py").write_text(EXTENSION)
    (project / "Shouter" / "urls.py").write_text(URLS)
    settings = f'DEBUG = {debug}\nHOST = "127.0.0.1"\nINSTALLED_EXTENSIONS = ["Shouter"]\n'
    (project / "configuration" / "settings.py").write_text(settings)
    return project


@dataclass
class Served:
    """A running `q2ext run`; its log goes to a file (the test reads the start-up lines from it)."""

    process: subprocess.Popen
    port: int
    log: Path
    project: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def rss_kb(self) -> int:
        """The server's resident set size now, from /proc."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def project_env(*env_pairs: tuple[str, str]) -> dict[str, str]:
    """This environment without Q2EXT_* and pytest's variables, plus these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("Q2EXT_", "PYTEST_"))}
    env.update(dict(env_pairs))
    return env


def serve(project: Path, *env_pairs: tuple[str, str], port: int | None = None) -> Served:
    """Start the project's server on a free port and wait (up to a minute) until it printed its start-up lines."""
    port = port or free_port()
    log = project.parent / f"server-{port}.log"
    env = project_env(*env_pairs)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "q2ext", "run", "--port", str(port)],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(process, port, log, project)
    deadline = time.monotonic() + START_DEADLINE_S
    while f":{port}" not in served.log_text() or not _accepts(port):
        if process.poll() is not None or time.monotonic() > deadline:
            served.stop()
            raise RuntimeError(f"q2ext run did not start on port {port}:\n{served.log_text()[-3000:]}")
        time.sleep(0.05)  # polling for readiness (the condition is checked, not assumed)
    return served


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
