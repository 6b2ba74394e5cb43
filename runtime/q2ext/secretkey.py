"""One secret key and the sub-keys derived from it, in the standard library only (no cipher code).

The relay signs deliveries with a Key and must not be able to open a message: this module has HKDF and
HMAC, nothing that decrypts. keyring.py (the ring of message keys) and envelope.py (AES-GCM) build on it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

_ZERO_SALT = bytes(hashlib.sha256().digest_size)


def derive(secret: bytes, purpose: str) -> bytes:
    """One 32-byte sub-key per purpose (HKDF-SHA256, RFC 5869, no salt), so encryption and signing never share one."""
    prk = hmac.new(_ZERO_SALT, secret, "sha256").digest()  # extract
    return hmac.new(prk, f"q2ext/1 {purpose}".encode() + b"\x01", "sha256").digest()  # expand: one block is 32 bytes


@dataclass(frozen=True)
class Key:
    """One key: its id (what q2msg-cryptokey or q2msg-delivery-key carries) and the derived sub-keys."""

    id: str
    secret: bytes

    @cached_property
    def enc_key(self) -> bytes:
        return derive(self.secret, "enc")

    @cached_property
    def mac_key(self) -> bytes:
        return derive(self.secret, "mac")

    @cached_property
    def _mac_state(self) -> hmac.HMAC:
        return hmac.new(self.mac_key, digestmod="sha256")

    def mac(self, *parts: bytes) -> bytes:
        """HMAC-SHA256 of the parts under mac_key, from a keyed state made once (key setup is half the cost)."""
        state = self._mac_state.copy()
        for part in parts:
            state.update(part)
        return state.digest()

    def __repr__(self) -> str:  # never print the secret
        return f"Key(id={self.id!r})"


class KeyRingError(Exception):
    """The key ring or delivery key is missing, malformed or not allowed here; the message says how to fix it."""


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def unb64(text: str, what: str) -> bytes:
    """A secret from its base64 text; at least 32 bytes."""
    try:
        raw = base64.urlsafe_b64decode(text.encode())
    except (ValueError, TypeError):
        raise KeyRingError(f"key ring: {what} is not base64") from None
    if len(raw) < 32:
        raise KeyRingError(f"key ring: {what} is shorter than 32 bytes")
    return raw


def write_secret(data: dict, path: str | os.PathLike) -> Path:
    """Write JSON atomically with mode 0600 from the start, so a crash never leaves half a file or a readable one."""
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # .q2ext/ itself: not listable by others
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
