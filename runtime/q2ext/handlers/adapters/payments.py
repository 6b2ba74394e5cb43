"""What the wire and payment adapters share: a payment to a US account, and a wire's status."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass
class DomesticPayment:
    """Money leaving an account for a US account (domestic wires and instant payments carry the same)."""

    from_account_number: str
    amount: Decimal
    recipient_name: str
    recipient_routing_number: str
    recipient_account_number: str
    memo: str = ""


@dataclass
class WireStatusRequest:
    wire_id: str


@dataclass
class WireReply:
    wire_id: str
    status: str  # accepted, pending, sent, rejected
    reason: str = ""
