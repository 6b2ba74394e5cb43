"""Statement Image adapter: the statements of an account, one at a time as a PDF."""

from __future__ import annotations

from dataclasses import dataclass

from ..adapter import Q2AdapterRequestHandler


@dataclass
class StatementListRequest:
    account_number: str
    year: int


@dataclass
class Statement:
    statement_id: str
    period_end: str


@dataclass
class StatementImageRequest:
    account_number: str
    statement_id: str


@dataclass
class StatementImage:
    statement_id: str
    pdf_base64: str
    content_type: str = "application/pdf"


class Q2StatementImageAdapter(Q2AdapterRequestHandler):
    """Write get_statement_list(request) -> list[Statement] and get_statement_image(request)."""

    ADAPTER_TYPE = "statement_image"


EXAMPLE_REQUESTS = {
    "get_statement_list": {"account_number": "1234567890", "year": 2024},
    "get_statement_image": {"account_number": "1234567890", "statement_id": "S-2024-01"},
}
