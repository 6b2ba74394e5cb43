"""What the server refuses to start with: two handlers of one message type, a missing required configuration."""

from __future__ import annotations

from typing import Any

from . import configurations


def handler_classes(routes: list[Any]) -> list[type]:
    """The handler class of each route (a tornado url() or a (pattern, handler, ...) tuple), in order, once each."""
    found: list[type] = []
    for route in routes:
        handler = getattr(route, "handler_class", None) or (route[1] if isinstance(route, (tuple, list)) else None)
        if isinstance(handler, type) and handler not in found:
            found.append(handler)
    return found


def extension_of(handler: type) -> str:
    """The extension package a handler class lives in (AllCaps for AllCaps.extension.AllCapsHandler)."""
    return handler.__module__.split(".")[0]


def duplicate_consumers(handlers: list[type]) -> str | None:
    """One line naming two handlers that consume the same message type, if there are any."""
    from .handlers.message_bus import Q2MessageBusRequestHandler

    consumers: dict[str, type] = {}
    for handler in handlers:
        if not issubclass(handler, Q2MessageBusRequestHandler) or not handler.MESSAGE_TYPE:
            continue
        first = consumers.setdefault(handler.MESSAGE_TYPE.casefold(), handler)
        if first is not handler:
            return (
                f"two handlers consume {handler.MESSAGE_TYPE!r} messages: {first.__module__}.{first.__name__} and "
                f"{handler.__module__}.{handler.__name__}; one type has one handler: remove one from "
                f"INSTALLED_EXTENSIONS or give it another MESSAGE_TYPE"
            )
    return None


def missing_configuration(handlers: list[type]) -> str | None:
    """One line naming an extension and the REQUIRED_CONFIGURATIONS key its settings file lacks, if any."""
    for handler in handlers:
        extension = extension_of(handler)
        absent = configurations.missing(extension, handler)
        if absent:
            return (
                f"{extension} needs {absent[0]!r} (REQUIRED_CONFIGURATIONS of {handler.__name__}) in "
                f"{configurations.FOLDER}/{extension}.py: run `q2 generate_config {extension}` to write the "
                f"defaults there, then set the values"
            )
    return None


def check(routes: list[Any]) -> None:
    """Stop (SystemExit with one line) before serving routes the server cannot serve as configured."""
    handlers = handler_classes(routes)
    problem = duplicate_consumers(handlers) or missing_configuration(handlers)
    if problem:
        raise SystemExit(f"error: {problem}")
