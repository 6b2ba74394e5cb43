"""The template's test fixtures: cookiecutter run the ways people run it (`template` is in tests/conftest.py)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without Q2EXT_* or pytest variables that would leak into baked projects."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("Q2EXT_", "PYTEST_", "MAKEFLAGS", "MAKELEVEL"))}
    return {**env, **extra}


@functools.cache
def fresh_machine_path() -> str:
    """PATH as a fresh machine has it: the folders of the real python3 (not a pyenv shim), make, git, /usr/bin:/bin.

    .ci/run builds the same PATH for the whole suite; a tool a test starts by a bare name is missing from it.
    """
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


@pytest.fixture(scope="session")
def cookiecutter_config(tmp_path_factory) -> Path:
    """A user config that keeps replay files and clones out of the home folder and ignores ~/.cookiecutterrc."""
    home = tmp_path_factory.mktemp("cookiecutter-home")
    config = home / "config.yaml"
    config.write_text(f'cookiecutters_dir: "{home / "clones"}"\nreplay_dir: "{home / "replay"}"\n')
    return config


@pytest.fixture
def bake_cli(template, cookiecutter_config, tmp_path):
    """Run the real `cookiecutter` CLI with --no-input and key=value answers; returns (result, output folder).

    The run gets tmp_path / "tmp" as its temp folder.
    """

    def bake(*answers: str, template_dir: Path = template) -> tuple[subprocess.CompletedProcess, Path]:
        out = tmp_path / "out"
        out.mkdir(exist_ok=True)
        args = [sys.executable, "-m", "cookiecutter", str(template_dir), "--no-input"]
        args += ["--config-file", str(cookiecutter_config), "-o", str(out), *answers]
        scratch = tmp_path / "tmp"  # the run's own temp folder: what it leaves there is seen
        scratch.mkdir(exist_ok=True)
        env = clean_env(TMPDIR=str(scratch))
        result = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        return result, out

    return bake
