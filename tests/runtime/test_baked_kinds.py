"""Every kind and every adapter type, added to one project: its generated tests pass and ruff is clean.

One project holds them all (as a real project holds many extensions), its own `python -m pytest` runs
once, and each extension's outcome is checked by its own test here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pytest

from q2ext import kinds, scaffold

from .conftest import make_project


def _camel(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))


# (extension name, kind, message type, options): one row per case, like cookiecutter-django's matrix.
CASES = [
    ("AllCaps", "message_bus", "Lowercase", {}),
    *[(f"K{_camel(k.key)}", k.key, None, {}) for k in kinds.KINDS if k.key not in ("message_bus", "adapter")],
    ("PublicPage", "online", None, {"unauthenticated": "yes"}),
    *[(f"A{_camel(t.key)}", "adapter", None, {"adapter_type": t.key}) for t in kinds.ADAPTER_TYPES],
]
SEED_FILES = ("AllCaps/urls.py",)  # the seed's layout, which ruff format would join into one line per url()


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("Q2EXT_", "PYTEST_"))}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def baked(tmp_path_factory) -> tuple[Path, dict[str, list[tuple[str, str]]], subprocess.CompletedProcess]:
    """The project with every case added, and its own test run: outcomes per extension package."""
    project = make_project(tmp_path_factory.mktemp("baked") / "proj")
    for name, kind, message_type, options in CASES:
        scaffold.add_extension(project, name, kind, message_type=message_type, options=options)
    report = project.parent / "junit.xml"
    run = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"], project)
    outcomes: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for case in ET.parse(report).iter("testcase"):
        failed = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[case.get("classname", "").split(".")[0]].append((case.get("name"), failed[0] if failed else "passed"))
    return project, outcomes, run


@pytest.mark.parametrize(("name", "kind", "message_type", "options"), CASES, ids=[c[0] for c in CASES])
def test_generated_tests_pass(baked, name, kind, message_type, options):
    _project, outcomes, run = baked
    results = outcomes[name]

    assert len(results) >= 2, f"{name} has fewer than two generated tests\n{run.stdout[-3000:]}"
    assert all(outcome == "passed" for _test, outcome in results), f"{results}\n{run.stdout[-3000:]}"


def test_generated_code_passes_ruff_check(baked):
    project = baked[0]
    packages = [name for name, *_ in CASES]
    run = _run([sys.executable, "-m", "ruff", "check", *packages], project)

    assert run.returncode == 0, run.stdout


def test_generated_code_is_ruff_formatted_except_the_seeds_urls(baked):
    project = baked[0]
    files = [str(p.relative_to(project)) for name, *_ in CASES for p in (project / name).rglob("*.py")]
    files = [f for f in files if f not in SEED_FILES]
    args = ["format", "--check", "--no-force-exclude", "--config", "format.exclude=[]", *files]
    run = _run([sys.executable, "-m", "ruff", *args], project)

    assert run.returncode == 0, run.stdout


def test_nothing_unrendered_is_left(baked):
    project = baked[0]
    leftovers = [
        str(path.relative_to(project))
        for name, *_ in CASES
        for path in (project / name).rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts  # the project's own pytest run compiles its files
        and any(mark in path.read_text() for mark in ("{{ name", "{%- ", "{% block", "{% if unauth"))
    ]

    assert leftovers == []
