"""FX Rate adapter: quotes, books and cancels foreign exchange while a user builds an international wire."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..adapter import Q2AdapterRequestHandler


@dataclass
class FxRateQuoteRequest:
    currency_code: str
    amount: Decimal
    group_id: int = 0


@dataclass
class FxRateQuoteReply:
    quote_id: str
    currency_code: str
    rate: Decimal  # units of currency_code per US dollar
    amount_usd: Decimal
    expires_in_seconds: int = 60


@dataclass
class FxRateExchangeDealReply:
    quote_id: str
    status: str  # booked, cancelled
    deal_id: str = ""


class Q2FxRateAdapter(Q2AdapterRequestHandler):
    """Write get_fx_quote, book_fx_quote and cancel_fx_quote: (self, currency_code, amount, group_id), as Q2's docs."""

    ADAPTER_TYPE = "fx_rate"


EXAMPLE_REQUESTS = {
    "get_fx_quote": {"currency_code": "EUR", "amount": "100.00", "group_id": 1},
    "book_fx_quote": {"currency_code": "EUR", "amount": "100.00", "group_id": 1},
    "cancel_fx_quote": {"currency_code": "EUR", "amount": "100.00", "group_id": 1},
}
