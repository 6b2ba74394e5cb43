"""What the installed extensions serve: each one's kind, routes and consumed message type, read from its urls.py."""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from . import kinds

_BASE_CLASSES = {kind.base_class: kind for kind in kinds.KINDS}
_PLAIN_PATH = re.compile(r"/[\w.~-]*(?:/[\w.~-]*)*")  # a pattern that is a literal path (no groups, no regex)


@dataclass(frozen=True)
class Route:
    """One URL pattern of an extension: the pattern, a clickable path if it is literal, the message type it takes."""

    pattern: str
    path: str | None
    handler: str
    message_type: str | None = None


@dataclass(frozen=True)
class Extension:
    """One installed extension as the index page shows it."""

    name: str
    kind: kinds.Kind | None
    routes: tuple[Route, ...]

    @property
    def message_types(self) -> tuple[str, ...]:
        return tuple(r.message_type for r in self.routes if r.message_type)


def load_routes(extensions: tuple[str, ...] | list[str]) -> list:
    """The URL_PATTERNS of every installed extension, in the order of INSTALLED_EXTENSIONS."""
    routes: list = []
    for name in extensions:
        try:
            module = importlib.import_module(f"{name}.urls")
        except ModuleNotFoundError as exc:
            raise SystemExit(
                f"INSTALLED_EXTENSIONS names {name!r}, but {name}/urls.py cannot be imported ({exc}); "
                f"fix configuration/settings.py or run `make extension NAME={name} KIND=...`"
            ) from None
        routes.extend(getattr(module, "URL_PATTERNS", []))
    return routes


def pattern_of(spec) -> tuple[str, type, dict]:
    """(regex pattern, handler class, kwargs) of a url() / URLSpec or a (pattern, handler[, kwargs]) tuple."""
    if isinstance(spec, (tuple, list)):
        return str(spec[0]), spec[1], dict(spec[2]) if len(spec) > 2 and spec[2] else {}
    return spec.regex.pattern, spec.handler_class, dict(spec.kwargs or {})  # tornado.web.URLSpec


def literal_path(pattern: str) -> str | None:
    """'/AllCaps/?' -> '/AllCaps'; None when the pattern has groups or other regex syntax."""
    path = pattern.removeprefix("^").removesuffix("$").removesuffix("/?") or "/"
    return path if _PLAIN_PATH.fullmatch(path) else None


def kind_of(handler: type, kwargs: dict) -> kinds.Kind | None:
    """The kind whose base class the handler, or a class it is given (a health check), inherits most closely.

    Every handler is a Q2BaseRequestHandler, so Base counts only when no other kind's class is found.
    """
    found = [
        _BASE_CLASSES[base.__name__]
        for cls in (handler, *(v for v in kwargs.values() if isinstance(v, type)))
        for base in getattr(cls, "__mro__", ())
        if base.__name__ in _BASE_CLASSES
    ]
    return next((k for k in found if k.key != "base"), found[0] if found else None)


def message_type_of(pattern: str, handler: type) -> str | None:
    """The MESSAGE_TYPE a route takes bus deliveries for: a Message Bus handler's /<Type>/message/process/sdk."""
    from .handlers.message_bus import BUS_SUFFIX, Q2MessageBusRequestHandler

    is_bus = isinstance(handler, type) and issubclass(handler, Q2MessageBusRequestHandler)
    if is_bus and pattern.removesuffix("$").endswith(BUS_SUFFIX) and handler.MESSAGE_TYPE:
        return handler.MESSAGE_TYPE
    return None


def route_of(spec) -> Route:
    pattern, handler, _kwargs = pattern_of(spec)
    name = getattr(handler, "__name__", type(handler).__name__)
    return Route(pattern, literal_path(pattern), name, message_type_of(pattern, handler))


def consumed_types(routes: Iterable) -> dict[str, str]:
    """Message type -> the path its bus deliveries go to, for every Message Bus route in these routes."""
    found: dict[str, str] = {}
    for spec in routes:
        route = route_of(spec)
        if route.message_type:
            found.setdefault(route.message_type, route.path or route.pattern)
    return found


def describe(names: Iterable[str]) -> list[Extension]:
    """Each installed extension with its kind and routes, in the order of INSTALLED_EXTENSIONS."""
    described = []
    for name in names:
        specs = load_routes((name,))
        found = [kind for spec in specs if (kind := kind_of(*pattern_of(spec)[1:])) is not None]
        kind = next((k for k in found if k.key != "base"), found[0] if found else None)
        described.append(Extension(name, kind, tuple(route_of(spec) for spec in specs)))
    return described


def near(name: str, choices: Iterable[str]) -> str | None:
    """The choice a mistyped name most likely meant: same letters in another case, else the closest spelling."""
    choices = list(choices)
    for choice in choices:
        if choice.lower() == name.lower():
            return choice
    lowered = {choice.lower(): choice for choice in choices}
    # 0.8, not difflib's 0.6: 'Uppercase' scores 0.78 against 'Lowercase', and is no typo of it.
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.8)
    return lowered[close[0]] if close else None
