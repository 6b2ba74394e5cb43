"""The 11 extension kinds and the 11 adapter types as data: the template, the scaffold and the tests all read it.

Pure data (no imports beyond the standard library), so cookiecutter hooks can import it without the runtime's
dependencies installed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

SDK = "q2_sdk.core.http_handlers"
TEMPLATE_FILE = "templates/index.html.jinja2"  # Q2's name for an extension's page template


@dataclass(frozen=True)
class Option:
    """A kind-specific question (the real SDK asks it too), answered as one of `choices`."""

    key: str
    prompt: str
    choices: tuple[str, ...]
    default: str


@dataclass(frozen=True)
class Kind:
    """One extension kind: how it is asked for, what it inherits from, and which files it gets."""

    key: str
    label: str
    base_class: str
    base_module: str
    aliases: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    needs_message_type: bool = False
    html: bool = False  # keeps templates/index.html.jinja2 (rendered with self.get_template)
    summary: str = ""

    @property
    def number(self) -> int:
        """Its number in the seed's menu (1 = Online ... 9 = Message Bus ... 11 = Base Extension)."""
        return KINDS.index(self) + 1

    @property
    def names(self) -> tuple[str, ...]:
        """Every name cookiecutter, `make extension KIND=` and `q2 create_extension -t` accept for it."""
        return tuple(dict.fromkeys((self.key, str(self.number), _norm(self.label.split("(")[0]), *self.aliases)))

    @property
    def files(self) -> tuple[str, ...]:
        """The files scaffolded into <project>/<Name>/ (tests/test_<name>.py stands for tests/test_<name lower>.py)."""
        common = ("__init__.py", "extension.py", "urls.py", "tests/__init__.py", "tests/test_<name>.py")
        return (*common, TEMPLATE_FILE) if self.html else common

    def option(self, key: str) -> Option:
        for opt in self.options:
            if opt.key == key:
                return opt
        raise KeyError(key)


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

UNAUTHENTICATED = Option(
    "unauthenticated",
    "Is this extension unauthenticated (served without a q2token session)?",
    ("no", "yes"),
    "no",
)
ADAPTER_TYPE = Option(
    "adapter_type",
    "Select adapter type to generate",
    tuple(t.key for t in ADAPTER_TYPES),
    ADAPTER_TYPES[0].key,
)

KINDS: tuple[Kind, ...] = (
    Kind(
        "online",
        "Online (default)",
        "Q2OnlineRequestHandler",
        f"{SDK}.online_handler",
        (),
        (UNAUTHENTICATED,),
        html=True,
        summary="An Online Banking page: a router of default/submit, server-rendered HTML.",
    ),
    Kind(
        "sso",
        "SSO (Third Party Integration)",
        "Q2SSORequestHandler",
        f"{SDK}.sso_handler",
        (),
        html=True,
        summary="Single sign-on into a vendor: default() returns a Q2SSOResponse.",
    ),
    Kind(
        "ardent",
        "Ardent (API)",
        "Q2ArdentRequestHandler",
        f"{SDK}.ardent_handler",
        (),
        summary="A JSON API for calls from the outside world.",
    ),
    Kind(
        "q2console",
        "Q2Console (Backoffice)",
        "Q2ConsoleRequestHandler",
        f"{SDK}.q2console_handler",
        (),
        html=True,
        summary="A back-office page in Q2Console.",
    ),
    Kind(
        "central",
        "Central (Legacy Backoffice)",
        "Q2CentralRequestHandler",
        f"{SDK}.central_handler",
        (),
        html=True,
        summary="A page in Central, the legacy back office: router and templates.",
    ),
    Kind(
        "adapter",
        "Adapter",
        "Q2AdapterRequestHandler",
        f"{SDK}.adapter_handler",
        (),
        (ADAPTER_TYPE,),
        summary="Typed request/response methods that Q2 calls in place of its own integration.",
    ),
    Kind(
        "audit_action",
        "Audit Action",
        "Q2AuditActionRequestHandler",
        f"{SDK}.audit_action_handler",
        (),
        summary="Acts on Online Banking audit events it subscribes to.",
    ),
    Kind(
        "custom_health_check",
        "Custom Health Check",
        "CustomHealthCheckHandler",
        "q2_sdk.core.non_http_handlers.custom_health_check_handler",
        (),
        summary="async run() returns a health response; GET /status aggregates every check.",
    ),
    Kind(
        "message_bus",
        "Message Bus",
        "Q2MessageBusRequestHandler",
        f"{SDK}.message_bus_handler",
        (),
        needs_message_type=True,
        summary="Consumes messages of one type pushed onto the bus: async handle(message).",
    ),
    Kind(
        "caliper_api_custom_endpoint",
        "Caliper API Custom Endpoint",
        "Q2CaliperAPICustomHandler",
        f"{SDK}.caliper_api_custom_handler",
        (),
        summary="get/post answering the Caliper API's {data, success, errors} envelope.",
    ),
    Kind(
        "base",
        "Base Extension",
        "Q2BaseRequestHandler",
        f"{SDK}.base_handler",
        (),
        summary="Plain get/post: the extension you shape yourself.",
    ),
)

