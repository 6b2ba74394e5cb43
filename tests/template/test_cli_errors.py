"""A bad answer stops cookiecutter with one line that says the fix: no traceback, no folder left behind.

Through the real `cookiecutter` CLI (a subprocess), the Python API and pytest-cookies. Which names and types
are refused, and the wording, is test_validation.py's; here it is how a refusal reaches the user.
"""

from __future__ import annotations

import pytest
from cookiecutter.main import cookiecutter

GOOD = ("extension_name=AllCaps", "extension_kind=message_bus", "message_type=Lowercase")


def refused(bake_cli, *answers: str) -> str:
    """The one line cookiecutter printed for these answers, after checking it made nothing."""
    result, out = bake_cli(*answers)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert list(out.iterdir()) == []
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("9Lives", "must start with a letter (e.g. 'NineLives')"),
        ("json", "would shadow Python's standard module 'json'"),
    ],
)
def test_bad_extension_name_is_one_line_and_no_folder(bake_cli, name, says):
    line = refused(bake_cli, f"extension_name={name}", "extension_kind=base")
    assert line.startswith("error: extension_name") and says in line


def test_shell_metacharacters_in_a_name_are_refused_not_run(bake_cli, tmp_path):
    line = refused(bake_cli, 'extension_name=x"; touch pwned; "', "extension_kind=base")
    assert "may contain only letters" in line
    assert not list(tmp_path.rglob("pwned"))


def test_bad_message_type_is_one_line_and_no_folder(bake_cli):
    line = refused(bake_cli, "extension_name=AllCaps", "extension_kind=message_bus", "message_type=low case")
    assert line.startswith("error: message_type 'low case' may contain only letters, digits and underscores")


def test_invalid_kind_lists_the_choices_instead_of_a_traceback(bake_cli):
    line = refused(bake_cli, "extension_name=AllCaps", "extension_kind=foo")
    assert line.startswith("error: extension_kind 'foo' is not one of online, sso, ardent, q2console, central")


def test_kind_given_as_menu_number_is_taken_as_make_and_q2_take_it(bake_cli):
    result, out = bake_cli("extension_name=AllCaps", "extension_kind=9", "message_type=lowercase")

    assert result.returncode == 0, result.stderr
    assert "MESSAGE_TYPE = 'Lowercase'" in (out / "AllCaps" / "AllCaps" / "extension.py").read_text()


def test_bus_as_a_kind_is_refused_with_the_kind_it_probably_means(bake_cli):
    assert "(did you mean 'message_bus'?)" in refused(bake_cli, "extension_name=AllCaps", "extension_kind=bus")


def test_invalid_adapter_type_lists_the_choices(bake_cli):
    line = refused(bake_cli, "extension_name=Fx", "extension_kind=adapter", "adapter_type=fx")
    assert "adapter_type 'fx' is not one of account_details" in line and "(did you mean 'fx_rate'?)" in line


def test_unknown_key_is_refused_with_a_suggestion(bake_cli):
    line = refused(bake_cli, "extension_name=AllCaps", "extenion_kind=message_bus")
    assert line.startswith("error: unknown variable 'extenion_kind' (did you mean 'extension_kind'?)")


def test_good_answers_bake_the_seeds_command(bake_cli):
    result, out = bake_cli(*GOOD)
    assert result.returncode == 0, result.stderr
    assert (out / "AllCaps" / "AllCaps" / "extension.py").is_file()
    assert "cd AllCaps" in result.stdout and "make run" in result.stdout


def test_a_refused_bake_leaves_nothing_in_the_temp_folder(bake_cli, tmp_path):
    refused(bake_cli, "extension_name=9Lives", "extension_kind=base")
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_good_bake_leaves_nothing_in_the_temp_folder(bake_cli, tmp_path):
    result, _ = bake_cli(*GOOD)
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "tmp").iterdir()) == []


def test_python_api_stops_with_one_line_and_no_folder(template, cookiecutter_config, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        cookiecutter(
            str(template),
            no_input=True,
            extra_context={"extension_name": "9Lives"},
            output_dir=str(tmp_path),
            config_file=str(cookiecutter_config),
        )
    assert stopped.value.code == 1
    assert (
        capsys.readouterr().err.strip() == "error: extension_name '9Lives' must start with a letter (e.g. 'NineLives')"
    )
    assert list(tmp_path.iterdir()) == []


def test_pytest_cookies_reports_the_refusal_as_exit_code_1(cookies, template):
    result = cookies.bake(extra_context={"extension_name": "class"}, template=str(template))
    assert result.exit_code == 1
    assert result.project_path is None


def test_switching_a_check_off_from_the_command_line_is_refused(bake_cli):
    line = refused(bake_cli, "extension_name=a/b", "extension_kind=base", "__check_name=off", "__check_answers=off")
    assert line.startswith("error: '__check_name' is private to the template")
