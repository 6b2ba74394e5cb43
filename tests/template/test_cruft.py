"""A baked project records its template, so `cruft check` and `cruft update` bring later changes in."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import clean_env, fresh_machine_env

GIT = ["git", "-c", "user.name=q2ext tests", "-c", "user.email=tests@example.invalid"]


def git(folder: Path, *args: str) -> str:
    return subprocess.run([*GIT, "-C", str(folder), *args], capture_output=True, text=True, check=True).stdout.strip()


def cruft(project: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "cruft", *args]
    return subprocess.run(command, cwd=project, env=clean_env(), capture_output=True, text=True, timeout=120)


@pytest.fixture
def template_repo(template, tmp_path) -> Path:
    """The template as a git repository with one commit (cruft follows commits)."""
    repo = shutil.copytree(template, tmp_path / "q2ext")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "template v1")
    return repo


@pytest.fixture
def project(template_repo, bake_cli) -> Path:
    """AllCaps baked from that repository, committed to the git repository the bake made (or on top of it)."""
    result, out = bake_cli("extension_name=AllCaps", "extension_kind=message_bus", template_dir=template_repo)
    assert result.returncode == 0, result.stderr
    project = out / "AllCaps"
    git(project, "init", "-q")  # a no-op where the bake made the repository
    git(project, "add", "-A")
    git(project, "commit", "-qm", "baked", "--allow-empty")
    return project


def test_cruft_json_records_template_commit_and_answers(project, template_repo):
    state = json.loads((project / ".cruft.json").read_text())
    assert state["template"] == str(template_repo)
    assert state["commit"] == git(template_repo, "rev-parse", "HEAD")
    answers = state["context"]["cookiecutter"]
    assert (answers["extension_name"], answers["extension_kind"], answers["message_type"]) == (
        "AllCaps",
        "message_bus",
        "Lowercase",
    )


def test_cruft_check_passes_on_a_fresh_bake(project):
    assert cruft(project, "check").returncode == 0


def test_cruft_check_fails_once_the_template_moves_on(project, template_repo):
    (template_repo / "runtime" / "q2ext" / "naming.py").open("a").write('"""runtime v2"""\n')
    git(template_repo, "commit", "-qam", "template v2")
    assert cruft(project, "check").returncode != 0


def test_cruft_update_brings_a_newer_runtime_and_files_in(project, template_repo):
    (template_repo / "runtime" / "q2ext" / "naming.py").open("a").write('"""runtime v2"""\n')
    readme = template_repo / "{{cookiecutter.extension_name}}" / "README.md"
    readme.write_text(readme.read_text() + "\nTemplate v2.\n")
    git(template_repo, "commit", "-qam", "template v2")
    result = cruft(project, "update", "--skip-apply-ask", "--allow-untracked-files")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "q2ext" / "naming.py").read_text().endswith('"""runtime v2"""\n')
    assert (project / "README.md").read_text().endswith("Template v2.\n")
    assert cruft(project, "check").returncode == 0


@pytest.fixture(scope="module")
def project_with_venv(template, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """SLOW: AllCaps baked from a template repository as a new user does, with the .venv its Makefile builds."""
    workdir = tmp_path_factory.mktemp("cruft-venv")
    env = fresh_machine_env(workdir / "home")
    repo = shutil.copytree(template, workdir / "q2ext")
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "template v1"]):
        git(repo, *step)
    command = [sys.executable, "-m", "cookiecutter", str(repo), "--no-input", "-o", str(workdir)]
    baked = subprocess.run([*command, "extension_name=AllCaps"], env=env, capture_output=True, text=True, timeout=120)
    assert baked.returncode == 0, baked.stderr
    project = workdir / "AllCaps"
    built = subprocess.run(["make", ".venv/.installed"], cwd=project, env=env, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    return project, env


@pytest.mark.slow
def test_cruft_check_runs_from_the_projects_own_venv(project_with_venv):
    project, env = project_with_venv
    result = subprocess.run(
        [".venv/bin/cruft", "check"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout.lower()


def test_template_readme_says_where_cookiecutter_is_after_make_demo():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "~/.cache/q2ext/venv/bin/cookiecutter /path/to/this/checkout --no-input" in readme
    assert "not on your PATH" in readme
