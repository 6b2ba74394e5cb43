"""Account Details adapter: balances (HADEs) for the account tile and the account details page."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..adapter import Q2AdapterRequestHandler


@dataclass
class AccountDetailsRequest:
    host_account_id: int
    account_number: str
    product_type: str = ""


@dataclass
class AccountDetailsReply:
    host_account_id: int
    available_balance: Decimal
    current_balance: Decimal
    currency: str = "USD"


class Q2AccountDetailsAdapter(Q2AdapterRequestHandler):
    """Write get_account_details(request) -> AccountDetailsReply."""

    ADAPTER_TYPE = "account_details"


EXAMPLE_REQUESTS = {
    "get_account_details": {"host_account_id": 42, "account_number": "1234567890", "product_type": "LuckyStars"},
}