DEFAULT_KIND = KINDS[0].key


def _norm(text: str) -> str:
    """'Message Bus' / 'message-bus' / ' MESSAGE_BUS ' -> 'message_bus'; '(', ')' and spaces become '_' once."""
    return re.sub(r"[^a-z0-9]+", "_", str(text).strip().lower()).strip("_")


def did_you_mean(value: str, choices: tuple[str, ...]) -> str:
    """' (did you mean 'x'?)' for the one choice containing the value ('bus' -> 'message_bus'), else the closest."""
    wanted = _norm(value)
    containing = [choice for choice in choices if wanted and wanted in choice]
    close = containing if len(containing) == 1 else difflib.get_close_matches(wanted, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def find(name: str, variable: str = "extension_kind") -> Kind:
    """The kind for its key, menu number or label ('message_bus', '9', 'Message Bus'); ValueError lists the kinds.

    The one parser of kind names: cookiecutter's extension_kind, `make extension KIND=` and
    `q2 create_extension -t` all call it, so they accept and refuse the same answers.
    """
    wanted = _norm(name)
    for kind in KINDS:
        if wanted and wanted in kind.names:
            return kind
    keys = tuple(kind.key for kind in KINDS)
    raise ValueError(f"{variable} {str(name)!r} is not one of {', '.join(keys)}{did_you_mean(name, keys)}")


def find_adapter_type(name: str) -> AdapterType:
    """The adapter type for a key or menu number ('fx_rate', '7'); ValueError names the choices."""
    wanted = _norm(name)
    for adapter in ADAPTER_TYPES:
        if wanted in (adapter.key, str(adapter.number), _norm(adapter.label)):
            return adapter
    choices = ", ".join(f"{t.number}={t.key}" for t in ADAPTER_TYPES)
    raise ValueError(f"unknown adapter type {name!r}: use one of {choices}")


def resolve_options(kind: Kind, given: dict[str, str] | None) -> dict[str, str]:
    """The kind's options with defaults filled in and answers normalised; ValueError for unknown or bad ones."""
    given = {_norm(k): str(v) for k, v in (given or {}).items()}
    known = {opt.key for opt in kind.options}
    unknown = sorted(set(given) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise ValueError(f"option {unknown[0]!r} does not apply to {kind.label} extensions (options: {allowed})")
    answers = {}
    for opt in kind.options:
        value = _norm(given.get(opt.key, opt.default))
        if opt is ADAPTER_TYPE:
            value = find_adapter_type(value).key
        elif opt is UNAUTHENTICATED:
            value = {"y": "yes", "true": "yes", "1": "yes", "n": "no", "false": "no", "0": "no"}.get(value, value)
        if value not in opt.choices:
            raise ValueError(f"{opt.key}={given.get(opt.key)!r} is not one of {', '.join(opt.choices)}")
        answers[opt.key] = value
    return answers


__all__ = [
    "ADAPTER_TYPES",
    "DEFAULT_KIND",
    "KINDS",
    "AdapterMethod",
    "AdapterType",
    "Kind",
    "Option",
    "did_you_mean",
    "find",
    "find_adapter_type",
    "resolve_options",
]
