"""The production bus: push() produces the sealed message to Kafka topic sdk-generic.<Type>."""

from __future__ import annotations

import asyncio
import logging

from . import envelope
from .contracts import PushError
from .envelope import Sealed
from .kafka_clients import client_options, producer_for  # noqa: F401 - importers of kafka_bus use them
from .services import Services


def record_headers(headers: dict[str, str]) -> list[tuple[str, bytes]]:
    """The q2msg-* headers as Kafka record headers."""
    return [(name, value.encode()) for name, value in headers.items()]


def record_key(key: str | bytes | None) -> bytes | None:
    """The ordering key as bytes: the same key always lands on the same partition."""
    if key is None or isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode()
    raise TypeError(f"push() key must be str or bytes, not {type(key).__name__}")


class KafkaBus:
    """Produce each push to sdk-generic.<Type>; returns once the broker acknowledged (acks=all)."""

    def __init__(self, services: Services) -> None:
        cfg = services.settings
        self.bootstrap = cfg.KAFKA_BOOTSTRAP_SERVERS
        self.options = cfg.KAFKA_CLIENT_OPTIONS
        self.timeout_s = cfg.PUSH_TIMEOUT_SECONDS
        self._producer = None
        self._lock = asyncio.Lock()

    async def _started(self):
        """The producer, started on first use; a failed start leaves nothing behind, so the next push retries."""
        if self._producer is not None:
            return self._producer
        async with self._lock:
            if self._producer is None:
                producer = producer_for(self.bootstrap, self.options, self.timeout_s)
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
        return self._producer

    async def send(self, logger: logging.Logger, sealed: Sealed, message_type: str, key=None) -> None:
        """Produce the sealed message; raise PushError saying what went wrong if the broker did not ack it."""
        topic = envelope.topic_for(message_type)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("Producing to Kafka topic %s at %s", topic, self.bootstrap)
            logger.debug("Record Headers: %s", sealed.headers)
        try:
            producer = await self._started()
            acked = await producer.send(topic, sealed.body, key=record_key(key), headers=record_headers(sealed.headers))
            # aiokafka gives up after request_timeout_ms; this only guards against a hang. On the future itself,
            # not a coroutine: wait_for would wrap that in a task on every push.
            await asyncio.wait_for(acked, self.timeout_s + 5)
        except (TypeError, ValueError):
            raise
        except Exception as exc:
            raise PushError(
                f"kafka bus: topic {topic} at {self.bootstrap} did not acknowledge message "
                f"{sealed.headers['q2msg-id']} ({_describe(exc)}); is the broker running (`make bus` locally)? "
                f"The push was not confirmed: push again"
            ) from exc

    async def close(self) -> None:
        """Flush and close the producer (a process should close its bus before it exits)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()


def _describe(exc: BaseException) -> str:
    """'Class: text' once (aiokafka's texts often start with their class name already)."""
    name, text = exc.__class__.__name__, str(exc) or "no answer in time"
    return text if text.startswith(name) else f"{name}: {text}"
