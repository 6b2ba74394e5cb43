"""Which message types the relay consumes and where it POSTs them: a routes file, or the installed extensions.

The relay process never imports extension code (it holds no message keys and runs nothing of the user's):
discovery runs `python -m q2ext.discover` in a short-lived child process, which imports the extensions,
finds their Message Bus handlers and prints their types as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from . import wire
from .targets import endpoints


def read_routes(path: str) -> dict[str, str]:
    """A routes file: a JSON object mapping message types to handler endpoint URLs."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ValueError(f"routes file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"routes file {path} is not valid JSON (line {exc.lineno})") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(
            f"routes file {path} must be a JSON object of type to URL, e.g. "
            '{"Lowercase": "http://127.0.0.1:1980/Lowercase/message/process/sdk"}'
        )
    return {wire.check_type(t): url for t, url in data.items()}


def discover_routes(extensions, target: str) -> dict[str, str]:
    """Message type -> <target>/<Type>/message/process/sdk, for each installed Message Bus handler."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)}
    result = subprocess.run(
        [sys.executable, "-m", "q2ext.discover", *extensions],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise ValueError(f"could not load the installed extensions to find their message types: {detail}")
    return {wire.check_type(t): endpoints(target, t, wire.bus_url) for t in json.loads(result.stdout)}
