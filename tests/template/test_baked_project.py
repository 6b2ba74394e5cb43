"""A baked project grows through its own `make extension`, and its own `make test` runs every extension's tests.

make runs with this interpreter (`make -o .venv/.installed ... PY=python`) so no venv is built here; the seed
tutorial test builds the one real .venv.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from q2ext import scaffold

from .conftest import clean_env

FIRST = "AllCaps"
# (NAME, make variables): each way `make extension` is asked for a kind. Every kind and adapter type in one
# project is tests/runtime/test_baked_kinds.py's job; this checks the Makefile and the project's pytest setup.
ADDED = [
    ("SendToBus", ["KIND=base"]),
    ("SecondBus", ["KIND=9", "TYPE=Uppercase"]),
    ("PublicPage", ["KIND=online", "UNAUTHENTICATED=yes"]),
    ("FxQuotes", ["KIND=adapter", "ADAPTER=fx_rate"]),
]


def make(project: Path, *args: str) -> subprocess.CompletedProcess:
    """The project's Makefile, run with this interpreter instead of building .venv."""
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", *args, f"PY={sys.executable}"]
    return subprocess.run(command, cwd=project, env=clean_env(), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def grown(bake_module):
    """(project, outcomes of its `make test` per extension package, the make test result)."""
    project = bake_module
    for name, variables in ADDED:
        result = make(project, "extension", f"NAME={name}", *variables)
        assert result.returncode == 0, result.stdout + result.stderr
    report = project.parent / "junit.xml"
    result = make(project, "test", f"PYTEST_ADDOPTS=-p no:cacheprovider --junitxml={report}")
    outcomes: dict[str, Counter] = {}
    for case in ET.parse(report).iter("testcase"):
        failed = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        package = case.get("classname", "").split(".")[0]
        outcomes.setdefault(package, Counter())[failed[0] if failed else "passed"] += 1
    return project, outcomes, result


@pytest.fixture(scope="module")
def bake_module(template, cookiecutter_config, tmp_path_factory) -> Path:
    from cookiecutter.main import cookiecutter

    answers = {"extension_name": FIRST, "extension_kind": "message_bus", "message_type": "Lowercase"}
    out = tmp_path_factory.mktemp("grown")
    return Path(cookiecutter(str(template), no_input=True, extra_context=answers, output_dir=str(out),
                             config_file=str(cookiecutter_config)))  # fmt: skip


def test_make_extension_registers_every_added_extension(grown):
    project, _outcomes, _result = grown
    names = scaffold.installed((project / "configuration" / "settings.py").read_text())[0]
    assert names == [FIRST, *(name for name, _ in ADDED)]


def test_make_test_passes(grown):
    _project, _outcomes, result = grown
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


@pytest.mark.parametrize("name", [FIRST, *(name for name, _ in ADDED)])
def test_each_extensions_own_tests_run_and_pass(grown, name):
    _project, outcomes, _result = grown
    assert outcomes.get(name, Counter())["passed"] >= 2
    assert set(outcomes[name]) == {"passed"}, outcomes[name]


def test_the_projects_own_tests_folder_runs_too(grown):
    _project, outcomes, _result = grown
    assert outcomes.get("tests", Counter())["passed"] >= 1


def test_the_first_commit_of_a_fresh_project_passes_the_key_check(bake_module, tmp_path):
    fresh = tmp_path / "fresh"
    subprocess.run(["cp", "-r", str(bake_module), str(fresh)], check=True)
    subprocess.run(["git", "init", "-q"], cwd=fresh, check=True)
    subprocess.run(["git", "add", "-A"], cwd=fresh, check=True)
    result = subprocess.run(
        [sys.executable, "-m", "q2ext", "check-keys"], cwd=fresh, env=clean_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
