"""The runtime stays readable: no module over ~400 lines, no function over ~50 (argparse tables aside)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "runtime" / "q2ext"
MODULE_LINES = 420  # "about 400": a module past it has two jobs
FUNCTION_LINES = 50
ARGPARSE_TABLES = {"cli.py:parser"}  # one add_argument per line: a table, not logic


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_runtime_module_is_over_about_400_lines():
    long = {
        p.relative_to(PACKAGE).as_posix(): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MODULE_LINES
    }

    assert not long, f"split these by job: {long}"


def test_no_runtime_function_is_over_50_lines():
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{path.relative_to(PACKAGE).as_posix()}:{node.name}"
                if node.end_lineno - node.lineno + 1 > FUNCTION_LINES and name not in ARGPARSE_TABLES:
                    long[name] = node.end_lineno - node.lineno + 1

    assert not long, f"split these: {long}"
