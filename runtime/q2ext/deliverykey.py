"""The relay's delivery key: write it alone to a file, load it from the environment or that file.

A relay needs only this key (it signs delivery attempts, it cannot decrypt), so loading it never touches
the ring of message keys, except in DEBUG where a project without a delivery key file uses the dev ring's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .secretkey import Key, KeyRingError, b64, unb64, write_secret

DELIVERY_FORMAT = "q2ext-delivery-key/1"
ENV_DELIVERY_KEY = "Q2EXT_DELIVERY_KEY"


def write_delivery_file(ring, path: str | os.PathLike) -> Path:
    """Write only the ring's delivery key: what a relay needs to sign deliveries (it cannot decrypt)."""
    data = {"format": DELIVERY_FORMAT, "dev": ring.dev, "id": ring.delivery.id, "secret": b64(ring.delivery.secret)}
    return write_secret(data, path)


def _parse_delivery(data: dict, source: str) -> tuple[Key, bool]:
    if not isinstance(data, dict) or data.get("format") != DELIVERY_FORMAT or "secret" not in data:
        raise KeyRingError(f"{source}: not a q2ext delivery key (expected format {DELIVERY_FORMAT!r})")
    return Key(str(data.get("id", "d1")), unb64(data["secret"], "delivery key")), bool(data.get("dev", False))


def _from_json(text: str, source: str, invalid: str) -> tuple[Key, bool]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise KeyRingError(invalid) from None
    return _parse_delivery(data, source)


def load_delivery_for(settings, environ: dict[str, str] | None = None) -> tuple[Key, str]:
    """The relay's delivery key and where it came from: environment, file, or (DEBUG only) the dev ring."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_DELIVERY_KEY):
        source = f"environment variable {ENV_DELIVERY_KEY}"
        key, dev = _from_json(environ[ENV_DELIVERY_KEY], source, f"{source} is not valid JSON")
    elif Path(settings.DELIVERY_KEY_FILE).exists():
        source = f"file {settings.DELIVERY_KEY_FILE}"
        key, dev = _from_json(Path(settings.DELIVERY_KEY_FILE).read_text(), source, f"{source}: not valid JSON")
    else:
        from . import keyring  # no delivery key file: the ring's own (DEBUG's dev ring, or a full ring)

        ring = keyring.load_for(settings, environ)
        key, dev, source = ring.delivery, ring.dev, f"{ring.source} (delivery key)"
    if dev and not settings.DEBUG:
        raise KeyRingError(f"{source} is a development key; out of DEBUG run `make keys` for a real one")
    return key, source
