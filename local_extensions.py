"""The template's Jinja extension: checks the answers before cookiecutter writes anything.

cookiecutter renders the private variables `__check_*` of cookiecutter.json with these filters while it
collects the answers, before the project folder exists. A bad answer prints one line to stderr and raises
SystemExit(1): the CLI, the Python API and pytest-cookies all stop there, with no folder and no traceback
(a failing pre_gen_project hook would leave a traceback on cookiecutter 2.7).
"""

from __future__ import annotations

import atexit
import difflib
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from jinja2.ext import Extension
from jinja2.sandbox import SandboxedEnvironment

ROOT = Path(__file__).resolve().parent
# The runtime's naming rules and kinds table, and the hooks' mark for cookiecutter's temporary copy (standard
# library only), without leaving runtime/ or hooks/ on sys.path.
sys.path[:0] = [str(ROOT / "runtime"), str(ROOT / "hooks")]
try:
    from q2ext import naming, readme
    from q2ext.kinds import ADAPTER_TYPE, KINDS, UNAUTHENTICATED, find
    from q2ext_bake import TEMPORARY_COPY_MARK
finally:
    sys.path.remove(str(ROOT / "runtime"))
    sys.path.remove(str(ROOT / "hooks"))

VARIABLES = ("extension_name", "extension_kind", "message_type", "unauthenticated", "adapter_type")
CHOICES = {
    "extension_kind": tuple(kind.key for kind in KINDS),
    "unauthenticated": UNAUTHENTICATED.choices,
    "adapter_type": ADAPTER_TYPE.choices,
}


def _did_you_mean(value: str, choices: tuple[str, ...]) -> str:
    """The one choice that contains the value ('fx' -> 'fx_rate'), else the closest spelling, if any."""
    containing = [choice for choice in choices if value and value.lower() in choice]
    close = containing if len(containing) == 1 else difflib.get_close_matches(value, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def refuse_keys(keys: list) -> None:
    """Refuse `key=value` arguments that name no variable (cookiecutter would ignore them) or a private one."""
    for key in keys:
        if str(key).startswith("_"):
            raise ValueError(
                f"{key!r} is private to the template and cannot be set: the variables are {', '.join(VARIABLES)}"
            )
        raise ValueError(
            f"unknown variable {key!r}{_did_you_mean(key, VARIABLES)}: the variables are {', '.join(VARIABLES)}"
        )


def check_choice(variable: str, value: str) -> None:
    """Refuse a value outside the table's choices, naming them all (a kind may also be given by number or label)."""
    choices = CHOICES[variable]
    if value in choices:
        return
    if variable == "extension_kind":  # the kinds' one parser: key, menu number or label, as q2 and make take
        find(value)
        return
    raise ValueError(f"{variable} {value!r} is not one of {', '.join(choices)}{_did_you_mean(value, choices)}")


def check_answers(answers: Mapping) -> None:
    """Every answer, as the project needs it; ValueError's one line says what is wrong and how to fix it."""
    naming.validate_extension_name(answers["extension_name"])
    for variable in CHOICES:
        check_choice(variable, answers[variable])
    if find(answers["extension_kind"]).needs_message_type:
        naming.validate_message_type(answers["message_type"])


def _abort_on_error(check, value) -> str:
    """Run a check; on ValueError print its one line and stop cookiecutter before it writes anything."""
    try:
        check(value)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    return ""


def answers_of(context: Mapping) -> dict[str, str]:
    """Just the public answers (what the hooks and .cruft.json need), not cookiecutter's private keys."""
    return {name: context[name] for name in VARIABLES}


def kind_readme(answers: Mapping) -> str:
    """The project README's section on its first extension's kind (q2ext.readme)."""
    return readme.kind_section(
        answers["extension_kind"], answers["extension_name"], answers["message_type"], answers["adapter_type"]
    )


def session_query(answers: Mapping) -> str:
    """'?q2token=alice' where the first extension is an Online page that asks for a session (the README's example)."""
    online = find(answers["extension_kind"]).key == "online" and answers["unauthenticated"] != "yes"
    return "?q2token=alice" if online else ""


def template_root() -> str:
    """This template's folder: the last template folder on sys.path (cookiecutter and cruft both add it)."""
    for entry in reversed(sys.path):
        folder = Path(entry)
        if (folder / "cookiecutter.json").is_file() and (folder / "local_extensions.py").is_file():
            return str(folder)
    return str(ROOT)


_MKDTEMP_NAME = re.compile(r"cookiecutter[a-z0-9_]{8}")
_copies: set[Path] = set()


def remove_at_exit(template: Path) -> bool:
    """Have cookiecutter's temporary copy of this template removed when the process ends; True if it is one.

    For the pre_prompt hook cookiecutter (2.7) copies the template into a new temp folder and never removes
    that folder: the whole copy stays when an answer is refused, the empty folder when the bake succeeds.
    Only a folder pre_prompt.py marked, in a folder tempfile.mkdtemp(prefix="cookiecutter") made, is one.
    """
    template = template.resolve()
    base = template.parent
    if not (
        (template / TEMPORARY_COPY_MARK).is_file()
        and _MKDTEMP_NAME.fullmatch(base.name)
        and base.parent == Path(tempfile.gettempdir()).resolve()
    ):
        return False
    if not _copies:
        atexit.register(_remove_copies)
    _copies.add(base)
    return True


def _remove_copies() -> None:
    for base in _copies:
        shutil.rmtree(base, ignore_errors=True)


class _RefusingSandbox(SandboxedEnvironment):
    """A sandbox whose refusal is one line: the template itself never touches an unsafe attribute."""

    def unsafe_undefined(self, obj, attribute):
        print(
            f"error: an answer tried to reach {attribute!r} of a {type(obj).__name__}: answers are plain names, "
            f"not Jinja code",
            file=sys.stderr,
        )
        raise SystemExit(1)


def sandbox(environment) -> None:
    """cookiecutter renders every answer as Jinja: sandbox it, so `{{ cycler.__init__.__globals__ }}` runs nothing."""
    base = type(environment)
    environment.__class__ = type(f"Sandboxed{base.__name__}", (_RefusingSandbox, base), {})
    environment.binop_table = dict(SandboxedEnvironment.default_binop_table)
    environment.unop_table = dict(SandboxedEnvironment.default_unop_table)


class Q2ExtValidation(Extension):
    """Filters q2ext_refuse_keys / _check_name / _check_answers / _answers / _kind_readme / _is_message_bus /
    _session_query, and q2ext_template_root()."""

    def __init__(self, environment) -> None:
        super().__init__(environment)
        sandbox(environment)
        remove_at_exit(Path(template_root()))
        environment.filters["q2ext_refuse_keys"] = lambda keys: _abort_on_error(refuse_keys, keys)
        environment.filters["q2ext_check_name"] = lambda name: _abort_on_error(naming.validate_extension_name, name)
        environment.filters["q2ext_check_answers"] = lambda answers: _abort_on_error(check_answers, answers)
        environment.filters["q2ext_answers"] = answers_of
        environment.filters["q2ext_kind_readme"] = kind_readme
        environment.filters["q2ext_session_query"] = session_query
        environment.filters["q2ext_is_message_bus"] = lambda answers: find(answers["extension_kind"]).needs_message_type
        environment.globals["q2ext_template_root"] = template_root
