"""Hostile deliveries against a running handler: each gets its documented status and a safe log line."""

from __future__ import annotations

import base64
import time

import pytest

from q2ext import delivery, envelope, keyring

from .checks import assert_logged_safely, signed_without

TEXT = "account 4242 balance 1000000"


@pytest.fixture(autouse=True)
def _all_logs(quiet_caplog):
    """Capture every log line at DEBUG, so the no-secrets checks see everything."""


def test_sealed_message_with_fresh_delivery_is_handled(handler, seal):
    sealed = seal(TEXT)
    status, answer = handler.deliver(sealed)
    assert (status, answer["id"]) == (200, sealed.headers["q2msg-id"])
    assert [m.text for m in handler.services.handled] == [TEXT]


@pytest.mark.parametrize("missing", delivery.DELIVERY_HEADERS)
def test_missing_delivery_header_is_refused_with_400(handler, seal, ring, caplog, missing):
    sealed = seal(TEXT)
    headers = delivery.sign(sealed.headers, ring.delivery)
    del headers[missing]
    status, answer = handler.post(headers, sealed.body)
    assert (status, answer["error"]) == (400, f"missing header {missing}")
    assert_logged_safely(caplog, ring, f"missing header {missing} (400)", TEXT)
    assert handler.services.handled == []


@pytest.mark.parametrize("missing", [*envelope.SIGNED_HEADERS, "q2msg-hmac"])
def test_missing_sealed_header_is_refused_with_400(handler, seal, ring, caplog, missing):
    sealed = seal(TEXT)
    status, answer = handler.post(signed_without(sealed.headers, ring, missing), sealed.body)
    assert (status, answer["error"]) == (400, f"missing header {missing}")
    assert_logged_safely(caplog, ring, f"missing header {missing}", TEXT)
    assert handler.services.handled == []


def test_hmac_that_is_not_base64_is_refused_with_400(handler, seal, ring, caplog):
    sealed = seal(TEXT)
    headers = signed_without(sealed.headers, ring, **{"q2msg-hmac": "not*base64!"})
    status, answer = handler.post(headers, sealed.body)
    assert (status, answer["error"]) == (400, "q2msg-hmac is not base64")
    assert_logged_safely(caplog, ring, "q2msg-hmac is not base64 (400)", TEXT)


def test_delivery_signature_that_is_not_base64_is_refused_with_400(handler, seal, ring, caplog):
    sealed = seal(TEXT)
    headers = {**delivery.sign(sealed.headers, ring.delivery), "q2msg-delivery-signature": "%%%"}
    status, answer = handler.post(headers, sealed.body)
    assert (status, answer["error"]) == (400, "q2msg-delivery-signature is not base64")
    assert_logged_safely(caplog, ring, "is not base64 (400)", TEXT)


def test_message_of_another_type_is_refused_on_this_route_with_400(handler, seal, ring, caplog):
    sealed = seal(TEXT, message_type="Uppercase")
    status, answer = handler.deliver(sealed)
    assert status == 400
    assert "does not belong on the route of Lowercase" in answer["error"]
    assert_logged_safely(caplog, ring, "'sdk-generic.Uppercase' does not belong on the route of Lowercase", TEXT)
    assert handler.services.handled == []


def test_message_older_than_the_maximum_age_is_refused_with_410(handler, seal, ring, caplog):
    eight_days_ago = int((time.time() - 8 * 24 * 3600) * 1000)
    status, answer = handler.deliver(seal(TEXT, timestamp_ms=eight_days_ago))
    assert status == 410
    assert_logged_safely(caplog, ring, "over the maximum age of 604800s (410)", TEXT)
    assert handler.services.handled == []


def test_message_delayed_in_kafka_six_days_still_arrives(handler, seal):
    six_days_ago = int((time.time() - 6 * 24 * 3600) * 1000)
    status, _ = handler.deliver(seal(TEXT, timestamp_ms=six_days_ago))
    assert status == 200
    assert [m.text for m in handler.services.handled] == [TEXT]


