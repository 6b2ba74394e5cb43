"""Bake the seed project (AllCaps consuming Lowercase) into a temporary folder, with a real key ring."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from procs import BENCH

REPO = BENCH.parent
CONTEXT = {"extension_name": "AllCaps", "extension_kind": "message_bus", "message_type": "Lowercase"}
MESSAGE_TYPE = "Lowercase"
BUS_PATH = f"/{MESSAGE_TYPE}/message/process/sdk"


@dataclass
class Project:
    """A baked project: where its commands run, and which folder holds its q2ext package."""

    root: Path
    code: Path
    how: str

    def env(self, **settings: object) -> dict[str, str]:
        """Environment for a process of this project: its packages, the probe, Q2EXT_<NAME> settings."""
        path = os.pathsep.join([str(self.code), str(BENCH)])
        env = {"PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}
        # Your own Q2EXT_* settings apply (e.g. Q2EXT_SEEN_IDS_FILE=:memory: to price the SQLite store).
        env.update({name: value for name, value in os.environ.items() if name.startswith("Q2EXT_")})
        env.update({f"Q2EXT_{name}": str(value) for name, value in settings.items()})
        return env

    def python(self, *args: str) -> list[str]:
        return [sys.executable, *args]

    def ring(self):
        """The project's key ring, to seal the messages the load client sends."""
        from q2ext import keyring, settings

        cfg = settings.load(environ={})
        return keyring.read_file(self.root / cfg.KEYRING_FILE)


def bake(dest: Path) -> Project:
    """The seed project, made by cookiecutter from this repository, with `make keys` done.

    Baked in a child process: the template's hooks import the q2ext of cookiecutter's copy of the
    repository, which must not shadow the baked project's q2ext in this process.
    """
    code = (
        "import json, sys; from cookiecutter.main import cookiecutter; "
        "print(cookiecutter(sys.argv[1], no_input=True, output_dir=sys.argv[2], extra_context=json.loads(sys.argv[3])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(REPO), str(dest), json.dumps(CONTEXT)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cookiecutter could not bake the seed project:\n{done.stderr[-3000:]}")
    root = Path(done.stdout.strip().splitlines()[-1])
    project = Project(root, _code_folder(root), "cookiecutter")
    _activate(project)
    return project


def _code_folder(root: Path) -> Path:
    """The folder that holds the vendored q2ext package (the project root, or a runtime/ under it)."""
    for candidate in (root, *sorted(p.parent.parent for p in root.glob("*/q2ext/__init__.py"))):
        if (candidate / "q2ext" / "__init__.py").exists():
            return candidate
    raise RuntimeError(f"the baked project {root} holds no q2ext package")


def _activate(project: Project) -> None:
    """Make the project's q2ext importable here and create its real key ring (`make keys`)."""
    sys.path.insert(0, str(project.code))
    os.chdir(project.root)  # settings.load() imports configuration.settings from the project
    sys.path.insert(0, str(project.root))
    subprocess.run(
        [sys.executable, "-m", "q2ext", "keys"],
        cwd=project.root,
        env={**os.environ, **project.env()},
        check=True,
        capture_output=True,
    )
