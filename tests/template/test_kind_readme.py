"""Each kind's project README explains that kind (from the kinds table and one fragment per kind)."""

from __future__ import annotations

import pytest

from q2ext import readme
from q2ext.kinds import KINDS

# What a user of each kind needs first, as the fragment must say it.
MUST_SAY = {
    "online": ("?q2token=", "401", "IS_UNAUTHENTICATED"),
    "adapter": ('"request"', "required", "400 naming the field"),
    "message_bus": ("/Lowercase/message/process/sdk",),
    "sso": ("Q2SSOResponse(response_type, response, success=True",),
    "audit_action": ("audit_id", "self.audit_details"),
    "caliper_api_custom_endpoint": ("*args, **kwargs", "return_data"),
}


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.key)
def test_every_kind_has_its_own_section_with_the_extension_filled_in(kind):
    section = readme.kind_section(kind.key, "MyExt", "lowercase", "fx_rate")

    assert section.startswith(f"## Your first extension: MyExt, {kind.label}\n\n{kind.summary}")
    assert "{name}" not in section and "{message_type}" not in section
    assert all(words in section for words in MUST_SAY.get(kind.key, ()))


def test_adapter_section_names_its_adapter_type_and_methods():
    section = readme.kind_section("adapter", "ConvertToDollars", adapter_type="fx_rate")

    assert "Its adapter type is FX Rate" in section and "`get_fx_quote()`" in section


@pytest.mark.parametrize(
    ("answers", "heading"),
    [
        (["extension_name=Page", "extension_kind=online"], "## Your first extension: Page, Online (default)"),
        (["extension_name=Fx", "extension_kind=6", "adapter_type=fx_rate"], "## Your first extension: Fx, Adapter"),
    ],
    ids=["online", "adapter"],
)
def test_baked_readme_explains_the_kind_not_the_message_bus_tutorial(bake_cli, answers, heading):
    result, out = bake_cli(*answers)
    assert result.returncode == 0, result.stderr
    text = (out / answers[0].split("=")[1] / "README.md").read_text()

    assert heading in text
    assert "Message Bus tutorial" not in text and "bus.push(" not in text and "HELLO WORLD" not in text
    assert "## The `q2` command" in text and ". .venv/bin/activate" in text


def test_baked_message_bus_readme_keeps_the_tutorial(bake_cli):
    result, out = bake_cli("extension_name=AllCaps", "extension_kind=message_bus", "message_type=lowercase")
    assert result.returncode == 0, result.stderr
    text = (out / "AllCaps" / "README.md").read_text()

    assert "## Your first extension: AllCaps, Message Bus" in text and "`/Lowercase/message/process/sdk`" in text
    assert "## The Message Bus tutorial, on this project" in text


def test_online_readme_example_test_carries_a_session(bake_cli):
    result, out = bake_cli("extension_name=Page", "extension_kind=online")
    assert result.returncode == 0, result.stderr

    assert 'client.get("/Page?q2token=alice").status == 200' in (out / "Page" / "README.md").read_text()
