"""Assertions shared by the security tests: what a refusal must log, and what it must never log."""

from __future__ import annotations

import pytest

from q2ext import delivery
from q2ext.keyring import KeyRing

from .conftest import secrets_of


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured log line, formatted, with exception tracebacks."""
    lines = []
    for record in caplog.records:
        lines.append(f"{record.name} {record.levelname} {record.getMessage()}")
        if record.exc_text:
            lines.append(record.exc_text)
    return "\n".join(lines)


def assert_logged_safely(caplog, ring: KeyRing, says: str, plaintext: str) -> None:
    """The log says why (for the operator), and holds neither the text nor any key material."""
    text = log_text(caplog)
    assert says in text, f"expected a log line saying {says!r}; got:\n{text}"
    assert plaintext not in text
    for secret in secrets_of(ring):
        assert secret not in text


def signed_without(headers: dict[str, str], ring: KeyRing, *missing: str, **changed: str) -> dict[str, str]:
    """A delivery a relay holding the delivery key would make of headers with some missing or changed."""
    base = {**headers, **changed}
    for name in missing:
        base[name] = ""  # the delivery signature covers q2msg-id and q2msg-hmac, "" when absent
    signed = delivery.sign(base, ring.delivery)
    for name in missing:
        del signed[name]
    return signed
