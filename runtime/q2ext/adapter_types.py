"""The 11 adapter types as data: each one's handler base class and the typed methods it generates.

Pure data like kinds.py (standard library only), which re-exports it: cookiecutter hooks import both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AdapterMethod:
    """One method an adapter type generates: typed request in, typed response out."""

    name: str
    request: str
    response: str  # a class name, or "list[ClassName]"
    doc: str
    params: tuple[str, ...] = ()  # Q2's documented signature: these request fields as arguments, not the request


def _fx(name: str, response: str, doc: str) -> AdapterMethod:
    """An FX Rate method with the docs' signature: (self, currency_code, amount, group_id)."""
    return AdapterMethod(name, "FxRateQuoteRequest", response, doc, ("currency_code", "amount", "group_id"))


@dataclass(frozen=True)
class AdapterType:
    """One adapter type: the handler base class in q2ext.handlers.adapters.<key> and its methods."""

    key: str
    label: str
    base_class: str
    methods: tuple[AdapterMethod, ...]
    summary: str = ""

    @property
    def module(self) -> str:
        return f"q2ext.handlers.adapters.{self.key}"

    @property
    def number(self) -> int:
        return ADAPTER_TYPES.index(self) + 1

    @property
    def type_names(self) -> tuple[str, ...]:
        """The request/response classes its methods use, in first-use order (what extension.py imports)."""
        names: list[str] = []
        for method in self.methods:
            request = () if method.params else (method.request,)  # a documented signature takes fields, not it
            for name in (*request, method.response.removeprefix("list[").removesuffix("]")):
                if name not in names:
                    names.append(name)
        return tuple(names)

    def method(self, name: str) -> AdapterMethod | None:
        return next((m for m in self.methods if m.name == name), None)


def _m(name: str, request: str, response: str, doc: str) -> AdapterMethod:
    return AdapterMethod(name, request, response, doc)


# The domestic and the international wire adapters answer the same status request.
_WIRE_STATUS = _m("get_wire_status", "WireStatusRequest", "WireReply", "The current status of a wire sent earlier.")


ADAPTER_TYPES: tuple[AdapterType, ...] = (
    AdapterType(
        "account_details",
        "Account Details",
        "Q2AccountDetailsAdapter",
        (
            _m(
                "get_account_details",
                "AccountDetailsRequest",
                "AccountDetailsReply",
                "Balances (HADEs) shown on the account tile and the account details page.",
            ),
        ),
        "Loads host account data elements such as available and current balance.",
    ),
    AdapterType(
        "authentication_token",
        "Authentication Token",
        "Q2AuthenticationTokenAdapter",
        (
            _m(
                "get_authentication_token",
                "AuthenticationTokenRequest",
                "AuthenticationTokenReply",
                "A token that a third party accepts for this user.",
            ),
        ),
        "Issues tokens that let a user's session reach a third party.",
    ),
    AdapterType(
        "check_image",
        "Check Image",
        "Q2CheckImageAdapter",
        (
            _m(
                "get_check_image",
                "CheckImageRequest",
                "CheckImageReply",
                "Front and back images of a cleared check (a deposit slip when d_or_c is 'D').",
            ),
        ),
        "Serves check images for transactions in history.",
    ),
    AdapterType(
        "domestic_wire",
        "Domestic Wire",
        "Q2DomesticWireAdapter",
        (
            _m("submit_domestic_wire", "DomesticWireRequest", "WireReply", "Send a domestic wire; answer its status."),
            _WIRE_STATUS,
        ),
        "Sends domestic wires to the institution's wire system.",
    ),
    AdapterType(
        "deposit_item_image",
        "Deposit Item Image",
        "Q2DepositItemImageAdapter",
        (
            _m(
                "get_deposit_items",
                "DepositItemRequest",
                "list[DepositItem]",
                "The items of a deposit whose history entry the user opened.",
            ),
            _m(
                "get_deposit_item_images",
                "DepositItemRequest",
                "list[DepositItemImage]",
                "The images of the deposit items the user selected.",
            ),
        ),
        "Serves the item images of a deposit.",
    ),
    AdapterType(
        "external_authentication",
        "External Authentication",
        "Q2ExternalAuthenticationAdapter",
        (
            _m("authenticate", "ExternalAuthRequest", "ExternalAuthReply", "Check a user's credentials elsewhere."),
            _m("change_password", "ChangePasswordRequest", "ExternalAuthReply", "Change a password kept elsewhere."),
        ),
        "Delegates login and password changes to an external identity system.",
    ),
    AdapterType(
        "fx_rate",
        "FX Rate",
        "Q2FxRateAdapter",
        (
            _fx(
                "get_fx_quote",
                "FxRateQuoteReply",
                "Quote an exchange rate while the user builds an international wire.",
            ),
            _fx("book_fx_quote", "FxRateExchangeDealReply", "Book the quoted deal."),
            _fx("cancel_fx_quote", "FxRateExchangeDealReply", "Cancel a booked deal."),
        ),
        "Quotes and books foreign exchange for international wires.",
    ),
    AdapterType(
        "instant_payments",
        "Instant Payments",
        "Q2InstantPaymentsAdapter",
        (
            _m("send_instant_payment", "InstantPaymentRequest", "InstantPaymentReply", "Send a real-time payment."),
            _m("get_payment_status", "PaymentStatusRequest", "InstantPaymentReply", "The status of a sent payment."),
        ),
        "Sends real-time payments (RTP, FedNow).",
    ),
    AdapterType(
        "international_wire",
        "International Wire",
        "Q2InternationalWireAdapter",
        (
            _m(
                "submit_international_wire",
                "InternationalWireRequest",
                "WireReply",
                "Send an international wire; answer its status.",
            ),
            _WIRE_STATUS,
        ),
        "Sends international wires to the institution's wire system.",
    ),
    AdapterType(
        "remote_deposit",
        "Remote Deposit",
        "Q2RemoteDepositAdapter",
        (
            _m("get_validation", "RDCValidateRequest", "RDCValidation", "Whether this deposit may be captured."),
            _m("capture_rdc", "RDCCaptureRequest", "RDCSubmitResponse", "Capture a check deposited by photo."),
            _m(
                "get_rdc_transaction_list",
                "RemoteDepositRequest",
                "list[RDCTransaction]",
                "The remote deposits of an account.",
            ),
        ),
        "Captures checks deposited by photo (remote deposit capture).",
    ),
    AdapterType(
        "statement_image",
        "Statement Image",
        "Q2StatementImageAdapter",
        (
            _m("get_statement_list", "StatementListRequest", "list[Statement]", "The statements of an account."),
            _m("get_statement_image", "StatementImageRequest", "StatementImage", "One statement as a PDF."),
        ),
        "Serves account statements.",
    ),
)
