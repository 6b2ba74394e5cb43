"""A throwaway extension project made of a copy of runtime/ and a minimal configuration/settings.py."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
if str(RUNTIME) not in sys.path:
    sys.path.insert(0, str(RUNTIME))

SETTINGS = "DEBUG = True\nPORT = 1980\nINSTALLED_EXTENSIONS = [\n]\n"
CONFTEST = 'pytest_plugins = ["q2ext.testing"]\n'
# What a generated project's pyproject needs for its tests and for ruff on the seed's message-bus files.
PYPROJECT = """\
[tool.pytest.ini_options]
testpaths = ["."]

[tool.ruff]
line-length = 120

[tool.ruff.lint]
extend-ignore = ["N999"]  # extension packages are named like their class prefix (AllCaps), as in the seed

[tool.ruff.lint.per-file-ignores]
# The seed's Message Bus files, kept word for word: imports without a blank line, `pass` after a docstring,
# and the commented url() example.
"*/urls.py" = ["I001", "ERA001"]
"*/extension.py" = ["PIE790"]

[tool.ruff.format]
quote-style = "preserve"  # the seed's MESSAGE_TYPE = 'Lowercase'; generated code uses double quotes anyway
exclude = ["*/urls.py"]  # the seed's urls.py layout; URL_PATTERNS of other kinds are short either way
"""


def make_project(root: Path) -> Path:
    """A project folder with the vendored runtime and an empty INSTALLED_EXTENSIONS."""
    for package in ("q2ext", "q2_sdk"):
        shutil.copytree(RUNTIME / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "configuration").mkdir()
    (root / "configuration" / "__init__.py").write_text("")
    (root / "configuration" / "settings.py").write_text(SETTINGS)
    (root / "conftest.py").write_text(CONFTEST)
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")
