"""International Wire adapter: sends international wires to the institution's wire system."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..adapter import Q2AdapterRequestHandler
from .payments import WireReply, WireStatusRequest


@dataclass
class InternationalWireRequest:
    from_account_number: str
    amount: Decimal
    currency_code: str
    recipient_name: str
    recipient_swift_bic: str
    recipient_iban: str
    memo: str = ""


class Q2InternationalWireAdapter(Q2AdapterRequestHandler):
    """Write submit_international_wire(request) -> WireReply and get_wire_status(request) -> WireReply."""

    ADAPTER_TYPE = "international_wire"


EXAMPLE_REQUESTS = {
    "submit_international_wire": {
        "from_account_number": "1234567890",
        "amount": "1000.00",
        "currency_code": "EUR",
        "recipient_name": "Jean Dupont",
        "recipient_swift_bic": "BNPAFRPP",
        "recipient_iban": "FR7630006000011234567890189",
    },
    "get_wire_status": {"wire_id": "W-1"},
}

__all__ = ["InternationalWireRequest", "Q2InternationalWireAdapter", "WireReply", "WireStatusRequest"]
