"""A new user's environment, for every walk that runs a user's path (a make target, a docs step, the q2 lines).

.ci/run builds the same PATH for the whole suite: a tool started by a bare name is missing from it, as on a new
machine.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path


@functools.cache
def fresh_machine_path() -> str:
    """PATH as a fresh machine has it: the folders of the real python3 (not a pyenv shim), make, git, /usr/bin:/bin."""
    where = subprocess.run(
        ["python3", "-c", "import os, sys; print(os.path.realpath(sys.executable))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    folders = [os.path.dirname(where)]
    folders += [os.path.dirname(os.path.realpath(shutil.which(tool) or f"/usr/bin/{tool}")) for tool in ("make", "git")]
    return os.pathsep.join(dict.fromkeys([*folders, "/usr/bin", "/bin"]))


def fresh_machine_env(home: Path, **extra: str) -> dict[str, str]:
    """A new user's environment: an empty HOME (no pip cache, no git identity, no ~/.cookiecutterrc), that PATH."""
    home.mkdir(parents=True, exist_ok=True)
    env = {"HOME": str(home), "PATH": fresh_machine_path(), "LANG": "C.UTF-8"}
    if "TMPDIR" in os.environ:
        env["TMPDIR"] = os.environ["TMPDIR"]
    return {**env, **extra}
