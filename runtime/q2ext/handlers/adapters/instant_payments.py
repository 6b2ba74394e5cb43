"""Instant Payments adapter: real-time payments (RTP, FedNow) and their status."""

from __future__ import annotations

from dataclasses import dataclass

from ..adapter import Q2AdapterRequestHandler
from .payments import DomesticPayment


@dataclass
class InstantPaymentRequest(DomesticPayment):
    """A real-time payment to a US account."""


@dataclass
class PaymentStatusRequest:
    payment_id: str


@dataclass
class InstantPaymentReply:
    payment_id: str
    status: str  # accepted, settled, rejected
    reason: str = ""


class Q2InstantPaymentsAdapter(Q2AdapterRequestHandler):
    """Write send_instant_payment(request) and get_payment_status(request) -> InstantPaymentReply."""

    ADAPTER_TYPE = "instant_payments"


EXAMPLE_REQUESTS = {
    "send_instant_payment": {
        "from_account_number": "1234567890",
        "amount": "40.00",
        "recipient_name": "Bo Lee",
        "recipient_routing_number": "111000025",
        "recipient_account_number": "555444333",
    },
    "get_payment_status": {"payment_id": "P-1"},
}
