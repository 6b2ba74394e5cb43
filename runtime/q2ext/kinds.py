"""The 11 extension kinds as data, with adapter_types.py's table: the template, the scaffold and the tests read it.

Pure data (no imports beyond the standard library), so cookiecutter hooks can import it without the runtime's
dependencies installed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from .adapter_types import ADAPTER_TYPES, AdapterMethod, AdapterType  # noqa: F401 - kinds.AdapterType etc. stay

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
