"""The names a user picks (extension names, message types, kinds), checked once with errors that tell the fix.

Pure standard library plus the kinds table, so cookiecutter's Jinja extension can import it before any
dependency is installed.
"""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata

from .kinds import find

MAX_NAME_LENGTH = 64
MAX_MESSAGE_TYPE_LENGTH = 100
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DIGITS = ("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")

# Folders and modules a project already has at its root, plus its dependencies' top-level packages.
# Compared case-insensitively: on macOS and Windows 'Tests/' and 'tests/' are one folder.
PROJECT_NAMES = frozenset({"q2ext", "q2_sdk", "configuration", "tests", "test", "docs", "conftest", "setup"})
PROJECT_NAMES |= {"build", "dist", "venv", "env", "node_modules"}
DEPENDENCY_NAMES = frozenset({"tornado", "cryptography", "aiohttp", "aiokafka", "kafka", "pytest", "hypothesis"})
DEPENDENCY_NAMES |= {"ruff", "pre_commit", "setuptools", "pip", "pkg_resources", "jinja2", "multidict", "yarl"}
DEPENDENCY_NAMES |= {"prometheus_client"}


def _camel(text: str) -> str:
    """'all caps-2' -> 'AllCaps2': the closest valid name, for the error's example."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    parts = re.split(r"[^A-Za-z0-9]+", ascii_text)
    joined = "".join(part[:1].upper() + part[1:] for part in parts if part)
    digits = re.match(r"\d*", joined).group()
    rest = joined[len(digits) :]
    joined = "".join(_DIGITS[int(d)] for d in digits) + rest[:1].upper() + rest[1:]
    return joined or "AllCaps"


def _shadowed(name: str) -> str | None:
    """What this name would hide if it became a top-level package in the project, if anything."""
    if name.lower() in PROJECT_NAMES:
        return f"the project's own '{name.lower()}' folder"
    if name in sys.stdlib_module_names or name in sys.builtin_module_names:
        return f"Python's standard module '{name}'"
    if name.lower() in DEPENDENCY_NAMES:
        return f"the dependency '{name.lower()}'"
    return None


def _check_word(variable: str, value: str, longest: int, empty_hint: str) -> None:
    """The rules names and types share: there, not too long, ASCII letters, digits and '_' from a letter on."""
    if not value:
        raise ValueError(f"{variable} is empty: {empty_hint}")
    if len(value) > longest:
        raise ValueError(f"{variable} is {len(value)} characters long: use at most {longest}")
    if not value[0].isascii() or not value[0].isalpha():
        raise ValueError(f"{variable} {value!r} must start with a letter (e.g. {_camel(value)!r})")
    if not _WORD.fullmatch(value):
        raise ValueError(
            f"{variable} {value!r} may contain only letters, digits and underscores (e.g. {_camel(value)!r})"
        )


def validate_extension_name(name: str) -> str:
    """Return the name if it can be a package and class prefix; ValueError says what is wrong and the fix."""
    _check_word("extension_name", name, MAX_NAME_LENGTH, "give the extension a name such as 'AllCaps'")
    suggestion = _camel(name) + "Extension"
    if keyword.iskeyword(name):
        raise ValueError(f"extension_name {name!r} is a Python keyword: pick another name (e.g. {suggestion!r})")
    hidden = _shadowed(name)
    if hidden:
        raise ValueError(f"extension_name {name!r} would shadow {hidden}: pick another name (e.g. {suggestion!r})")
    return name


def message_type_of(answer: str) -> str:
    """The type an answer names, as the seed shows it: first letter upper case, the rest as typed.

    The seed answers `lowercase` and gets MESSAGE_TYPE = 'Lowercase' and /Lowercase/message/process/sdk.
    """
    return answer[:1].upper() + answer[1:]


def validate_message_type(message_type: str) -> str:
    """The type (first letter upper-cased) if it can name a topic and a URL segment; ValueError says the fix."""
    hint = "name the type of messages this handler consumes, e.g. 'Lowercase'"
    _check_word("message_type", message_type, MAX_MESSAGE_TYPE_LENGTH, hint)
    return message_type_of(message_type)


def validate_kind(kind: str, variable: str = "extension_kind") -> str:
    """The kind's key for its key, menu number or label ('message_bus', '9', 'Message Bus'); ValueError lists them."""
    return find(kind, variable).key


__all__ = ["message_type_of", "validate_extension_name", "validate_kind", "validate_message_type"]
