"""Domestic Wire adapter: sends domestic wires to the institution's wire system."""

from __future__ import annotations

from dataclasses import dataclass

from ..adapter import Q2AdapterRequestHandler
from .payments import DomesticPayment, WireReply, WireStatusRequest


@dataclass
class DomesticWireRequest(DomesticPayment):
    """A domestic wire: a payment to a US account, sent by wire."""


class Q2DomesticWireAdapter(Q2AdapterRequestHandler):
    """Write submit_domestic_wire(request) -> WireReply and get_wire_status(request) -> WireReply."""

    ADAPTER_TYPE = "domestic_wire"


EXAMPLE_REQUESTS = {
    "submit_domestic_wire": {
        "from_account_number": "1234567890",
        "amount": "2500.00",
        "recipient_name": "Ada Smith",
        "recipient_routing_number": "111000025",
        "recipient_account_number": "987654321",
    },
    "get_wire_status": {"wire_id": "W-1"},
}

__all__ = ["DomesticWireRequest", "Q2DomesticWireAdapter", "WireReply", "WireStatusRequest"]
