"""The names both ends of the wire share, in one crypto-free place (docs/wire-format.md is their specification).

Header names, the type prefix and topic of a message type, the handler's URL path, the one rule of which
answers are retried, and the refusal classes. The relay imports this and never envelope.py: it must not be
able to open a message, by construction.

The relay forwards only the sealed headers of a record: a record header is attacker-chosen (anyone who can
write to the topic sets it), and forwarding Host, Content-Length, Transfer-Encoding, Authorization or
X-Forwarded-For from the relay's trusted position would be request smuggling and header spoofing.
"""

from __future__ import annotations

import re

# The headers the seal signs, in the order of the canonical block.
SIGNED_HEADERS = (
    "q2msg-type",
    "q2msg-id",
    "q2msg-timestamp",
    "q2msg-cryptokey",
    "q2msg-version",
    "q2msg-envstack",
    "q2msg-gitrev",
)
# A sealed message's headers as they travel, in the order they are written: the seed tutorial's first, then ours.
SEALED_HEADERS = (
    "q2msg-type",
    "q2msg-hmac",
    "q2msg-gitrev",
    "q2msg-version",
    "q2msg-envstack",
    "q2msg-cryptokey",
    "q2msg-id",
    "q2msg-timestamp",
)
# Added by whoever POSTs a delivery attempt (the relay, or push() on the DEBUG loopback); never read from a record.
DELIVERY_HEADERS = ("q2msg-attempt", "q2msg-delivery-timestamp", "q2msg-delivery-key", "q2msg-delivery-signature")
# In a batch record's header block (signed with the batch): the record's ordering key, a number the relay gives
# each (partition, key) in one POST. Records of one number are handled in order; different numbers at once.
ORDER_HEADER = "q2msg-order"
# The only record headers the relay forwards to a handler.
FORWARDED = frozenset(SEALED_HEADERS)
PREFIX = "q2msg-"
TYPE_PREFIX = "sdk-generic."  # q2msg-type is TYPE_PREFIX + <Type>; so is the Kafka topic
BUS_PATH = "/{type}/message/process/sdk"  # the handler endpoint of a message type, as in the seed tutorial
# Answers a sender retries (with backoff) besides every 5xx: not routed yet (404), timeout (408), a copy of
# this message being handled right now (409), slow down (429). Any other non-2xx answer is permanent.
RETRYABLE = frozenset({404, 408, 409, 429})
_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}\Z")


class EnvelopeError(Exception):
    """A message was refused; status is the HTTP answer, reason is safe to log (no secrets)."""

    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Malformed(EnvelopeError):
    status = 400


class Unauthenticated(EnvelopeError):
    status = 401


class Expired(EnvelopeError):
    status = 410


class FromTheFuture(EnvelopeError):
    status = 425


class TooLarge(EnvelopeError):
    status = 413


def retryable(status: int) -> bool:
    """The one rule of both ends: a refusal with this status is retried, any other non-2xx is permanent."""
    return status in RETRYABLE or status >= 500


def topic_for(message_type: str) -> str:
    """The q2msg-type header and Kafka topic of a message type."""
    return TYPE_PREFIX + message_type


def is_type(message_type: object) -> bool:
    """True if the name can be a URL path segment and part of a topic name."""
    return isinstance(message_type, str) and _TYPE.match(message_type) is not None


def check_type(message_type: str) -> str:
    """Refuse a message type that cannot be a URL path segment and topic name."""
    if not is_type(message_type):
        raise ValueError(f"message type {message_type!r} must start with a letter and hold only letters, digits and _")
    return message_type


def bus_path(message_type: str) -> str:
    """The URL path of a message type's handler endpoint."""
    return BUS_PATH.format(type=message_type)


def bus_url(base: str, message_type: str) -> str:
    """The handler endpoint of a message type under a base URL."""
    return base.rstrip("/") + bus_path(message_type)


def forwarded_headers(pairs) -> tuple[dict[str, str] | None, str]:
    """A record's (name, bytes) headers as the sealed headers to forward, or None and why the record is refused.

    Any other header is left behind (the record is delivered without it); a sealed header given twice, or
    not UTF-8, refuses the record, since which copy a receiver would use is not defined.
    """
    headers: dict[str, str] = {}
    for name, value in pairs:
        if name not in FORWARDED:
            name = name.lower()
            if name not in FORWARDED:
                continue
        if name in headers:
            return None, f"record repeats header {name}"
        try:
            headers[name] = value.decode() if value is not None else ""
        except UnicodeDecodeError:
            return None, "record headers are not UTF-8"
    return headers, ""
