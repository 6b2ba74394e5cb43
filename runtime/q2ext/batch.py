"""Frame several sealed messages into one POST body, and back (opt-in batch delivery).

A batch body is a sequence of records; each record is
    4-byte big-endian length of the header block, the header block (UTF-8 lines "name:value\\n"),
    4-byte big-endian length of the message body, the message body.
Version 2 (this one): the POST carries one delivery signature over the whole body (delivery.sign_batch), so
a forged batch costs the handler one HMAC, not one per record; a record's block holds its sealed headers and
its q2msg-attempt. Version 1 (a delivery signature per record) is refused with 415.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping

from .wire import Malformed

CONTENT_TYPE = "application/vnd.q2ext.batch+v2"
MEDIA_PREFIX = "application/vnd.q2ext.batch+"  # any version: a batch, to be refused if not this version
MAX_RECORDS = 10_000
_LEN = struct.Struct(">I")


def encode(records: Iterable[tuple[Mapping[str, str], bytes]]) -> bytes:
    """One batch body from (headers, body) pairs."""
    out = bytearray()
    for headers, body in records:
        block = "".join(f"{name}:{value}\n" for name, value in headers.items()).encode()
        out += _LEN.pack(len(block)) + block + _LEN.pack(len(body)) + body
    return bytes(out)


def decode(data: bytes, max_records: int = MAX_RECORDS) -> list[tuple[dict[str, str], bytes]]:
    """The (headers, body) pairs of a batch body, or Malformed saying where it broke."""
    view = memoryview(data)
    records: list[tuple[dict[str, str], bytes]] = []
    pos = 0
    while pos < len(view):
        if len(records) >= max_records:
            raise Malformed(f"batch holds more than {max_records} records")
        block, pos = _chunk(view, pos, len(records))
        body, pos = _chunk(view, pos, len(records))
        records.append((_headers(block, len(records)), body))
    return records


def _chunk(view: memoryview, pos: int, index: int) -> tuple[bytes, int]:
    if pos + 4 > len(view):
        raise Malformed(f"batch record {index} is truncated")
    (size,) = _LEN.unpack_from(view, pos)
    end = pos + 4 + size
    if end > len(view):
        raise Malformed(f"batch record {index} is truncated")
    return bytes(view[pos + 4 : end]), end


def _headers(block: bytes, index: int) -> dict[str, str]:
    try:
        lines = block.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise Malformed(f"batch record {index} headers are not UTF-8") from None
    headers: dict[str, str] = {}
    for line in lines:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise Malformed(f"batch record {index} has a header line without ':'")
        name = name.strip().lower()
        if name in headers:
            raise Malformed(f"batch record {index} repeats header {name[:40]!r}")
        headers[name] = value.strip()
    return headers
