"""The kinds table: the seed's menu, in order, with base classes that import from their q2_sdk paths."""

from __future__ import annotations

import importlib
import inspect

import pytest

from q2ext import kinds, typed
from q2ext.handlers.adapter import Q2AdapterRequestHandler

SEED_MENU = [
    "Online (default)",
    "SSO (Third Party Integration)",
    "Ardent (API)",
    "Q2Console (Backoffice)",
    "Central (Legacy Backoffice)",
    "Adapter",
    "Audit Action",
    "Custom Health Check",
    "Message Bus",
    "Caliper API Custom Endpoint",
    "Base Extension",
]
ADAPTER_MENU = [
    "Account Details",
    "Authentication Token",
    "Check Image",
    "Domestic Wire",
    "Deposit Item Image",
    "External Authentication",
    "FX Rate",
    "Instant Payments",
    "International Wire",
    "Remote Deposit",
    "Statement Image",
]


def test_kinds_are_the_seed_menu_in_order():
    assert [k.label for k in kinds.KINDS] == SEED_MENU
    assert kinds.KINDS[0].key == kinds.DEFAULT_KIND == "online"


def test_number_nine_picks_message_bus():
    assert kinds.find("9").key == "message_bus"


@pytest.mark.parametrize("name", ["message_bus", "Message-Bus", " MESSAGE BUS ", "9"])
def test_message_bus_is_found_by_key_label_or_number(name):
    assert kinds.find(name).key == "message_bus"


def test_every_name_of_a_kind_belongs_to_that_kind_only():
    names = [name for kind in kinds.KINDS for name in kind.names]
    assert len(names) == len(set(names))


def test_unknown_kind_error_lists_the_choices():
    with pytest.raises(ValueError, match=r"extension_kind 'rocket' is not one of online, sso, .*, base$"):
        kinds.find("rocket")


def test_bus_is_refused_with_a_did_you_mean():
    with pytest.raises(ValueError, match=r"extension_kind 'bus' is not one of .*base \(did you mean 'message_bus'\?\)"):
        kinds.find("bus")


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.key)
def test_each_kind_is_found_by_its_key_number_and_label(kind):
    assert {kinds.find(n).key for n in (kind.key, str(kind.number), kind.label.split("(")[0])} == {kind.key}


def test_names_are_the_key_the_number_and_the_label_words():
    assert kinds.find("base").names == ("base", "11", "base_extension")
    assert kinds.find("sso").names == ("sso", "2")


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.key)
def test_base_class_imports_from_its_sdk_path(kind):
    assert inspect.isclass(getattr(importlib.import_module(kind.base_module), kind.base_class))


def test_only_message_bus_needs_a_message_type():
    assert [k.key for k in kinds.KINDS if k.needs_message_type] == ["message_bus"]


def test_html_kinds_keep_templates_and_the_others_do_not():
    html = [k.key for k in kinds.KINDS if "templates/index.html.jinja2" in k.files]
    assert html == ["online", "sso", "q2console", "central"]


def test_online_asks_unauthenticated_and_adapter_asks_the_type():
    assert kinds.find("online").option("unauthenticated").choices == ("no", "yes")
    assert kinds.find("adapter").option("adapter_type").choices == tuple(t.key for t in kinds.ADAPTER_TYPES)


def test_adapter_types_are_the_seed_menu_in_order():
    assert [t.label for t in kinds.ADAPTER_TYPES] == ADAPTER_MENU


def test_fx_rate_generates_quote_book_and_cancel():
    fx = kinds.find_adapter_type("FX Rate")
    assert [m.name for m in fx.methods] == ["get_fx_quote", "book_fx_quote", "cancel_fx_quote"]


@pytest.mark.parametrize("adapter", kinds.ADAPTER_TYPES, ids=lambda t: t.key)
def test_adapter_type_module_has_its_base_class_types_and_example_requests(adapter):
    module = importlib.import_module(adapter.module)
    base = getattr(module, adapter.base_class)
    assert issubclass(base, Q2AdapterRequestHandler)
    assert adapter.key == base.ADAPTER_TYPE
    assert all(inspect.isclass(getattr(module, name)) for name in adapter.type_names)
    assert set(module.EXAMPLE_REQUESTS) == {m.name for m in adapter.methods}
    for method in adapter.methods:
        typed.from_json(getattr(module, method.request), module.EXAMPLE_REQUESTS[method.name])


def test_options_get_their_defaults():
    assert kinds.resolve_options(kinds.find("online"), None) == {"unauthenticated": "no"}
    assert kinds.resolve_options(kinds.find("adapter"), {}) == {"adapter_type": "account_details"}


def test_adapter_type_option_accepts_the_menu_number():
    assert kinds.resolve_options(kinds.find("adapter"), {"adapter_type": "7"}) == {"adapter_type": "fx_rate"}


def test_option_of_another_kind_is_refused():
    with pytest.raises(ValueError, match="does not apply to Base Extension"):
        kinds.resolve_options(kinds.find("base"), {"adapter_type": "fx_rate"})
