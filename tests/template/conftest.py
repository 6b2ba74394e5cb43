"""The template's test fixtures: cookiecutter run the ways people run it (`template` is in tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import seed_tutorial as tutorial
from fresh_machine import fresh_machine_env, fresh_machine_path  # noqa: F401 - the tests import them from here

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without Q2EXT_* or pytest variables that would leak into baked projects."""
    return {**tutorial.clean_env(), **extra}


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
