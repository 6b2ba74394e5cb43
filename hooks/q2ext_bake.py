"""What the template's hooks do, as importable, tested functions (the hook scripts only call them).

pre_prompt: let a bad `key=value` from cookiecutter's command line reach the validating filters, which refuse
it with one line (cookiecutter 2.7 itself raises a ValueError traceback for a bad choice and ignores unknown
keys). post_gen_project: vendor the runtime, add the first extension through the same code path as
`make extension`, and record the template for cruft.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

RUNTIME_PACKAGES = ("q2ext", "q2_sdk")
TEMPORARY_COPY_MARK = ".q2ext-temporary-copy"  # what pre_prompt.py leaves in cookiecutter's copy of the template
REMOTE_PREFIXES = ("gh:", "gl:", "bb:", "git@", "git+", "hg+")


# --- pre_prompt ---------------------------------------------------------------------------------------------


def parent_argv(pid: int | None = None) -> list[str] | None:
    """The command line of the process that runs this hook (cookiecutter), or None where /proc is missing."""
    try:
        raw = Path(f"/proc/{pid or os.getppid()}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode("utf-8", "surrogateescape") for part in raw.split(b"\0") if part]


def cookiecutter_args(argv: list[str] | None) -> list[str] | None:
    """The arguments after `cookiecutter` (console script or `-m cookiecutter`); None for any other program."""
    for index, part in enumerate(argv or []):
        if Path(part).name == "cookiecutter":
            return argv[index + 1 :]
        if part == "-m" and argv[index + 1 : index + 2] in (["cookiecutter"], ["cookiecutter.__main__"]):
            return argv[index + 2 :]
    return None


def command_line_answers(args: list[str] | None) -> dict[str, str]:
    """The `key=value` answers of a cookiecutter command line, parsed by cookiecutter's own CLI definition."""
    if not args:
        return {}
    try:
        from cookiecutter.cli import main

        params = main.make_context("cookiecutter", list(args), resilient_parsing=True).params
    except Exception:  # noqa: BLE001 - a command line we cannot read is cookiecutter's to report
        return {}
    return dict(params.get("extra_context") or {})


def let_answers_through(context: dict, answers: Mapping[str, str]) -> bool:
    """Make cookiecutter.json accept bad answers so the filters, not a traceback, refuse them; True if changed.

    A choice outside its list is appended to it. A key naming no variable, or naming a private one (which could
    switch a check off), is listed in a private variable whose name the command line cannot guess, checked first.
    """
    unknown = [key for key in answers if key not in context or key.startswith("_")]
    changed = False
    for key, value in answers.items():
        if key not in unknown and isinstance(context[key], list) and value not in context[key]:
            context[key].append(value)
            changed = True
    if unknown:
        tag = secrets.token_hex(6)
        checks = {
            f"_q2ext_refused_{tag}": unknown,
            f"__q2ext_check_{tag}": f"{{{{ cookiecutter._q2ext_refused_{tag} | q2ext_refuse_keys }}}}",
        }
        rest = dict(context)
        context.clear()
        context.update({**checks, **rest})
        changed = True
    return changed


