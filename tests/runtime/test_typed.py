"""JSON to typed requests: a wrong request is refused with a reason that names the field."""

from __future__ import annotations

from decimal import Decimal

import pytest

from q2ext import typed
from q2ext.handlers.adapters.fx_rate import FxRateQuoteReply, FxRateQuoteRequest


def test_money_becomes_an_exact_decimal():
    request = typed.from_json(FxRateQuoteRequest, {"currency_code": "EUR", "amount": "100.10"})
    assert request.amount == Decimal("100.10")


def test_missing_field_is_named():
    with pytest.raises(ValueError, match="missing the required field 'amount'"):
        typed.from_json(FxRateQuoteRequest, {"currency_code": "EUR"})


def test_unknown_field_is_named():
    with pytest.raises(ValueError, match="unknown field 'amout'"):
        typed.from_json(FxRateQuoteRequest, {"currency_code": "EUR", "amout": 1})


def test_wrong_type_is_named():
    with pytest.raises(ValueError, match=r"request.group_id must be a whole number"):
        typed.from_json(FxRateQuoteRequest, {"currency_code": "EUR", "amount": 1, "group_id": "one"})


def test_reply_becomes_json_with_money_as_strings():
    reply = FxRateQuoteReply("Q-1", "EUR", Decimal("0.92"), Decimal("108.70"))
    assert typed.to_json(reply)["amount_usd"] == "108.70"
