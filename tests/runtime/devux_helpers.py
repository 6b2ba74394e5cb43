"""Real parts for the development-experience tests: a baked project, `python -m q2ext run` in it, HTTP to it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cookiecutter.main import cookiecutter

from fresh_machine import fresh_machine_env

READY_TIMEOUT_S = 60.0


def fresh_env(home: Path, **extra: str) -> dict[str, str]:
    """A fresh machine's environment: an empty HOME, PATH of python3/make/git and /usr/bin:/bin, no Q2EXT_*."""
    return fresh_machine_env(home, **extra)


def bake(template: Path, out: Path, kind: str = "message_bus", name: str = "AllCaps", **answers: str) -> Path:
    """`cookiecutter <template> --no-input` into out; the project folder."""
    out.mkdir(parents=True, exist_ok=True)
    config = out / "cookiecutter.yaml"
    config.write_text(f'cookiecutters_dir: "{out / "clones"}"\nreplay_dir: "{out / "replay"}"\n')
    context = {"extension_name": name, "extension_kind": kind, **answers}
    if kind == "message_bus":
        context.setdefault("message_type", "Lowercase")
    return Path(
        cookiecutter(str(template), no_input=True, extra_context=context, output_dir=str(out), config_file=str(config))
    )


def q2ext(project: Path, *args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m q2ext ...` in the project, to the end."""
    return subprocess.run(
        [sys.executable, "-m", "q2ext", *args], cwd=project, env=env, capture_output=True, text=True, timeout=timeout
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Response:
    status: int
    content_type: str
    text: str

    def json(self):
        return json.loads(self.text)


def http(url: str, method: str = "GET", headers: dict[str, str] | None = None, data: bytes | None = None) -> Response:
    """One request; 4xx/5xx come back as a Response too."""
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback only
            return Response(resp.status, resp.headers.get("Content-Type", ""), resp.read().decode())
    except urllib.error.HTTPError as err:
        with err:
            return Response(err.code, err.headers.get("Content-Type", ""), err.read().decode())


def wait_until(condition: Callable[[], object], what: str, timeout: float = READY_TIMEOUT_S, tick=None) -> object:
    """condition()'s first true value; AssertionError naming what did not happen by the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if tick:
            tick()
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout:g} s: {what}")


@dataclass
class Server:
    """`python -m q2ext run --port PORT ...` in a project, its output in a log file."""

    proc: subprocess.Popen
    port: int
    log_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def get(self, path: str, **headers: str) -> Response:
        return http(self.url + path, headers=headers)

    def healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the server exited with {self.proc.returncode}:\n{self.log[-3000:]}")
        try:
            return self.get("/health").status == 200
        except OSError:
            return False

    def stop(self) -> None:
        for sig, wait in ((signal.SIGINT, 15), (signal.SIGKILL, 5)):
            if self.proc.poll() is not None:
                return
            self.proc.send_signal(sig)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue


def start_server(project: Path, env: dict[str, str], *args: str) -> Server:
    """Start the server on a free port (HOST 127.0.0.1, no metrics port unless env sets one); wait for /health."""
    port = free_port()
    log_file = project.parent / f"server-{port}.log"
    with log_file.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "q2ext", "run", "--port", str(port), *args],
            cwd=project,
            env={"Q2EXT_METRICS_PORT": "0", **env, "Q2EXT_HOST": "127.0.0.1"},  # a busy 1982 would only warn
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(proc, port, log_file)
    try:
        wait_until(server.healthy, f"the server answering /health on port {port}")
    except BaseException:
        server.stop()
        raise
    return server
