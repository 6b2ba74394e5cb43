"""push(): seal a message and hand it to the bus (loopback in DEBUG, Kafka otherwise)."""

from __future__ import annotations

import logging

import aiohttp

from . import delivery, envelope, events
from .envelope import Sealed
from .services import Services, current, git_rev
from .wire import BUS_PATH, bus_url  # noqa: F401 - BUS_PATH: part of this module's API (testing.py)


class PushError(Exception):
    """A push did not reach the bus (or, on the loopback, the handler refused it)."""


def seal_for(services: Services, text: str, message_type: str) -> Sealed:
    """Seal a message with the active key and this process's env stack and git revision."""
    if not isinstance(text, str):
        raise TypeError(f"push() takes the message text as str, not {type(text).__name__}")
    return envelope.seal(
        text, message_type, services.ring.active, env_stack=services.settings.ENV_STACK, git_rev=git_rev()
    )


async def push(logger: logging.Logger, text: str, message_type: str, key: str | bytes | None = None) -> str:
    """Put one message on the bus; returns its id once the bus accepted it, raises PushError if not."""
    services = current()
    sealed = seal_for(services, text, message_type)
    events.push(sealed, text, message_type, key, logger)  # the DEBUG console's push row
    await services.get_bus().send(logger, sealed, envelope.check_type(message_type), key)
    services.metrics.counter("q2ext_pushed_total", "Messages pushed onto the bus").inc(type=message_type)
    return sealed.headers["q2msg-id"]


class LoopbackBus:
    """The DEBUG bus: POST each push straight to the handler on this machine, no Kafka."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.base = f"http://{services.settings.HOST}:{services.settings.PORT}"
        self._session: aiohttp.ClientSession | None = None

    async def send(self, logger: logging.Logger, sealed: Sealed, message_type: str, key=None) -> None:
        """POST the sealed message, logging what the seed tutorial shows."""
        url = bus_url(self.base, message_type)
        headers = delivery.sign(sealed.headers, self.services.ring.delivery)
        headers["Content-Length"] = str(len(sealed.body))
        logger.info("Sending HTTP request POST %s", url)
        logger.debug("Request Headers: %s", headers)
        logger.debug("Request Body: %r", sealed.body)
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.services.settings.PUSH_TIMEOUT_SECONDS)
            self._session = aiohttp.ClientSession(timeout=timeout)
        try:
            async with self._session.post(url, data=sealed.body, headers=headers) as resp:
                answer = await resp.text()
                logger.debug("Effective URL: %s", resp.url)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise PushError(f"loopback bus: no handler answered at {url} ({exc.__class__.__name__}: {exc})") from exc
        if status >= 300:
            raise PushError(f"loopback bus: {url} answered {status}: {answer[:200]}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def make_bus(services: Services):
    """The bus the settings ask for."""
    mode = services.settings.bus_mode
    if mode == "loopback":
        return LoopbackBus(services)
    if mode == "kafka":
        from .kafka_bus import KafkaBus

        return KafkaBus(services)
    raise ValueError(f"BUS={mode!r} is not 'loopback', 'kafka' or 'auto'")
