"""A new project is a git repository (so `make hooks` works at once); where it cannot be, one line says why.

Each bake runs the real cookiecutter CLI with an empty HOME and a fresh machine's PATH, so the git identity
is only what the test gives.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import fresh_machine_env

IDENTITY = {
    "GIT_AUTHOR_NAME": "New User",
    "GIT_AUTHOR_EMAIL": "new.user@example.invalid",
    "GIT_COMMITTER_NAME": "New User",
    "GIT_COMMITTER_EMAIL": "new.user@example.invalid",
}
# git may guess an identity from the host; a new user's git often cannot, and this makes sure it does not.
NO_IDENTITY = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "user.useConfigOnly", "GIT_CONFIG_VALUE_0": "true"}


def bake(template: Path, out: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, Path]:
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "cookiecutter", str(template), "--no-input", "-o", str(out)]
    result = subprocess.run(
        [*command, "extension_name=AllCaps", "extension_kind=message_bus"],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, out / "AllCaps"


def git(project: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(project), *args], capture_output=True, text=True, check=True).stdout


def test_bake_makes_a_git_repository_with_a_first_commit(template, tmp_path):
    result, project = bake(template, tmp_path / "out", fresh_machine_env(tmp_path / "home", **IDENTITY))

    assert result.returncode == 0, result.stderr
    assert "git: AllCaps/ is a new repository with a first commit" in result.stdout
    assert git(project, "rev-parse", "--show-toplevel").strip() == str(project.resolve())
    assert len(git(project, "log", "--format=%H").split()) == 1
    assert git(project, "status", "--porcelain") == ""


def test_first_commit_holds_every_file_but_the_ignored(template, tmp_path):
    _result, project = bake(template, tmp_path / "out", fresh_machine_env(tmp_path / "home", **IDENTITY))

    committed = set(git(project, "ls-files").split())
    assert {"Makefile", ".cruft.json", "AllCaps/extension.py", "q2ext/__init__.py", ".gitignore"} <= committed


def test_bake_without_a_git_identity_stages_the_files_and_says_so(template, tmp_path):
    env = fresh_machine_env(tmp_path / "home", **NO_IDENTITY)
    result, project = bake(template, tmp_path / "out", env)

    assert result.returncode == 0, result.stderr
    assert "files staged; commit them once git knows who you are" in result.stdout
    assert "AllCaps/extension.py" in git(project, "diff", "--cached", "--name-only")


def test_bake_without_git_says_so_in_one_line_and_finishes(template, tmp_path):
    no_git = tmp_path / "bin"  # a PATH with nothing on it: no git
    no_git.mkdir()
    env = {**fresh_machine_env(tmp_path / "home"), "PATH": str(no_git)}
    result, project = bake(template, tmp_path / "out", env)

    assert result.returncode == 0, result.stderr
    assert "git is not installed, so AllCaps/ is not a git repository yet" in result.stdout
    assert (project / "Makefile").is_file() and not (project / ".git").exists()


def test_bake_inside_a_git_repository_leaves_it_to_that_repository(template, tmp_path):
    outer = tmp_path / "monorepo"
    outer.mkdir()
    git(outer, "init", "-q")
    result, project = bake(template, outer / "services", fresh_machine_env(tmp_path / "home", **IDENTITY))

    assert result.returncode == 0, result.stderr
    assert f"is inside the git repository {outer.resolve()}" in result.stdout
    assert not (project / ".git").exists()


def make_hooks(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`make hooks` with this interpreter's virtualenv (it has pre-commit) instead of building .venv."""
    venv = Path(sys.executable).parent.parent
    return subprocess.run(
        ["make", "--no-print-directory", "hooks", f"VENV={venv}"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_hooks_installs_the_hook_in_a_new_project(template, tmp_path):
    env = fresh_machine_env(tmp_path / "home", **IDENTITY)
    _result, project = bake(template, tmp_path / "out", env)

    result = make_hooks(project, env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / ".git" / "hooks" / "pre-commit").is_file()


def test_make_hooks_outside_a_git_repository_says_so_in_one_line(template, tmp_path):
    env = fresh_machine_env(tmp_path / "home", **IDENTITY)
    _result, project = bake(template, tmp_path / "out", env)
    shutil.rmtree(project / ".git")

    result = make_hooks(project, env)

    assert result.returncode != 0
    error = f"error: {project} is not a git repository: run git init here, then make hooks"
    assert result.stderr.splitlines()[0] == error
    assert "Traceback" not in result.stderr and not (project / ".git").exists()
