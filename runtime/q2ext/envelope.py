"""Seal and open a message: the wire format (docs/wire-format.md), nothing else."""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import WIRE_VERSION
from .keyring import Key, KeyRing
from .wire import (  # noqa: F401 - the refusal classes and type names are part of envelope's API too
    SEALED_HEADERS as WIRE_ORDER,
    SIGNED_HEADERS,
    TYPE_PREFIX,
    EnvelopeError,
    Expired,
    FromTheFuture,
    Malformed,
    TooLarge,
    Unauthenticated,
    check_type,
    is_type,
    topic_for,
)

NONCE_BYTES = 12
TAG_BYTES = 16
_TOKEN = re.compile(r"[A-Za-z0-9_.:\-]{1,64}\Z")


@dataclass(frozen=True)
class Message:
    """What handle() receives: the decrypted text and the envelope's facts about it."""

    text: str
    type: str
    id: str
    timestamp_ms: int
    key_id: str
    env_stack: str = ""
    git_rev: str = ""
    version: str = WIRE_VERSION
    attempt: int = 1
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def age_seconds(self) -> float:
        return max(0.0, time.time() - self.timestamp_ms / 1000)


@dataclass(frozen=True)
class Sealed:
    """A sealed message as it travels: q2msg-* headers and the ciphertext body."""

    headers: dict[str, str]
    body: bytes


def canonical(headers: Mapping[str, str]) -> bytes:
    """The signed header block: a fixed prefix, then name:value lines in SIGNED_HEADERS order."""
    return ("q2msg/1\n" + "".join(f"{name}:{headers[name]}\n" for name in SIGNED_HEADERS)).encode()


def _digest(key: Key, signed: bytes, body: bytes) -> bytes:
    """HMAC-SHA256 of the header block and body."""
    return key.mac(signed, body)


def _aead(key: Key) -> AESGCM:
    cached = key.__dict__.get("_aead")
    if cached is None:
        cached = key.__dict__["_aead"] = AESGCM(key.enc_key)
    return cached


def seal(
    text: str,
    message_type: str,
    key: Key,
    *,
    env_stack: str = "",
    git_rev: str = "",
    msg_id: str | None = None,
    timestamp_ms: int | None = None,
    nonce: bytes | None = None,
) -> Sealed:
    """Encrypt the text (AES-256-GCM, headers as AAD) and sign headers and ciphertext (HMAC-SHA256)."""
    check_type(message_type)
    headers = {
        "q2msg-type": topic_for(message_type),
        "q2msg-id": msg_id or uuid.uuid4().hex,
        "q2msg-timestamp": str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms),
        "q2msg-cryptokey": key.id,
        "q2msg-version": WIRE_VERSION,
        "q2msg-envstack": env_stack or "-",
        "q2msg-gitrev": git_rev or "-",
    }
    for name in ("q2msg-id", "q2msg-envstack", "q2msg-gitrev"):
        if not _TOKEN.match(headers[name]):
            raise ValueError(f"{name} {headers[name]!r} must be 1-64 letters, digits or _.:-")
    signed = canonical(headers)
    nonce = os.urandom(NONCE_BYTES) if nonce is None else nonce
    body = nonce + _aead(key).encrypt(nonce, text.encode("utf-8"), signed)
    mac = base64.b64encode(_digest(key, signed, body)).decode()
    return Sealed({name: mac if name == "q2msg-hmac" else headers[name] for name in WIRE_ORDER}, body)


def open(  # noqa: A001 - the natural name; envelope.open is always called qualified
    headers: Mapping[str, str],
    body: bytes,
    ring: KeyRing,
    *,
    max_bytes: int = 1024 * 1024,
    max_age_s: float = 7 * 24 * 3600,
    max_future_s: float = 300,
    expected_type: str | None = None,
    now: float | None = None,
) -> Message:
    """Verify (constant-time HMAC), check age, decrypt; raise an EnvelopeError saying why not."""
    if len(body) > max_bytes:
        raise TooLarge(f"body of {len(body)} bytes is over the {max_bytes}-byte limit")
    values, mac_bytes = _signed_values(headers, expected_type)
    if len(body) < NONCE_BYTES + TAG_BYTES:
        raise Malformed(f"body of {len(body)} bytes is too short to be a sealed message")
    key = ring.get(values["q2msg-cryptokey"])
    if key is None:
        raise Unauthenticated(f"unknown key {values['q2msg-cryptokey']!r}")
    signed = canonical(values)
    if not hmac.compare_digest(_digest(key, signed, body), mac_bytes):
        raise Unauthenticated(f"hmac mismatch for key {key.id}")
    _check_age(int(values["q2msg-timestamp"]) / 1000, time.time() if now is None else now, max_age_s, max_future_s)
    try:
        text = _aead(key).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], signed).decode("utf-8")
    except (InvalidTag, UnicodeDecodeError):
        raise Unauthenticated(f"body does not decrypt under key {key.id}") from None
    attempt = headers.get("q2msg-attempt", "1")
    return Message(
        text=text,
        type=values["q2msg-type"][len(TYPE_PREFIX) :],
        id=values["q2msg-id"],
        timestamp_ms=int(values["q2msg-timestamp"]),
        key_id=key.id,
        env_stack=values["q2msg-envstack"],
        git_rev=values["q2msg-gitrev"],
        version=values["q2msg-version"],
        attempt=int(attempt) if attempt.isdigit() else 1,
        headers=headers,
    )


def _signed_values(headers: Mapping[str, str], expected_type: str | None) -> tuple[dict[str, str], bytes]:
    """The signed headers' values, checked for form, and the HMAC they came with; Malformed saying what is wrong."""
    get = headers.get
    values = {}
    for name in SIGNED_HEADERS:
        value = get(name)
        if value is None:
            raise Malformed(f"missing header {name}")
        values[name] = value
    given_mac = get("q2msg-hmac")
    if given_mac is None:
        raise Malformed("missing header q2msg-hmac")
    mtype = values["q2msg-type"]
    if not mtype.startswith(TYPE_PREFIX) or not is_type(mtype[len(TYPE_PREFIX) :]):
        raise Malformed(f"q2msg-type {mtype[:80]!r} is not sdk-generic.<Type>")
    if expected_type is not None and mtype != topic_for(expected_type):
        raise Malformed(f"q2msg-type {mtype!r} does not belong on the route of {expected_type}")
    if values["q2msg-version"].split(".")[0] != WIRE_VERSION.split(".")[0]:
        raise Malformed(
            f"wire version {values['q2msg-version'][:20]!r} is not supported (this runtime speaks {WIRE_VERSION})"
        )
    for name, value in values.items():
        if name != "q2msg-type" and not _TOKEN.match(value):
            raise Malformed(f"header {name} is not a short token")
    if not values["q2msg-timestamp"].isdigit():
        raise Malformed("q2msg-timestamp is not milliseconds since the epoch")
    try:
        return values, base64.b64decode(given_mac, validate=True)
    except (binascii.Error, ValueError):
        raise Malformed("q2msg-hmac is not base64") from None


def _check_age(sent: float, now: float, max_age_s: float, max_future_s: float) -> None:
    if now - sent > max_age_s:
        raise Expired(f"message is {now - sent:.0f}s old, over the maximum age of {max_age_s:.0f}s")
    if sent - now > max_future_s:
        raise FromTheFuture(f"message is {sent - now:.0f}s in the future (clock skew limit {max_future_s:.0f}s)")
