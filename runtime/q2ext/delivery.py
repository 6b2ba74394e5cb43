"""Sign and check one delivery attempt, so a captured POST goes stale within minutes.

The seal's own timestamp may be days old (messages wait in Kafka); the delivery signature
is made by whoever POSTs (the relay, or push() on the loopback) at the moment it POSTs, with a
delivery key that cannot decrypt anything. The handler refuses a delivery older than its
tolerance (default 300 s), and its seen-id store covers at least that window.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Mapping

from .batch import CONTENT_TYPE
from .secretkey import Key
from .wire import DELIVERY_HEADERS, Malformed, Unauthenticated


def _signature(key: Key, msg_id: str, seal_mac: str, attempt: str, stamp: str) -> bytes:
    text = f"q2delivery/1\n{msg_id}\n{seal_mac}\n{attempt}\n{stamp}\n".encode()
    return key.mac(text)


def sign(headers: Mapping[str, str], key: Key, attempt: int = 1, now: float | None = None) -> dict[str, str]:
    """The sealed headers plus this attempt's delivery headers."""
    stamp = str(int((time.time() if now is None else now) * 1000))
    sig = _signature(key, headers["q2msg-id"], headers["q2msg-hmac"], str(attempt), stamp)
    return {
        **headers,
        "q2msg-attempt": str(attempt),
        "q2msg-delivery-timestamp": stamp,
        "q2msg-delivery-key": key.id,
        "q2msg-delivery-signature": base64.b64encode(sig).decode(),
    }


def verify(headers: Mapping[str, str], key: Key, tolerance_s: float = 300, now: float | None = None) -> None:
    """Raise unless this delivery was signed with the delivery key within the tolerance."""
    values = {}
    for name in DELIVERY_HEADERS:
        value = headers.get(name)
        if value is None:
            raise Malformed(f"missing header {name}")
        values[name] = value
    attempt, stamp = values["q2msg-attempt"], values["q2msg-delivery-timestamp"]
    numbers = attempt + stamp
    if not (numbers.isdigit() and numbers.isascii()) or not attempt or not stamp or len(stamp) > 16 or len(attempt) > 9:
        raise Malformed("q2msg-attempt and q2msg-delivery-timestamp must be whole numbers")
    if values["q2msg-delivery-key"] != key.id:
        raise Unauthenticated(f"unknown delivery key {values['q2msg-delivery-key'][:20]!r}")
    try:
        given = base64.b64decode(values["q2msg-delivery-signature"], validate=True)
    except (binascii.Error, ValueError):
        raise Malformed("q2msg-delivery-signature is not base64") from None
    expected = _signature(key, headers.get("q2msg-id", ""), headers.get("q2msg-hmac", ""), attempt, stamp)
    if not hmac.compare_digest(expected, given):
        raise Unauthenticated("delivery signature mismatch")
    _check_skew(stamp, tolerance_s, now)


def _batch_signature(key: Key, stamp: str, body: bytes) -> bytes:
    return key.mac(f"q2batch/2\n{stamp}\n".encode(), body)


def sign_batch(body: bytes, key: Key, now: float | None = None) -> dict[str, str]:
    """The HTTP headers of a batch POST: its media type and one delivery signature over the whole body."""
    stamp = str(int((time.time() if now is None else now) * 1000))
    return {
        "Content-Type": CONTENT_TYPE,
        "q2msg-delivery-timestamp": stamp,
        "q2msg-delivery-key": key.id,
        "q2msg-delivery-signature": base64.b64encode(_batch_signature(key, stamp, body)).decode(),
    }


def verify_batch(
    headers: Mapping[str, str], body: bytes, key: Key, tolerance_s: float = 300, now: float | None = None
) -> None:
    """Raise unless the body was signed with the delivery key within the tolerance: one HMAC, whatever it holds."""
    stamp = headers.get("q2msg-delivery-timestamp")
    key_id = headers.get("q2msg-delivery-key")
    given = headers.get("q2msg-delivery-signature")
    if stamp is None or key_id is None or given is None:
        raise Malformed("a batch needs q2msg-delivery-timestamp, -key and -signature headers")
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 16:
        raise Malformed("q2msg-delivery-timestamp must be a whole number")
    if key_id != key.id:
        raise Unauthenticated(f"unknown delivery key {key_id[:20]!r}")
    try:
        mac = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        raise Malformed("q2msg-delivery-signature is not base64") from None
    if not hmac.compare_digest(_batch_signature(key, stamp, body), mac):
        raise Unauthenticated("batch delivery signature mismatch")
    _check_skew(stamp, tolerance_s, now)


def _check_skew(stamp: str, tolerance_s: float, now: float | None) -> None:
    skew = (time.time() if now is None else now) - int(stamp) / 1000
    if abs(skew) > tolerance_s:
        raise Unauthenticated(f"delivery signed {skew:.0f}s ago, outside the {tolerance_s:.0f}s tolerance (replayed?)")
