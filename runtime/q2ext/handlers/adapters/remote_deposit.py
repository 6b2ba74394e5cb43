"""Remote Deposit adapter: checks deposited by photo (remote deposit capture)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..adapter import Q2AdapterRequestHandler


@dataclass
class RDCValidateRequest:
    account_number: str
    amount: Decimal


@dataclass
class RDCValidation:
    allowed: bool
    limit: Decimal
    reason: str = ""


@dataclass
class RDCCaptureRequest:
    account_number: str
    amount: Decimal
    front_image_base64: str
    back_image_base64: str


@dataclass
class RDCSubmitResponse:
    deposit_id: str
    status: str  # accepted, held, rejected
    reason: str = ""


@dataclass
class RemoteDepositRequest:
    account_number: str


@dataclass
class RDCTransaction:
    deposit_id: str
    amount: Decimal
    status: str


class Q2RemoteDepositAdapter(Q2AdapterRequestHandler):
    """Write get_validation, capture_rdc and get_rdc_transaction_list."""

    ADAPTER_TYPE = "remote_deposit"


EXAMPLE_REQUESTS = {
    "get_validation": {"account_number": "1234567890", "amount": "75.00"},
    "capture_rdc": {
        "account_number": "1234567890",
        "amount": "75.00",
        "front_image_base64": "iVBORw0KGgo=",
        "back_image_base64": "iVBORw0KGgo=",
    },
    "get_rdc_transaction_list": {"account_number": "1234567890"},
}
