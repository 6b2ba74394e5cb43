"""Check Image adapter: front and back images of a check in transaction history."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..adapter import Q2AdapterRequestHandler


@dataclass
class CheckImageRequest:
    account_number: str
    check_number: str
    amount: Decimal
    posted_date: str
    d_or_c: str = "C"  # 'D' asks for a deposit slip


@dataclass
class CheckImageReply:
    front_image_base64: str
    back_image_base64: str
    image_format: str = "png"


class Q2CheckImageAdapter(Q2AdapterRequestHandler):
    """Write get_check_image(request) -> CheckImageReply."""

    ADAPTER_TYPE = "check_image"


EXAMPLE_REQUESTS = {
    "get_check_image": {
        "account_number": "1234567890",
        "check_number": "1001",
        "amount": "125.00",
        "posted_date": "2024-05-01",
    },
}
