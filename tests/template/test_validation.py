"""The answers cookiecutter accepts: names, message types, kinds and choices, each refused with its fix."""

from __future__ import annotations

import dataclasses
import json
import runpy

import pytest

import local_extensions
from q2ext import kinds, naming, settings
from q2ext.kinds import ADAPTER_TYPES, KINDS, UNAUTHENTICATED

from .conftest import ROOT

COOKIECUTTER_JSON = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
GOOD = {
    "extension_name": "AllCaps",
    "extension_kind": "message_bus",
    "message_type": "Lowercase",
    "unauthenticated": "no",
    "adapter_type": "fx_rate",
}


def refusal(check, *args) -> str:
    with pytest.raises(ValueError) as caught:
        check(*args)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("name", ["AllCaps", "SendToBus", "Fx2", "my_extension", "Email", "A"])
def test_identifier_names_are_accepted(name):
    assert naming.validate_extension_name(name) == name


def test_name_starting_with_a_digit_suggests_spelling_it_out():
    assert refusal(naming.validate_extension_name, "9Lives") == (
        "extension_name '9Lives' must start with a letter (e.g. 'NineLives')"
    )


def test_name_with_spaces_or_dashes_suggests_camel_case():
    assert "(e.g. 'AllCaps')" in refusal(naming.validate_extension_name, "all-caps")
    assert "(e.g. 'AllCaps')" in refusal(naming.validate_extension_name, "all caps")


def test_name_with_accents_suggests_plain_letters():
    assert "(e.g. 'Cafe')" in refusal(naming.validate_extension_name, "Café")


def test_keyword_is_refused():
    assert "is a Python keyword" in refusal(naming.validate_extension_name, "class")


@pytest.mark.parametrize("name", ["json", "asyncio", "sys", "email"])
def test_standard_module_names_are_refused(name):
    assert f"would shadow Python's standard module '{name}'" in refusal(naming.validate_extension_name, name)


@pytest.mark.parametrize("name", ["q2ext", "q2_sdk", "configuration", "tests", "Tests", "CONFTEST"])
def test_the_projects_own_names_are_refused_whatever_their_case(name):
    assert "would shadow the project's own" in refusal(naming.validate_extension_name, name)


@pytest.mark.parametrize("name", ["tornado", "cryptography", "aiokafka", "pytest"])
def test_dependency_names_are_refused(name):
    assert "would shadow the dependency" in refusal(naming.validate_extension_name, name)


def test_empty_and_overlong_names_are_refused():
    assert "is empty" in refusal(naming.validate_extension_name, "")
    assert "use at most 64" in refusal(naming.validate_extension_name, "A" * 65)


@pytest.mark.parametrize(
    ("message_type", "consumed"),
    [("Lowercase", "Lowercase"), ("lowercase", "Lowercase"), ("order_Created2", "Order_Created2")],
)
def test_message_types_of_letters_digits_and_underscores_are_accepted_first_letter_upper(message_type, consumed):
    assert naming.validate_message_type(message_type) == consumed


@pytest.mark.parametrize("message_type", ["low case", "9lives", "_x", "a.b", "a/b", "a'b", "", "x" * 101])
def test_other_message_types_are_refused(message_type):
    refusal(naming.validate_message_type, message_type)


def test_kind_accepts_key_menu_number_and_label():
    assert [naming.validate_kind(k) for k in ("message_bus", "9", "Message Bus")] == ["message_bus"] * 3


def test_unknown_kind_lists_every_kind():
    message = refusal(naming.validate_kind, "foo")
    assert message == f"extension_kind 'foo' is not one of {', '.join(kind.key for kind in KINDS)}"


def test_cookiecutter_takes_a_kind_by_its_menu_number_as_make_and_q2_do():
    local_extensions.check_answers({**GOOD, "extension_kind": "9"})


def test_cookiecutter_kind_choices_are_the_tables_in_order():
    assert COOKIECUTTER_JSON["extension_kind"] == [kind.key for kind in KINDS]
    assert COOKIECUTTER_JSON["extension_kind"][0] == "online"


def test_cookiecutter_kind_menu_shows_the_seeds_labels():
    prompts = COOKIECUTTER_JSON["__prompts__"]["extension_kind"]
    assert prompts["__prompt__"] == "What type of extension are you creating?"
    assert [prompts[kind.key] for kind in KINDS] == [kind.label for kind in KINDS]
    assert prompts["message_bus"] == "Message Bus" and KINDS[8].key == "message_bus"


