"""The batch delivery signature is what docs/wire-format.md says, so a sender in another language can make it."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from q2ext import batch, delivery, keyring
from q2ext.envelope import Malformed, Unauthenticated


def test_batch_signature_is_hmac_sha256_of_the_documented_prefix_and_the_body():
    key = keyring.new().delivery
    body = batch.encode([({"q2msg-id": "a", "q2msg-attempt": "1"}, b"\x00sealed")])
    headers = delivery.sign_batch(body, key, now=1795000000.123)
    expected = hmac.new(key.mac_key, b"q2batch/2\n1795000000123\n" + body, hashlib.sha256).digest()
    assert headers == {
        "Content-Type": "application/vnd.q2ext.batch+v2",
        "q2msg-delivery-timestamp": "1795000000123",
        "q2msg-delivery-key": key.id,
        "q2msg-delivery-signature": base64.b64encode(expected).decode(),
    }


def test_a_batch_signed_then_changed_by_one_byte_is_refused():
    key = keyring.new().delivery
    body = batch.encode([({"q2msg-id": "a"}, b"sealed")])
    headers = {name.lower(): value for name, value in delivery.sign_batch(body, key).items()}
    delivery.verify_batch(headers, body, key)
    with pytest.raises(Unauthenticated, match="batch delivery signature mismatch"):
        delivery.verify_batch(headers, body[:-1] + b"X", key)


def test_a_stale_batch_signature_is_refused():
    key = keyring.new().delivery
    headers = {name.lower(): value for name, value in delivery.sign_batch(b"", key, now=1000.0).items()}
    with pytest.raises(Unauthenticated, match="tolerance"):
        delivery.verify_batch(headers, b"", key, tolerance_s=300, now=1400.0)


def test_a_unicode_digit_timestamp_is_malformed_not_a_crash():
    key = keyring.new().delivery
    with pytest.raises(Malformed):
        delivery.verify_batch(
            {"q2msg-delivery-timestamp": "\u00b2", "q2msg-delivery-key": key.id, "q2msg-delivery-signature": "AA=="},
            b"",
            key,
        )
