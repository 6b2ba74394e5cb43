"""Fixtures every test folder may use: a copy of just the template's files, to bake from.

cookiecutter copies the whole template folder before it asks anything (the pre_prompt hook runs in that
copy), so baking from a checkout copies its .venv too: some 200 MB and seconds per bake. Bake from this.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PARTS = ("cookiecutter.json", "local_extensions.py", "hooks", "runtime", "{{cookiecutter.extension_name}}")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".ruff_cache", ".pytest_cache", ".q2ext", ".hypothesis")


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the session (scripts/pg_local.py); each test takes a schema of its own."""
    from pg_local import LocalPostgres

    with LocalPostgres() as server:
        yield server


def copy_template(dest: Path) -> Path:
    """A copy of the template's own files (no .venv, caches or .git), to bake from."""
    dest.mkdir(parents=True)
    for part in TEMPLATE_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, dest / part, ignore=JUNK)
        else:
            shutil.copy2(source, dest / part)
    return dest


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> Path:
    """The template's files, copied once per session: `cookiecutter <template> ...` bakes from it."""
    return copy_template(tmp_path_factory.mktemp("template") / "q2ext")


class Clock:
    """A clock the test moves by hand (`clock.now += 5`): where time is the subject, tests never wait on it."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """A hand-moved clock to inject where the code under test reads the time."""
    return Clock()
