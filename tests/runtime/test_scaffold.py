"""add_extension: renders one package per kind, registers it, and writes nothing when it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from q2ext import scaffold

SEED_EXTENSION = '''"""
AllCaps Extension
"""

from q2_sdk.core.http_handlers.message_bus_handler import Q2MessageBusRequestHandler
from q2_sdk.core.message_bus import Message


class AllCapsHandler(Q2MessageBusRequestHandler):
    MESSAGE_TYPE = 'Lowercase'

    async def handle(self, message: Message):
        """
        This is the hook where you can put your handling logic.

        message.text contains the message body posted from the bus.
        """

        pass
'''
SEED_URLS = """from tornado.web import url
from .extension import AllCapsHandler

# url('/regex_pattern', HandlerClass, kwargs=None, name=None)
# http://www.tornadoweb.org/en/stable/web.html?#tornado.web.URLSpec

URL_PATTERNS = [
    url(r'/AllCaps/?',
        AllCapsHandler),
    url(r'/Lowercase/message/process/sdk',
        AllCapsHandler),
]
"""


def snapshot(project: Path) -> dict[str, bytes]:
    return {str(p.relative_to(project)): p.read_bytes() for p in sorted(project.rglob("*")) if p.is_file()}


def test_message_bus_extension_is_the_seeds_word_for_word(project):
    package = scaffold.add_extension(project, "AllCaps", "message_bus", message_type="Lowercase")

    assert (package / "extension.py").read_text() == SEED_EXTENSION
    assert (package / "urls.py").read_text() == SEED_URLS


def test_the_seeds_answer_lowercase_gives_the_seeds_lowercase_type_and_route(project):
    package = scaffold.add_extension(project, "AllCaps", "message_bus", message_type="lowercase")

    assert (package / "extension.py").read_text() == SEED_EXTENSION
    assert (package / "urls.py").read_text() == SEED_URLS


def test_only_the_first_letter_of_the_type_is_upper_cased(project):
    package = scaffold.add_extension(project, "Orders", "message_bus", message_type="orderPlaced")

    assert "MESSAGE_TYPE = 'OrderPlaced'" in (package / "extension.py").read_text()


@pytest.mark.parametrize("second", ["lowercase", "Lowercase", "LOWERCASE"])
def test_a_second_consumer_of_a_type_is_refused_and_nothing_written(project, second):
    scaffold.add_extension(project, "AllCaps", "message_bus", message_type="Lowercase")
    before = snapshot(project)

    with pytest.raises(ValueError, match=r"^AllCaps already consumes 'Lowercase' messages: one type has one handler"):
        scaffold.add_extension(project, "Shouting", "message_bus", message_type=second)

    assert snapshot(project) == before


def test_extension_is_registered_as_the_last_installed_one(project):
    scaffold.add_extension(project, "AllCaps", "9", message_type="Lowercase")
    scaffold.add_extension(project, "SendToBus", "base")

    settings = (project / "configuration" / "settings.py").read_text()
    assert 'INSTALLED_EXTENSIONS = [\n    "AllCaps",\n    "SendToBus",\n]\n' in settings


def test_html_kind_gets_templates_and_a_test_named_after_it(project):
    package = scaffold.add_extension(project, "AccountDashboard", "online")

    assert sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()) == [
        "__init__.py",
        "extension.py",
        "templates/index.html.jinja2",
        "tests/__init__.py",
        "tests/test_accountdashboard.py",
        "urls.py",
    ]


def test_base_extension_has_no_templates_folder(project):
    package = scaffold.add_extension(project, "SendToBus", "base")

    assert not (package / "templates").exists()


def test_unauthenticated_option_sets_the_class_attribute(project):
    package = scaffold.add_extension(project, "RateSheet", "online", options={"unauthenticated": "yes"})

    assert "IS_UNAUTHENTICATED = True" in (package / "extension.py").read_text()


def test_adapter_type_option_generates_its_methods(project):
    package = scaffold.add_extension(project, "ConvertToDollars", "adapter", options={"adapter_type": "fx_rate"})

    source = (package / "extension.py").read_text()
    for signature in (
        # Q2's FX Rates tutorial, word for word
        "async def get_fx_quote(self, currency_code, amount, group_id) -> FxRateQuoteReply:",
        "async def book_fx_quote(self, currency_code, amount, group_id) -> FxRateExchangeDealReply:",
        "async def cancel_fx_quote(self, currency_code, amount, group_id) -> FxRateExchangeDealReply:",
    ):
        assert signature in source


@pytest.mark.parametrize(
    ("name", "kind", "message_type", "options", "error"),
    [
        ("9Lives", "base", None, None, "must start with a letter"),
        ("AllCaps", "rocket", None, None, "is not one of"),
        ("AllCaps", "bus", None, None, "did you mean .message_bus."),
        ("AllCaps", "message_bus", None, None, "needs a message type"),
        ("AllCaps", "message_bus", "lower case", None, "message_type 'lower case'"),
        ("AllCaps", "base", None, {"adapter_type": "fx_rate"}, "does not apply"),
        ("AllCaps", "adapter", None, {"adapter_type": "teleport"}, "unknown adapter type"),
        ("tests", "base", None, None, "would shadow"),
    ],
)
def test_refused_answer_writes_nothing(project, name, kind, message_type, options, error):
    before = snapshot(project)

    with pytest.raises(ValueError, match=error):
        scaffold.add_extension(project, name, kind, message_type=message_type, options=options)

    assert snapshot(project) == before


def test_existing_folder_is_refused_and_left_alone(project):
    (project / "Taken").mkdir()
    before = snapshot(project)

    with pytest.raises(ValueError, match="already exists"):
        scaffold.add_extension(project, "Taken", "base")

    assert snapshot(project) == before


def test_already_installed_name_is_refused(project):
    settings = project / "configuration" / "settings.py"
    settings.write_text('INSTALLED_EXTENSIONS = [\n    "Elsewhere",\n]\n')

    with pytest.raises(ValueError, match="already in INSTALLED_EXTENSIONS"):
        scaffold.add_extension(project, "Elsewhere", "base")

    assert not (project / "Elsewhere").exists()


def test_settings_without_a_multiline_list_is_refused_with_the_expected_shape(project):
    (project / "configuration" / "settings.py").write_text('INSTALLED_EXTENSIONS = ["AllCaps"]\n')

    with pytest.raises(ValueError, match="one name per line"):
        scaffold.add_extension(project, "SendToBus", "base")

    assert not (project / "SendToBus").exists()


def test_registering_after_an_entry_without_a_comma_keeps_names_apart():
    text = 'INSTALLED_EXTENSIONS = [\n    "AllCaps"\n]\n'

    assert scaffold.register(text, "SendToBus") == 'INSTALLED_EXTENSIONS = [\n    "AllCaps",\n    "SendToBus",\n]\n'
