"""Start, watch and stop the processes a case measures: free ports, readiness, CPU and RSS from /proc."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A port nobody listens on right now (never 1980)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (/proc/<pid>/stat utime+stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    """Resident set size of the process in MiB (/proc/<pid>/status VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def get_json(url: str, timeout: float = 5.0) -> dict:
    """GET a JSON document from a local server."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


class Proc:
    """One child process with its output in a log file; stop() ends it and reaps it."""

    def __init__(self, name: str, argv: list[str], cwd: Path, log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("ab")
        self._log_start = self._log.tell()  # earlier processes of this name logged to the same file
        self.popen = subprocess.Popen(
            argv, cwd=cwd, env={**os.environ, **(env or {})}, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 15) -> str:
        """The end of the process's log, for error messages."""
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_http(self, url: str, timeout: float = 30.0) -> None:
        """Wait until the process answers url, or raise with its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}")
            try:
                urllib.request.urlopen(url, timeout=1).read()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer {url} within {timeout:.0f}s:\n{self.tail()}")

    def wait_log(self, text: str, timeout: float = 30.0) -> None:
        """Wait until this process (not an earlier one with the same log) logged text, or raise with its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}")
            self._log.flush()
            with self.log_path.open("rb") as log:
                log.seek(self._log_start)
                if text in log.read().decode(errors="replace"):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not log {text!r} within {timeout:.0f}s:\n{self.tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()


def run_json(argv: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> dict:
    """Run a bench helper script to completion and return the JSON it printed last."""
    done = subprocess.run(
        argv, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def script(name: str) -> list[str]:
    """The argv prefix that runs one of the bench's helper scripts with this Python."""
    return [sys.executable, str(BENCH / name)]
