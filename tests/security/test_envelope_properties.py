"""Properties of the envelope, for any input hypothesis can think of."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from q2ext import delivery, envelope, keyring
from q2ext.envelope import EnvelopeError

RING = keyring.new()
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HEADER_NAMES = (*envelope.SIGNED_HEADERS, "q2msg-hmac", *delivery.DELIVERY_HEADERS)
# What an HTTP header value can hold (no CR/LF), with some near-misses of the real format.
header_values = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
    st.sampled_from(["", "-", "0", "1", "sdk-generic.Lowercase", "1.0.0", "9" * 20, "=" * 44]),
)


def sealed_for(text: str) -> envelope.Sealed:
    return envelope.seal(text, "Lowercase", RING.active)


@given(st.text())
@FUZZ
def test_seal_then_open_gives_back_any_text(text):
    assert envelope.open(*vars(sealed_for(text)).values(), RING).text == text


@pytest.mark.parametrize("text", ["", "héllo wörld ✓ 漢字 🙂\u0000\U0010ffff", "é" * (512 * 1024)])
def test_seal_then_open_gives_back_empty_unicode_and_one_mib_texts(text):
    sealed = sealed_for(text)
    assert envelope.open(sealed.headers, sealed.body, RING, max_bytes=2 * 1024 * 1024).text == text


@given(st.sampled_from((*envelope.SIGNED_HEADERS, "q2msg-hmac")), header_values)
@FUZZ
def test_any_change_to_a_signed_header_is_refused(name, value):
    sealed = sealed_for("hello world")
    if sealed.headers[name] == value:
        value += "0"
    with pytest.raises(EnvelopeError):
        envelope.open({**sealed.headers, name: value}, sealed.body, RING)


@given(st.data())
@FUZZ
def test_any_change_to_any_byte_of_the_body_is_refused(data):
    sealed = sealed_for(data.draw(st.text(max_size=200)))
    body = bytearray(sealed.body)
    index = data.draw(st.integers(0, len(body) - 1))
    body[index] ^= data.draw(st.integers(1, 255))
    with pytest.raises(envelope.Unauthenticated):
        envelope.open(sealed.headers, bytes(body), RING)


@given(st.binary(max_size=64), st.data())
@FUZZ
def test_truncated_or_extended_body_is_refused(extra, data):
    sealed = sealed_for("hello world")
    cut = data.draw(st.integers(0, len(sealed.body)))
    body = sealed.body[:cut] + extra
    if body == sealed.body:
        body += b"\0"
    with pytest.raises(EnvelopeError):
        envelope.open(sealed.headers, body, RING)


@given(st.dictionaries(st.sampled_from(HEADER_NAMES), header_values), st.binary(max_size=256))
@FUZZ
def test_random_headers_and_bodies_are_refused_with_an_envelope_error(headers, body):
    with pytest.raises(EnvelopeError) as refused:
        delivery.verify(headers, RING.delivery)
        envelope.open(headers, body, RING)
    assert refused.value.status in {400, 401, 410, 413, 425}


@given(
    st.dictionaries(st.sampled_from((*envelope.SIGNED_HEADERS, "q2msg-hmac")), header_values), st.binary(max_size=64)
)
@FUZZ
def test_several_changed_headers_and_appended_bytes_are_refused(changes, extra):
    sealed = sealed_for("hello world")
    headers = {**sealed.headers, **changes}
    assume(headers != sealed.headers or extra)
    with pytest.raises(EnvelopeError):
        envelope.open(headers, sealed.body + extra, RING)


class TestOverHttp:
    """Random deliveries against the running handler: never handle(), never a 500."""

    @given(st.dictionaries(st.sampled_from(HEADER_NAMES), header_values), st.binary(max_size=512))
    @FUZZ
    def test_random_delivery_never_reaches_handle_nor_causes_a_500(self, handler, headers, body):
        status, _ = handler.post(headers, body)
        assert 400 <= status < 500
        assert handler.services.handled == []

    @given(st.sampled_from(HEADER_NAMES), header_values, st.binary(max_size=64))
    @FUZZ
    def test_tampered_real_delivery_never_reaches_handle_nor_causes_a_500(self, handler, name, value, extra):
        ring = handler.services.ring
        sealed = envelope.seal("hello world", "Lowercase", ring.active)
        original = delivery.sign(sealed.headers, ring.delivery)
        tampered = {**original, name: value}
        assume(tampered != original or extra)
        status, _ = handler.post(tampered, sealed.body + extra)
        assert 400 <= status < 500
        assert handler.services.handled == []
