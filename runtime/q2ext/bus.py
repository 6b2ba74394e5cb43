"""push(): seal a message and hand it to the bus (loopback in DEBUG, Kafka otherwise)."""

from __future__ import annotations

import asyncio
import json
import logging

from . import delivery, envelope, events, http1
from .contracts import Bus, PushError  # noqa: F401 - PushError: part of push()'s API (q2_sdk.core.message_bus)
from .envelope import Sealed
from .keyring import KeyRingError
from .services import Services, current, git_rev
from .wire import BUS_PATH, bus_path as wire_path, bus_url  # noqa: F401 - BUS_PATH: part of this module's API


def bus_for(services: Services) -> Bus:
    """The process's bus, made on first use from the settings (loopback in DEBUG, Kafka otherwise)."""
    if services.bus is None:
        services.bus = make_bus(services)
    return services.bus


def seal_for(services: Services, text: str, message_type: str) -> Sealed:
    """Seal a message with the active key and this process's env stack and git revision."""
    if not isinstance(text, str):
        raise TypeError(f"push() takes the message text as str, not {type(text).__name__}")
    try:
        ring = services.keys()
    except KeyRingError as exc:
        raise PushError(f"push() needs the message keys: {exc}") from None
    return envelope.seal(text, message_type, ring.active, env_stack=services.settings.ENV_STACK, git_rev=git_rev())


async def push(logger: logging.Logger, text: str, message_type: str, key: str | bytes | None = None) -> str:
    """Put one message on the bus; returns its id once the bus accepted it, raises PushError if not."""
    services = current()
    sealed = seal_for(services, text, message_type)
    events.push(sealed, text, message_type, key, logger)  # the DEBUG console's push row
    await bus_for(services).send(logger, sealed, envelope.check_type(message_type), key)
    services.metrics.counter("q2ext_pushed_total", "Messages pushed onto the bus").inc(type=message_type)
    return sealed.headers["q2msg-id"]


class LoopbackBus:
    """The DEBUG bus: POST each push straight to the handler on this machine, no Kafka."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.base = f"http://{services.settings.HOST}:{services.settings.PORT}"
        self._client: http1.Client | None = None  # the project's own keep-alive client (the relay's too)
        self._consumed: dict[str, str] | None = None

    def consumed(self) -> dict[str, str] | None:
        """The message types this server consumes: the app's, else INSTALLED_EXTENSIONS' (None if unreadable)."""
        if self.services.consumed is not None:
            return self.services.consumed
        if self._consumed is None:
            from .catalog import consumed_types

            try:
                self._consumed = consumed_types(
                    spec for ext in self.services.settings.INSTALLED_EXTENSIONS for spec in _routes(ext)
                )
            except (SystemExit, Exception):  # noqa: BLE001 - a broken extension: let the server answer instead
                return None
        return self._consumed

    def check_consumed(self, message_type: str) -> None:
        """Refuse, before any POST, a type no installed extension consumes: name the ones that are, and the near one."""
        consumed = self.consumed()
        if consumed is not None and message_type not in consumed:
            raise PushError(not_consumed(message_type, consumed, "no extension of this project consumes"))

    async def send(self, logger: logging.Logger, sealed: Sealed, message_type: str, key=None) -> None:
        """POST the sealed message, logging what the seed tutorial shows."""
        self.check_consumed(message_type)
        url = bus_url(self.base, message_type)
        headers = delivery.sign(sealed.headers, self.services.keys().delivery)
        headers["Content-Length"] = str(len(sealed.body))
        logger.info("Sending HTTP request POST %s", url)
        logger.debug("Request Headers: %s", headers)
        logger.debug("Request Body: %r", sealed.body)
        if self._client is None:
            self._client = http1.Client(self.base, timeout=self.services.settings.PUSH_TIMEOUT_SECONDS)
        sent = {name: value for name, value in headers.items() if name != "Content-Length"}  # http1 writes it
        try:
            resp = await self._client.post(wire_path(message_type), sent, sealed.body)
        except (http1.HttpError, asyncio.TimeoutError, OSError) as exc:  # asyncio's is not the builtin on 3.10
            raise PushError(f"loopback bus: no handler answered at {url} ({exc.__class__.__name__}: {exc})") from exc
        logger.debug("Effective URL: %s", url)
        answer, status = resp.body.decode("utf-8", "replace"), resp.status
        if status == 404:
            subject = f"the server at {self.base} answered 404: no handler there consumes"
            raise PushError(not_consumed(message_type, _consumes(answer), subject))
        if status >= 300:
            raise PushError(f"loopback bus: {url} answered {status}: {answer[:200]}")

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _routes(extension: str) -> list:
    from .catalog import load_routes

    return load_routes((extension,))


def _consumes(answer: str) -> list[str] | None:
    """The types a 404 answer lists (the server says so in DEBUG), or None."""
    try:
        listed = json.loads(answer).get("consumes")
    except (ValueError, AttributeError):
        return None
    return [str(t) for t in listed] if isinstance(listed, list) else None


def not_consumed(message_type: str, consumed, subject: str) -> str:
    """One line: nobody consumes this type; which types are consumed, and the one probably meant."""
    line = f"loopback bus: {subject} {message_type!r} messages"
    if consumed is None:
        return f"{line}; restart `make run` if you just added the extension that consumes them"
    if not consumed:
        return f"{line} (none at all: add a consumer with make extension NAME=... KIND=message_bus TYPE={message_type})"
    from .catalog import near

    guess = near(message_type, consumed)
    return f"{line} (it consumes {', '.join(sorted(consumed))})" + (f"; did you mean {guess!r}?" if guess else "")


def make_bus(services: Services) -> Bus:
    """The bus the settings ask for."""
    mode = services.settings.bus_mode
    if mode == "loopback":
        return LoopbackBus(services)
    if mode == "kafka":
        from .kafka_bus import KafkaBus

        return KafkaBus(services)
    raise ValueError(f"BUS={mode!r} is not 'loopback', 'kafka' or 'auto'")
