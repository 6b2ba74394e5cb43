"""HTTP header checks: a header that could split a request (CR, LF, NUL) never reaches the wire."""

from __future__ import annotations

import re

_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_BAD_VALUE = re.compile(r"[^\t\x20-\x7e]")  # printable ASCII only: no CR/LF/NUL to split a request


def check_header(name: str, value: str) -> None:
    """Refuse a header that could split the request (CR, LF, NUL...) or is not an HTTP token name."""
    if not _TOKEN.match(name.encode("latin-1", "replace")) or _BAD_VALUE.search(value):
        raise ValueError(f"header {name[:40]!r} is not a valid HTTP header")


_good_names: set[str] = set()  # header names that passed check_header (records carry the same few)


def check_headers(headers: dict[str, str]) -> None:
    """check_header() for every header, on a fast path: the relay checks each record it delivers."""
    values = "".join(headers.values())
    if not (values.isascii() and values.isprintable()) and _BAD_VALUE.search(values):  # TAB passes the regex
        _check_each(headers)
    for name in headers:
        if name not in _good_names:
            check_header(name, "")
            if len(_good_names) < 1024:
                _good_names.add(name)


def _check_each(headers: dict[str, str]) -> None:
    for name, value in headers.items():
        check_header(name, value)
