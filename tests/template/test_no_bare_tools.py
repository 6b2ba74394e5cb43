"""Tests and scripts start Python tools through an interpreter or a virtualenv's bin/, never by a bare name.

`make test` puts ruff, cruft, cookiecutter, pytest and pre-commit in a virtualenv whose bin/ is not on PATH: a
bare `["ruff", ...]` passes only on a machine that has ruff on PATH by hand (it did, on CI, and failed on two
fresh machines). `.ci/run` now runs with a fresh machine's PATH; this catches the mistake before a run.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = {"ruff", "cruft", "cookiecutter", "pytest", "pre-commit", "pip", "pip3", "tansu", "py.test"}
SCANNED = ("tests", "scripts", "bench", "hooks")


def bare_tool_calls(source: str) -> list[tuple[int, str]]:
    """(line, tool) of every list or tuple literal whose first item is a tool's bare name: an argv."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
            first = node.elts[0]
            if isinstance(first, ast.Constant) and first.value in TOOLS and len(node.elts) > 1:
                found.append((node.lineno, first.value))
    return found


def test_no_test_or_script_starts_a_tool_by_its_bare_name():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {tool}"
        for folder in SCANNED
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, tool in bare_tool_calls(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "use [sys.executable, '-m', tool, ...] or a virtualenv's bin/ instead"


def test_a_bare_ruff_argv_is_found():
    assert bare_tool_calls('subprocess.run(["ruff", "check", "."])') == [(1, "ruff")]


def test_an_interpreter_started_tool_is_fine():
    assert bare_tool_calls('subprocess.run([sys.executable, "-m", "ruff", "check"])') == []
