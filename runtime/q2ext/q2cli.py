"""The `q2` command of a generated project: the Q2 SDK's spelling of create_extension, run and test.

`q2 create_extension AllCaps` asks the seed's questions (the numbered kind menu, then the message type);
`q2 create_extension SendToBus -t base` names the kind; `q2 run -l DEBUG` serves; `q2 test` runs the tests.
It adds extensions with q2ext.scaffold and serves with q2ext.cli, the code `make extension` and `make run` call.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from . import kinds, naming
from .kinds import Kind

SETTINGS = Path("configuration") / "settings.py"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
KIND_NAMES = ", ".join(kind.key for kind in kinds.KINDS)


class Refused(Exception):
    """A user mistake: printed as one line `error: ...`, exit status 2, nothing written."""


def project_root(cwd: Path | None = None) -> Path:
    """The project q2 works on: this folder if it is one, else the project this q2 was installed from."""
    here = Path.cwd() if cwd is None else cwd
    for candidate in (here, Path(__file__).resolve().parent.parent):
        if (candidate / SETTINGS).is_file():
            return candidate
    raise Refused(
        f"{here} is not a q2ext project (no {SETTINGS}): cd into the project cookiecutter made, "
        f"e.g. `cookiecutter <the q2ext template>`, then `cd <Name>`"
    )


def _ask(question: str, parse: Callable[[str], str], ask: Callable[[str], str]) -> str:
    """Ask until the answer parses; a refused answer says why on one line and asks again."""
    while True:
        try:
            answer = ask(question)
        except EOFError:
            raise Refused(
                "no answer (end of input): give it on the command line, see `q2 create_extension --help`"
            ) from None
        try:
            return parse(answer.strip())
        except ValueError as exc:
            print(f"error: {exc}")


def _menu(title: str, labels: list[str], mark_default: bool) -> str:
    """The seed's menu: a blank line, the title, a blank line, `    N) Label` lines, a blank line."""
    lines = ["", title, "", *(f"    {number}) {label}" for number, label in enumerate(labels, 1)), ""]
    return "\n".join(lines) + ("\nPlease make a selection and press Return [1]: " if mark_default else "\n")


def ask_kind(ask: Callable[[str], str]) -> Kind:
    """The seed's kind menu, `[1]` (Online) on Return."""
    question = _menu("What type of extension are you creating?", [k.label for k in kinds.KINDS], mark_default=True)
    return kinds.find(_ask(question, lambda a: kinds.find(a or "1", "extension type").key, ask))


def ask_message_type(ask: Callable[[str], str]) -> str:
    """The seed's message-type question; the answer's first letter is upper-cased (lowercase -> Lowercase)."""
    question = (
        "\nWhat type of messages should this handler consume?\n"
        "(The first letter becomes upper case, the rest stays as typed: lowercase -> Lowercase.)\n"
        "Only this type of message will be consumed by this bus: "
    )
    return _ask(question, naming.validate_message_type, ask)


def ask_options(kind: Kind, given: dict[str, str], ask: Callable[[str], str]) -> dict[str, str]:
    """The kind's own questions (adapter type, unauthenticated) that the command line did not answer."""
    answers = dict(given)
    for option in kind.options:
        if option.key in answers:
            continue
        if option is kinds.ADAPTER_TYPE:
            labels = [t.label for t in kinds.ADAPTER_TYPES]
            question = _menu(option.prompt, labels, mark_default=False) + "Please make a selection and press Return: "
            answers[option.key] = _ask(question, lambda a: kinds.find_adapter_type(a).key, ask)
        else:
            answers[option.key] = _ask(f"\n{option.prompt} [y/N]: ", _yes_no, ask)
    return answers


def _yes_no(answer: str) -> str:
    """'y'/'yes' -> 'yes'; Return, 'n'/'no' -> 'no'."""
    value = {"": "no", "n": "no", "no": "no", "y": "yes", "yes": "yes"}.get(answer.lower())
    if value is None:
        raise ValueError(f"answer y or n, not {answer!r}")
    return value