def prepare_context_file(context_file: Path, argv: list[str] | None) -> bool:
    """Apply let_answers_through to this (temporary copy of) cookiecutter.json for the parent's command line."""
    answers = command_line_answers(cookiecutter_args(argv))
    if not answers:
        return False
    context = json.loads(context_file.read_text(encoding="utf-8"))
    if not let_answers_through(context, answers):
        return False
    context_file.write_text(json.dumps(context, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return True


# --- post_gen_project ---------------------------------------------------------------------------------------


def vendor_runtime(template_dir: Path, project: Path) -> None:
    """Copy runtime/q2ext and runtime/q2_sdk into the project: a project needs no q2ext package from anywhere."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")
    for package in RUNTIME_PACKAGES:
        shutil.copytree(template_dir / "runtime" / package, project / package, ignore=ignore, dirs_exist_ok=True)


def add_first_extension(project: Path, answers: Mapping[str, str]) -> Path:
    """Scaffold the extension the answers describe with the project's own runtime (what `make extension` runs)."""
    sys.dont_write_bytecode = True  # importing the project's q2ext must not leave __pycache__ in the new project
    sys.path.insert(0, str(project))
    from q2ext.kinds import find
    from q2ext.scaffold import add_extension

    kind = find(answers["extension_kind"])
    return add_extension(
        project,
        answers["extension_name"],
        kind.key,
        message_type=answers["message_type"] if kind.needs_message_type else None,
        options={option.key: answers[option.key] for option in kind.options},
    )


def template_source(template: str | None, template_dir: Path, environ: Mapping[str, str]) -> str:
    """Where the template came from, as cruft can clone it: a URL as given, a local folder made absolute."""
    if not template:
        return str(template_dir)
    if "://" in template or template.startswith(REMOTE_PREFIXES):
        return template
    path = Path(template).expanduser()
    if not path.is_absolute():  # relative to the shell's folder: cookiecutter has moved its own by now
        path = Path(environ.get("PWD", os.getcwd())) / path
    return str(path.resolve()) if (path / "cookiecutter.json").is_file() else template


def git_commit(folder: Path) -> str | None:
    """The commit checked out in this folder if it is the top of a git work tree, else None."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != folder.resolve():
            return None
        return git("rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return None


def cruft_state(answers: Mapping[str, str], template: str, commit: str | None, checkout: str | None) -> dict:
    """The .cruft.json content that lets `cruft check` / `cruft update` bring later template changes in."""
    from q2ext import __version__

    context = {**answers, "_template": template, "_commit": commit, "_q2ext_version": __version__}
    return {
        "template": template,
        "commit": commit,
        "checkout": checkout,
        "context": {"cookiecutter": context},
        "directory": None,
    }


def remove_empty_dirs(project: Path) -> list[Path]:
    """Remove folders that rendered to nothing (cookiecutter cannot skip them itself); returns what went."""
    removed = []
    for folder, _dirs, _files in os.walk(project, topdown=False):
        path = Path(folder)
        if path != project and ".git" not in path.parts and not any(path.iterdir()):
            path.rmdir()
            removed.append(path)
    return removed


def init_git_repository(project: Path, where: str) -> str:
    """Make the new project a git repository with a first commit (`make hooks` needs one); returns one line."""
    if shutil.which("git") is None:
        return f"git is not installed, so {where}/ is not a git repository yet: install git, then git init there"

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(project), *args], capture_output=True, text=True, timeout=60)

    try:
        return _init_and_commit(git, where)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"git failed in {where}/ ({exc}): run git init there yourself"


def _init_and_commit(git: Callable[..., subprocess.CompletedProcess], where: str) -> str:
    toplevel = git("rev-parse", "--show-toplevel")
    if toplevel.returncode == 0:
        return f"{where}/ is inside the git repository {toplevel.stdout.strip()}: commit it there"
    for step in (("init", "-q"), ("add", "-A")):
        done = git(*step)
        if done.returncode != 0:
            return f"git {step[0]} failed in {where}/ ({_last_line(done.stderr)}): run git init there yourself"
    if git("commit", "-q", "-m", "Created from the q2ext template").returncode != 0:
        return (
            f"git: {where}/ is a new repository with its files staged; commit them once git knows who you are "
            '(git config --global user.name "..." and user.email "...")'
        )
    return f"git: {where}/ is a new repository with a first commit"


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def next_steps(project: Path, answers: Mapping[str, str], output_dir: Path) -> str:
    """What to type next, printed after the bake."""
    from q2ext.kinds import find

    kind = find(answers["extension_kind"])
    where = os.path.relpath(project, output_dir) if output_dir else str(project)
    from q2ext.naming import message_type_of

    about = f" consuming {message_type_of(answers['message_type'])} messages" if kind.needs_message_type else ""
    return "\n".join(
        [
            f"Created {where}/ with the {kind.label} extension {answers['extension_name']}{about}.",
            "Next:",
            f"    cd {where}",
            "    make run     # first run sets up .venv, then serves http://localhost:1980",
            "    make test    # the project's tests",
            "    make help    # every command (make extension NAME=SendToBus KIND=base adds another)",
            "The Q2 SDK's commands, once make has set up .venv:",
            "    . .venv/bin/activate    # puts q2 on PATH",
            "    q2 create_extension SendToBus -t base    # or q2 create_extension SendToBus: the menu",
            "    q2 run -l DEBUG",
        ]
    )


def finish(project: Path, answers: Mapping[str, str], source: Mapping) -> int:
    """post_gen_project: vendor, scaffold, record for cruft, tidy, say what next; one line on error."""
    template_dir = Path(source["template_dir"])
    try:
        vendor_runtime(template_dir, project)
        add_first_extension(project, answers)
        if not source.get("driven_by_cruft"):  # cruft writes its own .cruft.json after generating
            template = template_source(source.get("template"), template_dir, os.environ)
            state = cruft_state(answers, template, git_commit(template_dir), source.get("checkout"))
            (project / ".cruft.json").write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        remove_empty_dirs(project)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not source.get("driven_by_cruft"):  # cruft regenerates to compute a diff: nothing was created
        output_dir = Path(source.get("output_dir") or project.parent)
        print(init_git_repository(project, os.path.relpath(project, output_dir)))
        print(next_steps(project, answers, output_dir))
    return 0
