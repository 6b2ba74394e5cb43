"""The wire format's header names, in one crypto-free place (docs/wire-format.md is their specification).

The relay forwards only the sealed headers of a record: a record header is attacker-chosen (anyone who can
write to the topic sets it), and forwarding Host, Content-Length, Transfer-Encoding, Authorization or
X-Forwarded-For from the relay's trusted position would be request smuggling and header spoofing.
"""

from __future__ import annotations

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
# The only record headers the relay forwards to a handler.
FORWARDED = frozenset(SEALED_HEADERS)
PREFIX = "q2msg-"


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
