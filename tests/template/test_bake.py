"""Every kind and every adapter type, baked by cookiecutter: complete, rendered, registered, lint-clean.

The cases are data (one row per bake, as cookiecutter-django's generation test lists its options).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from q2ext import scaffold
from q2ext.kinds import ADAPTER_TYPES, KINDS, find

from .conftest import clean_env


def _case(name: str, kind: str, **answers: str) -> tuple[str, dict[str, str]]:
    return name, {"extension_name": name, "extension_kind": kind, **answers}


CASES = dict(
    [
        *(_case(f"K{kind.key.title().replace('_', '')}", kind.key) for kind in KINDS if kind.key != "message_bus"),
        _case("AllCaps", "message_bus", message_type="Lowercase"),
        _case("PublicPage", "online", unauthenticated="yes"),
        *(_case(f"A{t.key.title().replace('_', '')}", "adapter", adapter_type=t.key) for t in ADAPTER_TYPES),
    ]
)
# Cookiecutter syntax that escaped rendering; Tornado's own {{ }} / {% %} in an extension's templates/ is fine.
COOKIECUTTER_LEFTOVER = re.compile(r"\{\{-?\s*cookiecutter|\{%-?[^%]*cookiecutter|\{\{\s*_")


def kind_of(name: str):
    return find(CASES[name]["extension_kind"])


@pytest.fixture(scope="module")
def bakes(template, cookiecutter_config, tmp_path_factory) -> dict[str, Path]:
    """Each case baked by cookiecutter's Python API into a folder of its own."""
    out = tmp_path_factory.mktemp("bakes")
    return {
        name: Path(
            cookiecutter(
                str(template),
                no_input=True,
                extra_context=answers,
                output_dir=str(out / name),
                config_file=str(cookiecutter_config),
            )
        )
        for name, answers in CASES.items()
    }


def text_files(project: Path):
    for path in sorted(project.rglob("*")):
        parts = path.relative_to(project).parts
        if path.is_file() and "skeletons" not in parts and ".git" not in parts and path.suffix not in (".pyc", ".png"):
            yield path, path.read_text(encoding="utf-8")


def test_every_kind_and_adapter_type_has_a_case():
    assert {answers["extension_kind"] for answers in CASES.values()} == {kind.key for kind in KINDS}
    assert {answers.get("adapter_type") for answers in CASES.values()} >= {t.key for t in ADAPTER_TYPES}


@pytest.mark.parametrize("name", CASES)
def test_bake_is_a_project_with_the_extension_package(bakes, name):
    project = bakes[name]
    assert project.name == name
    for part in ("Makefile", "pyproject.toml", "README.md", ".gitignore", ".pre-commit-config.yaml", "conftest.py"):
        assert (project / part).is_file(), part
    for relative in kind_of(name).files:
        assert (project / name / relative.replace("<name>", name.lower())).is_file(), relative


@pytest.mark.parametrize("name", CASES)
def test_bake_vendors_the_runtime_without_caches(bakes, name):
    project = bakes[name]
    assert (project / "q2ext" / "server.py").is_file()
    assert (project / "q2_sdk" / "core" / "message_bus.py").is_file()
    assert not list(project.rglob("__pycache__"))


@pytest.mark.parametrize("name", CASES)
def test_bake_registers_the_extension_in_settings(bakes, name):
    settings_text = (bakes[name] / "configuration" / "settings.py").read_text()
    assert scaffold.installed(settings_text)[0] == [name]


@pytest.mark.parametrize("name", CASES)
def test_extension_inherits_its_kinds_base_class(bakes, name):
    kind = kind_of(name)
    extension = (bakes[name] / name / "extension.py").read_text()
    assert f"class {name}Handler(" in extension
    base = kind.base_class if kind.key != "adapter" else find_adapter(name).base_class
    assert base in extension


def find_adapter(name: str):
    return next(t for t in ADAPTER_TYPES if t.key == CASES[name].get("adapter_type", ADAPTER_TYPES[0].key))


@pytest.mark.parametrize("name", [n for n in CASES if "adapter_type" in CASES[n]])
def test_adapter_bake_generates_the_methods_of_its_type(bakes, name):
    extension = (bakes[name] / name / "extension.py").read_text()
    for method in find_adapter(name).methods:
        assert re.search(rf"def {method.name}\(", extension), method.name


def test_fx_rate_adapter_generates_quote_book_and_cancel(bakes):
    extension = (bakes["AFxRate"] / "AFxRate" / "extension.py").read_text()
    assert all(f"def {m}(" in extension for m in ("get_fx_quote", "book_fx_quote", "cancel_fx_quote"))


def test_message_bus_bake_has_the_seeds_two_routes(bakes):
    urls = (bakes["AllCaps"] / "AllCaps" / "urls.py").read_text()
    assert "url(r'/AllCaps/?'," in urls and "url(r'/Lowercase/message/process/sdk'," in urls
    assert "MESSAGE_TYPE = 'Lowercase'" in (bakes["AllCaps"] / "AllCaps" / "extension.py").read_text()


def test_unauthenticated_online_bake_differs_from_the_default(bakes):
    public = (bakes["PublicPage"] / "PublicPage" / "extension.py").read_text()
    default = (bakes["KOnline"] / "KOnline" / "extension.py").read_text().replace("KOnline", "PublicPage")
    assert public != default


@pytest.mark.parametrize("name", CASES)
def test_bake_leaves_no_cookiecutter_syntax(bakes, name):
    for path, text in text_files(bakes[name]):
        assert not COOKIECUTTER_LEFTOVER.search(text), path
        if "templates" not in path.relative_to(bakes[name]).parts:
            assert "{{" not in text and "{%" not in text, path


@pytest.mark.parametrize("name", CASES)
def test_bake_records_answers_for_cruft(bakes, name, template):
    state = json.loads((bakes[name] / ".cruft.json").read_text())
    assert state["template"] == str(template)
    assert {k: v for k, v in state["context"]["cookiecutter"].items() if k in CASES[name]} == CASES[name]


def test_every_bake_passes_ruff_check_and_format(bakes):
    folders = [str(path) for path in bakes.values()]
    for command in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, *folders], capture_output=True, text=True, env=clean_env()
        )
        assert result.returncode == 0, result.stdout + result.stderr
