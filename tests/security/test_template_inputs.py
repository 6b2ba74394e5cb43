"""Hostile answers to the template (real `cookiecutter --no-input` runs): nothing runs, nothing is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[2]
MARK = "MARK"
PAYLOADS = {
    "jinja-expression": "{{ cycler.__init__.__globals__.os.system('touch MARK') }}",
    "jinja-statement": "{% set x = cycler.__init__.__globals__.os.system('touch MARK') %}Fine",
    "jinja-globals": "{{ lipsum.__globals__['os'].popen('touch MARK').read() }}",
    "shell-substitution": "A$(touch MARK)",
    "shell-separator": "A`touch MARK`; touch MARK",
    "python-quotes": 'A"""); __import__("os").system("touch MARK"); ("""',
    "backslashes": "A\\\\\"); __import__('os').system('touch MARK') #",
    "newline": "A\nimport os; os.system('touch MARK')",
    "path": "../../MARK",
}
# message_type goes through the same rendering and a stricter pattern: the three kinds of payload suffice.
TYPE_PAYLOADS = {name: PAYLOADS[name] for name in ("jinja-expression", "shell-substitution", "python-quotes")}


def bake(tmp_path: Path, **answers: str) -> subprocess.CompletedProcess:
    """cookiecutter --no-input with these answers, in tmp_path (where a payload would `touch MARK`)."""
    args = [f"{name}={value}" for name, value in answers.items()]
    return subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE), "-o", str(tmp_path / "out"), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_refused_cleanly(tmp_path: Path, done: subprocess.CompletedProcess) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: ")
    assert not list(tmp_path.rglob(f"*{MARK}*")), "a payload ran"
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir()), "a project folder was left behind"


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_hostile_extension_name_runs_nothing_and_writes_nothing(tmp_path, payload):
    done = bake(tmp_path, extension_name=payload, extension_kind="message_bus", message_type="Lowercase")
    assert_refused_cleanly(tmp_path, done)


@pytest.mark.parametrize("payload", TYPE_PAYLOADS.values(), ids=TYPE_PAYLOADS.keys())
def test_hostile_message_type_runs_nothing_and_writes_nothing(tmp_path, payload):
    done = bake(tmp_path, extension_name="AllCaps", extension_kind="message_bus", message_type=payload)
    assert_refused_cleanly(tmp_path, done)


def test_jinja_in_a_choice_answer_runs_nothing(tmp_path):
    answers = {"extension_name": "AllCaps", "extension_kind": PAYLOADS["jinja-expression"]}
    assert_refused_cleanly(tmp_path, bake(tmp_path, **answers))


def test_jinja_arithmetic_in_an_answer_is_rendered_then_refused_as_a_name(tmp_path):
    done = bake(tmp_path, extension_name="{{ 7*7 }}", extension_kind="base")
    assert_refused_cleanly(tmp_path, done)
    assert "extension_name '49' must start with a letter" in done.stderr