def test_cookiecutter_adapter_choices_and_labels_are_the_tables():
    assert COOKIECUTTER_JSON["adapter_type"] == [adapter.key for adapter in ADAPTER_TYPES]
    labels = COOKIECUTTER_JSON["__prompts__"]["adapter_type"]
    assert [labels[adapter.key] for adapter in ADAPTER_TYPES] == [adapter.label for adapter in ADAPTER_TYPES]


def test_cookiecutter_unauthenticated_choices_are_the_tables():
    assert COOKIECUTTER_JSON["unauthenticated"] == list(UNAUTHENTICATED.choices)


def test_message_type_prompt_says_it_only_matters_for_message_bus():
    prompt = COOKIECUTTER_JSON["__prompts__"]["message_type"]
    assert prompt.startswith("What type of messages should this handler consume?")
    assert "Message Bus only" in prompt
    naming.validate_message_type(COOKIECUTTER_JSON["message_type"])


def test_the_default_answers_pass_the_checks():
    defaults = {k: v[0] if isinstance(v, list) and v else v for k, v in COOKIECUTTER_JSON.items()}
    local_extensions.check_answers(defaults)


def test_the_checks_run_in_the_order_of_the_questions():
    keys = list(COOKIECUTTER_JSON)
    assert keys.index("extension_name") < keys.index("__check_name") < keys.index("extension_kind")
    assert keys.index("__check_answers") == len(keys) - 1


def test_unknown_variable_is_refused_with_a_suggestion():
    message = refusal(local_extensions.refuse_keys, ["extenion_kind"])
    assert message.startswith("unknown variable 'extenion_kind' (did you mean 'extension_kind'?)")


def test_a_private_variable_set_on_the_command_line_is_refused():
    assert "'__check_name' is private to the template" in refusal(local_extensions.refuse_keys, ["__check_name"])


def test_bus_is_refused_with_the_kind_it_probably_means():
    message = refusal(local_extensions.check_answers, {**GOOD, "extension_kind": "bus"})
    assert "online, sso, ardent" in message and "(did you mean 'message_bus'?)" in message


def test_adapter_type_outside_the_choices_is_refused():
    assert "adapter_type 'fx' is not one of" in refusal(local_extensions.check_answers, {**GOOD, "adapter_type": "fx"})


def test_bad_message_type_is_refused_for_message_bus():
    refusal(local_extensions.check_answers, {**GOOD, "message_type": "low case"})


def test_message_type_does_not_get_in_the_way_of_other_kinds():
    local_extensions.check_answers({**GOOD, "extension_kind": "online", "message_type": ""})


def test_generated_settings_name_every_runtime_setting_with_its_default():
    path = ROOT / "{{cookiecutter.extension_name}}" / "configuration" / "settings.py"
    values = {k: v for k, v in runpy.run_path(str(path)).items() if k.isupper()}
    fields = {field.name for field in dataclasses.fields(settings.Settings)}
    assert set(values) == fields
    expected = dataclasses.asdict(settings.Settings())
    assert {k: v for k, v in values.items() if k != "INSTALLED_EXTENSIONS"} == {
        k: v for k, v in expected.items() if k != "INSTALLED_EXTENSIONS"
    }
    assert values["INSTALLED_EXTENSIONS"] == []


def test_generated_settings_list_installed_extensions_as_add_extension_expects():
    text = (ROOT / "{{cookiecutter.extension_name}}" / "configuration" / "settings.py").read_text()
    assert "\nINSTALLED_EXTENSIONS = [\n]\n" in text


@pytest.mark.parametrize("answer", ["9", "message_bus", "Message Bus", "base", "11", "Base Extension", "bus", "rocket"])
def test_cookiecutter_make_and_q2_accept_and_refuse_the_same_kind_names(answer):
    def outcome(check) -> str:
        try:
            return f"ok {check(answer)}"
        except ValueError as exc:
            return "refused " + str(exc).split(" is not one of ")[1]

    def cookiecutter(value):
        local_extensions.check_answers({**GOOD, "extension_kind": value})
        return kinds.find(value).key

    make = naming.validate_kind  # `make extension KIND=` -> q2ext.scaffold
    q2 = q2cli_kind  # `q2 create_extension -t`

    assert outcome(cookiecutter) == outcome(make) == outcome(q2)


def q2cli_kind(value: str) -> str:
    from q2ext import q2cli

    return q2cli.kinds.find(value, "extension type").key
