"""REQUIRED_CONFIGURATIONS / OPTIONAL_CONFIGURATIONS of a handler, read from configuration/<Extension>.py.

As on Q2's base handler page: each is a dict {name: default}; the values live in the extension's own settings
file (`q2 generate_config <Extension>` writes the defaults there), a missing required one stops the server at
start, and the handler reads them as self.config.<name>.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

FOLDER = "configuration"


class Configuration:
    """The configured values of one extension, as attributes (self.config.fi_name)."""

    def __init__(self, extension: str, values: dict[str, Any]) -> None:
        self._extension = extension
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"{name!r} is not configured for {self._extension}: add it to REQUIRED_CONFIGURATIONS or "
            f"OPTIONAL_CONFIGURATIONS of its handler, and to {FOLDER}/{self._extension}.py"
        )

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


def declared(handler: type) -> tuple[dict[str, Any], dict[str, Any]]:
    """The handler class's (required, optional) configurations: name -> default."""
    return dict(getattr(handler, "REQUIRED_CONFIGURATIONS", None) or {}), dict(
        getattr(handler, "OPTIONAL_CONFIGURATIONS", None) or {}
    )


def settings_of(extension: str) -> dict[str, Any]:
    """The names configuration/<extension>.py sets (empty when the file does not exist)."""
    module_name = f"{FOLDER}.{extension}"
    try:
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name not in (module_name, FOLDER):
            raise
        return {}
    return {k: v for k, v in vars(module).items() if not k.startswith("_")}


def missing(extension: str, handler: type) -> list[str]:
    """The required names configuration/<extension>.py does not set."""
    required, _optional = declared(handler)
    present = settings_of(extension) if required else {}
    return [name for name in required if name not in present]


def load(extension: str, handler: type) -> Configuration:
    """The handler's configuration: required values from the settings file, optional ones with their defaults."""
    required, optional = declared(handler)
    present = settings_of(extension) if (required or optional) else {}
    values = {name: present.get(name, default) for name, default in optional.items()}
    values.update({name: present[name] for name in required if name in present})
    return Configuration(extension, values)


def generate(project: Path, extension: str, handlers: list[type]) -> tuple[Path, list[str]]:
    """Append the defaults of every declared name the extension's settings file lacks; returns it and the names."""
    path = project / FOLDER / f"{extension}.py"
    present = settings_of(extension) if path.is_file() else {}
    lines, added = [], []
    for handler in handlers:
        required, optional = declared(handler)
        for name, default in {**required, **optional}.items():
            if name not in present and name not in added:
                lines.append(f"{name} = {default!r}\n")
                added.append(name)
    if added:
        head = (
            ""
            if path.is_file()
            else f'"""Configuration of the {extension} extension (its handler reads self.config)."""\n\n'
        )
        with path.open("a", encoding="utf-8") as out:
            out.write(head + "".join(lines))
    return path, added