def test_message_from_the_future_is_refused_with_425(handler, seal, ring, caplog):
    in_ten_minutes = int((time.time() + 600) * 1000)
    status, _ = handler.deliver(seal(TEXT, timestamp_ms=in_ten_minutes))
    assert status == 425
    assert_logged_safely(caplog, ring, "in the future (clock skew limit 300s) (425)", TEXT)


def test_delivery_signed_six_minutes_ago_is_refused_with_401(handler, seal, ring, caplog):
    status, answer = handler.deliver(seal(TEXT), now=time.time() - 360)
    assert status == 401
    assert "outside the 300s tolerance (replayed?)" in answer["error"]
    assert_logged_safely(caplog, ring, "outside the 300s tolerance (replayed?) (401)", TEXT)
    assert handler.services.handled == []


def test_delivery_signed_six_minutes_in_the_future_is_refused_with_401(handler, seal, ring, caplog):
    status, _ = handler.deliver(seal(TEXT), now=time.time() + 360)
    assert status == 401
    assert_logged_safely(caplog, ring, "outside the 300s tolerance", TEXT)


def test_delivery_signed_with_another_delivery_key_is_refused_with_401(handler, seal, ring, caplog):
    sealed = seal(TEXT)
    stranger = keyring.new().delivery
    status, answer = handler.post(delivery.sign(sealed.headers, stranger), sealed.body)
    assert (status, answer["error"]) == (401, "delivery signature mismatch")
    assert_logged_safely(caplog, ring, "delivery signature mismatch (401)", TEXT)


def test_message_sealed_with_an_unknown_key_is_refused_with_401(handler, ring, caplog):
    stranger = keyring.new(first_id="77").active
    sealed = envelope.seal(TEXT, "Lowercase", stranger)
    status, answer = handler.deliver(sealed)
    assert (status, answer["error"]) == (401, "unknown key '77'")
    assert_logged_safely(caplog, ring, "unknown key '77' (401)", TEXT)


def test_forged_hmac_is_refused_with_401(handler, seal, ring, caplog):
    sealed = seal(TEXT)
    forged = base64.b64encode(b"\0" * 32).decode()
    status, answer = handler.post(signed_without(sealed.headers, ring, **{"q2msg-hmac": forged}), sealed.body)
    assert (status, answer["error"]) == (401, f"hmac mismatch for key {ring.active_id}")
    assert_logged_safely(caplog, ring, f"hmac mismatch for key {ring.active_id} (401)", TEXT)


def test_body_over_the_default_limit_of_1_mib_is_refused_with_413(handler, seal, ring, caplog):
    sealed = seal("x" * (1024 * 1024 - 27))  # 28 bytes of nonce and tag make it one byte too many
    status, answer = handler.deliver(sealed)
    assert status == 413
    assert answer["error"] == "body of 1048577 bytes is over the 1048576-byte limit"
    assert_logged_safely(caplog, ring, "over the 1048576-byte limit (413)", "x" * 64)


def test_body_limit_is_configurable(start, seal):
    small = start(MAX_MESSAGE_BYTES=1000)
    assert small.deliver(seal("y" * (1000 - 28)))[0] == 200
    assert small.deliver(seal("y" * (1001 - 28)))[0] == 413


def test_a_thousand_extra_headers_do_not_stop_a_good_message(handler, seal, ring):
    sealed = seal(TEXT)
    headers = delivery.sign(sealed.headers, ring.delivery)
    headers.update({f"x-flood-{i}": "a" * 20 for i in range(1000)})
    assert handler.post(headers, sealed.body)[0] == 200
    assert len(handler.services.handled) == 1


def test_header_block_over_64_kib_is_dropped_and_the_server_keeps_serving(handler, seal, ring, caplog):
    sealed = seal(TEXT)
    flood = {**delivery.sign(sealed.headers, ring.delivery), "x-flood": "a" * 70_000}
    with pytest.raises(ConnectionError):
        handler.post(flood, sealed.body)
    assert "not found within 65536 bytes" in caplog.text
    assert handler.deliver(sealed)[0] == 200
    assert len(handler.services.handled) == 1


def test_refusal_answer_carries_the_reason_but_never_the_text(handler, seal):
    status, answer = handler.deliver(seal(TEXT), now=time.time() - 3600)
    assert status == 401
    assert TEXT not in str(answer)
