"""push() out of DEBUG: the sealed message lands on sdk-generic.<Type> once the broker acked it, or a clear error."""

from __future__ import annotations

import asyncio
import logging

import pytest
from kafka_helpers import read_topic

from q2ext import broker as broker_mod, bus, services
from q2ext.bus import PushError
from q2ext.settings import Settings

LOGGER = logging.getLogger("extension.test")


def kafka_services(bootstrap: str, ring) -> services.Services:
    cfg = Settings(DEBUG=False, KAFKA_BOOTSTRAP_SERVERS=bootstrap, PUSH_TIMEOUT_SECONDS=3)
    return services.Services(settings=cfg, ring=ring, seen=None)


async def push_once(svc: services.Services, text: str, message_type: str, key=None) -> str:
    services.install(svc)
    try:
        return await bus.push(LOGGER, text, message_type, key=key)
    finally:
        services.install(None)


def test_push_returns_once_the_record_is_on_its_topic_with_headers_and_key(broker, ring, message_type):
    svc = kafka_services(broker.bootstrap, ring)

    async def go() -> str:
        try:
            return await push_once(svc, "hello kafka", message_type, key="customer-7")
        finally:
            await svc.close()

    msg_id = asyncio.run(go())
    [record] = read_topic(broker.bootstrap, f"sdk-generic.{message_type}")
    headers = {name: value.decode() for name, value in record.headers}
    assert headers["q2msg-id"] == msg_id
    assert headers["q2msg-type"] == f"sdk-generic.{message_type}"
    assert record.key == b"customer-7"
    assert b"hello kafka" not in record.value  # ciphertext only


def test_push_with_the_broker_down_raises_a_push_error_that_says_so(ring):
    svc = kafka_services(f"127.0.0.1:{broker_mod.free_port()}", ring)

    async def go() -> None:
        try:
            await push_once(svc, "nobody listens", "Lowercase")
        finally:
            await svc.close()

    with pytest.raises(PushError, match=r"is the broker running.*push again"):
        asyncio.run(go())


def test_push_works_again_once_the_broker_is_back(ring):
    port = broker_mod.free_port()
    svc = kafka_services(f"127.0.0.1:{port}", ring)

    back = broker_mod.Broker(port)

    async def go() -> str:
        try:
            with pytest.raises(PushError):
                await push_once(svc, "too early", "Lowercase")
            await asyncio.to_thread(back.start)
            return await push_once(svc, "in time", "Lowercase")
        finally:
            await svc.close()

    try:
        msg_id = asyncio.run(go())
        on_topic = [dict(r.headers)["q2msg-id"].decode() for r in read_topic(back.bootstrap, "sdk-generic.Lowercase")]
    finally:
        back.stop()
    assert on_topic == [msg_id]