def create_extension(args: argparse.Namespace, ask: Callable[[str], str] = input) -> int:
    """Add an extension to the project: name and kind checked before any question, nothing written on a refusal."""
    from . import scaffold

    project = project_root()
    name = args.name or _ask("New Extension Name: ", naming.validate_extension_name, ask)
    scaffold.plan(project, name, "base")  # the name, its folder and INSTALLED_EXTENSIONS, before any question
    kind = kinds.find(args.type, "extension type") if args.type else None
    if kind is None:
        kind = ask_kind(ask)
    given = {}
    if args.adapter_type:
        given["adapter_type"] = args.adapter_type
    if args.unauthenticated:
        given["unauthenticated"] = "yes"
    if set(given) - {option.key for option in kind.options}:
        raise Refused(f"{', '.join(sorted(given))} does not apply to {kind.label} extensions")
    message_type = None
    if kind.needs_message_type:
        message_type = naming.validate_message_type(args.message_type) if args.message_type else None
        if message_type is None:
            message_type = ask_message_type(ask)
    options = ask_options(kind, given, ask)
    created = scaffold.add_extension(project, name, kind.key, message_type=message_type, options=options)
    files = sorted(str(path.relative_to(project)) for path in created.rglob("*") if path.is_file())
    print(f"\nCreated the {kind.label} extension {name} ({kind.key}): {', '.join(files)}")
    print(f"and added it to INSTALLED_EXTENSIONS in {SETTINGS}. `q2 run` serves it; `q2 test` runs its tests.")
    return 0


def run(args: argparse.Namespace) -> int:
    """Serve every installed extension: the same code as `make run` (python -m q2ext run)."""
    from . import cli

    argv = ["run"]
    if args.log:
        argv += ["--log", args.log]
    if args.port:
        argv += ["--port", str(args.port)]
    return cli.main(argv)


def test(args: argparse.Namespace) -> int:
    """Run the project's tests: the same command as `make test` (python -m pytest), extra arguments passed on."""
    return subprocess.call([sys.executable, "-m", "pytest", *args.pytest_args])


def generate_config(args: argparse.Namespace) -> int:
    """Write the defaults of an extension's REQUIRED/OPTIONAL_CONFIGURATIONS to configuration/<Extension>.py."""
    import importlib

    from . import configurations, startup

    naming.validate_extension_name(args.name)
    try:
        routes = importlib.import_module(f"{args.name}.urls").URL_PATTERNS
    except (ModuleNotFoundError, AttributeError):
        raise Refused(f"no extension {args.name!r} here ({args.name}/urls.py with URL_PATTERNS)") from None
    handlers = [h for h in startup.handler_classes(routes) if startup.extension_of(h) == args.name]
    path, added = configurations.generate(Path.cwd(), args.name, handlers)
    rel = path.relative_to(Path.cwd())
    print(f"added {', '.join(added)} to {rel}: edit the values there" if added else f"{rel} already sets them all")
    return 0


def _level(text: str) -> str:
    level = text.upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def parser() -> argparse.ArgumentParser:
    """q2 and its three subcommands, each with a short --help."""
    top = argparse.ArgumentParser(prog="q2", description="The Q2 SDK's commands for this q2ext project.")
    sub = top.add_subparsers(dest="command", required=True, metavar="{create_extension,run,test,generate_config}")

    p = sub.add_parser("create_extension", help="add an extension (asks its type unless -t names it)")
    p.add_argument("name", nargs="?", help="the extension's name, e.g. AllCaps (asked if left out)")
    p.add_argument("-t", "--type", help=f"the kind of extension: {KIND_NAMES} (or its menu number)")
    p.add_argument("-m", "--message-type", help="Message Bus: the type it consumes, e.g. Lowercase (else asked)")
    p.add_argument("--adapter-type", help="Adapter: e.g. fx_rate (else asked)")
    p.add_argument("--unauthenticated", action="store_true", help="Online: serve without a q2token session")
    p.set_defaults(func=create_extension)

    p = sub.add_parser("run", help="serve every installed extension (http://localhost:1980)")
    p.add_argument("-l", "--log-level", dest="log", type=_level, help="DEBUG shows what the bus sends and receives")
    p.add_argument("-p", "--port", type=int, help="the HTTP port (default: settings PORT, 1980)")
    p.set_defaults(func=run)

    p = sub.add_parser("generate_config", help="write an extension's configuration defaults to configuration/")
    p.add_argument("name", help="the extension, e.g. AccountDashboard")
    p.set_defaults(func=generate_config)

    p = sub.add_parser("test", help="run the project's tests (other arguments go to pytest, e.g. -x -k AllCaps)")
    p.set_defaults(func=test)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `q2` console script; a user mistake is one line, never a traceback."""
    top = parser()
    args, extra = top.parse_known_args(argv)
    if args.func is test:
        args.pytest_args = extra  # q2 test -x -k AllCaps: pytest's own options
    elif extra:
        top.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        os.chdir(project_root())  # extensions import from the project's root, as under `make`
        sys.path.insert(0, os.getcwd())
        return args.func(args)
    except (Refused, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
