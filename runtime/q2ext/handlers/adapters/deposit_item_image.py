"""Deposit Item Image adapter: the items of a deposit and their images."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..adapter import Q2AdapterRequestHandler


@dataclass
class DepositItemRequest:
    account_number: str
    deposit_id: str
    item_ids: list[str] | None = None  # get_deposit_item_images: the items the user selected


@dataclass
class DepositItem:
    item_id: str
    amount: Decimal
    check_number: str = ""


@dataclass
class DepositItemImage:
    item_id: str
    front_image_base64: str
    back_image_base64: str
    image_format: str = "png"


class Q2DepositItemImageAdapter(Q2AdapterRequestHandler):
    """Write get_deposit_items(request) -> list[DepositItem] and get_deposit_item_images(request)."""

    ADAPTER_TYPE = "deposit_item_image"


EXAMPLE_REQUESTS = {
    "get_deposit_items": {"account_number": "1234567890", "deposit_id": "D-77"},
    "get_deposit_item_images": {"account_number": "1234567890", "deposit_id": "D-77", "item_ids": ["D-77-1"]},
}
