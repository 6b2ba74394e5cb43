"""The wire format's test vectors, checked twice: by an implementation written from
docs/wire-format.md alone (as a producer in another language would be), and by the runtime."""

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import q2ext
from q2ext import delivery, envelope
from q2ext.keyring import Key, KeyRing

VECTORS = json.loads((Path(q2ext.__file__).parent / "wire_vectors.json").read_text(encoding="utf-8"))
CASES = VECTORS["cases"]
SIGNED = (
    "q2msg-type",
    "q2msg-id",
    "q2msg-timestamp",
    "q2msg-cryptokey",
    "q2msg-version",
    "q2msg-envstack",
    "q2msg-gitrev",
)


def hkdf(secret: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode()).derive(secret)


def seal_from_the_doc(case: dict) -> tuple[dict, bytes]:
    """Seal a vector's input following docs/wire-format.md step by step, without q2ext."""
    given = case["input"]
    secret = bytes.fromhex(given["secret_hex"])
    headers = {
        "q2msg-type": "sdk-generic." + given["message_type"],
        "q2msg-id": given["msg_id"],
        "q2msg-timestamp": str(given["timestamp_ms"]),
        "q2msg-cryptokey": given["key_id"],
        "q2msg-version": "1.0.0",
        "q2msg-envstack": given["env_stack"],
        "q2msg-gitrev": given["git_rev"],
    }
    block = ("q2msg/1\n" + "".join(f"{name}:{headers[name]}\n" for name in SIGNED)).encode()
    nonce = bytes.fromhex(given["nonce_hex"])
    body = nonce + AESGCM(hkdf(secret, "q2ext/1 enc")).encrypt(nonce, given["text"].encode(), block)
    mac = hmac.new(hkdf(secret, "q2ext/1 mac"), block + body, hashlib.sha256).digest()
    headers["q2msg-hmac"] = base64.b64encode(mac).decode()
    return headers, body


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_doc_implementation_reproduces_the_vector(case):
    headers, body = seal_from_the_doc(case)
    assert headers == case["expected"]["headers"]
    assert body.hex() == case["expected"]["body_hex"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_runtime_seal_reproduces_the_vector(case):
    given = case["input"]
    sealed = envelope.seal(
        given["text"],
        given["message_type"],
        Key(given["key_id"], bytes.fromhex(given["secret_hex"])),
        env_stack=given["env_stack"],
        git_rev=given["git_rev"],
        msg_id=given["msg_id"],
        timestamp_ms=given["timestamp_ms"],
        nonce=bytes.fromhex(given["nonce_hex"]),
    )
    assert sealed.headers == case["expected"]["headers"]
    assert sealed.body.hex() == case["expected"]["body_hex"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_runtime_opens_the_vector_to_its_text(case):
    given = case["input"]
    key = Key(given["key_id"], bytes.fromhex(given["secret_hex"]))
    ring = KeyRing({key.id: key}, key.id, Key("d1", b"\0" * 32))
    message = envelope.open(
        case["expected"]["headers"], bytes.fromhex(case["expected"]["body_hex"]), ring, now=given["timestamp_ms"] / 1000
    )
    assert (message.text, message.type, message.id) == (given["text"], given["message_type"], given["msg_id"])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_delivery_signature_matches_the_vector(case):
    spec = case["delivery"]
    key = Key(spec["delivery_key_id"], bytes.fromhex(spec["delivery_secret_hex"]))
    signed = delivery.sign(case["expected"]["headers"], key, spec["attempt"], now=spec["delivery_timestamp_ms"] / 1000)
    assert {name: signed[name] for name in spec["expected_headers"]} == spec["expected_headers"]
    text = "q2delivery/1\n{}\n{}\n{}\n{}\n".format(
        case["input"]["msg_id"],
        case["expected"]["headers"]["q2msg-hmac"],
        spec["attempt"],
        spec["delivery_timestamp_ms"],
    )
    digest = hmac.new(hkdf(key.secret, "q2ext/1 mac"), text.encode(), hashlib.sha256).digest()
    assert base64.b64encode(digest).decode() == spec["expected_headers"]["q2msg-delivery-signature"]


def test_a_changed_vector_byte_is_refused():
    case = CASES[0]
    given = case["input"]
    key = Key(given["key_id"], bytes.fromhex(given["secret_hex"]))
    ring = KeyRing({key.id: key}, key.id, Key("d1", b"\0" * 32))
    body = bytearray.fromhex(case["expected"]["body_hex"])
    body[-1] ^= 1
    with pytest.raises(envelope.Unauthenticated):
        envelope.open(case["expected"]["headers"], bytes(body), ring, now=given["timestamp_ms"] / 1000)
