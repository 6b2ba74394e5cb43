"""aiokafka clients from the project's settings: the options each client class accepts, a producer for pushes."""

from __future__ import annotations

import inspect
from typing import Any

# Convenience keys in KAFKA_CLIENT_OPTIONS that become an ssl_context (a JSON setting cannot hold one).
SSL_FILE_KEYS = {
    "ssl_cafile": "cafile",
    "ssl_capath": "capath",
    "ssl_certfile": "certfile",
    "ssl_keyfile": "keyfile",
    "ssl_password": "password",
}


def client_options(options: dict[str, Any] | None, client: type) -> dict[str, Any]:
    """The KAFKA_CLIENT_OPTIONS (TLS, SASL, tuning) that this aiokafka client class accepts."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient

    options = dict(options or {})
    ssl_files = {SSL_FILE_KEYS[k]: options.pop(k) for k in list(options) if k in SSL_FILE_KEYS}
    if ssl_files and "ssl_context" not in options:
        from aiokafka.helpers import create_ssl_context

        options["ssl_context"] = create_ssl_context(**ssl_files)
    accepted = {
        cls: set(inspect.signature(cls.__init__).parameters)
        for cls in (AIOKafkaProducer, AIOKafkaConsumer, AIOKafkaAdminClient)
    }
    unknown = [k for k in options if not any(k in names for names in accepted.values())]
    if unknown:
        raise ValueError(
            f"KAFKA_CLIENT_OPTIONS has {unknown}, which no aiokafka client accepts "
            f"(e.g. security_protocol, sasl_mechanism, sasl_plain_username, ssl_cafile)"
        )
    return {k: v for k, v in options.items() if k in accepted[client] and k != "bootstrap_servers"}


def producer_for(bootstrap: str, options: dict[str, Any] | None, timeout_s: float):
    """An aiokafka producer with acks=all and no idempotence (tansu refuses aiokafka's idempotent producer)."""
    from aiokafka import AIOKafkaProducer

    # 256 KB batches (default 16 KB): many concurrent pushes otherwise wait on full batches, ~30% slower here.
    settings = {
        "request_timeout_ms": int(timeout_s * 1000),
        "max_batch_size": 256 * 1024,
        **client_options(options, AIOKafkaProducer),
    }
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, **settings)
