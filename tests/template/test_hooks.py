"""What the hooks do, one function at a time (the hook scripts only call these)."""

from __future__ import annotations

import subprocess
import sys
import tempfile

import pytest

import local_extensions
import q2ext_bake as bake

PYTHON = "/usr/bin/python3"


def test_cookiecutter_console_script_arguments_are_found():
    argv = [PYTHON, "/venv/bin/cookiecutter", "gh:org/q2ext", "--no-input", "extension_name=AllCaps"]
    assert bake.cookiecutter_args(argv) == ["gh:org/q2ext", "--no-input", "extension_name=AllCaps"]


def test_python_dash_m_cookiecutter_arguments_are_found():
    assert bake.cookiecutter_args([PYTHON, "-m", "cookiecutter", "tpl", "a=b"]) == ["tpl", "a=b"]


def test_other_programs_are_left_alone():
    assert bake.cookiecutter_args([PYTHON, "-m", "pytest", "a=b"]) is None
    assert bake.cookiecutter_args(None) is None


def test_command_line_answers_are_read_as_cookiecutter_reads_them():
    args = ["tpl", "--no-input", "-o", "out=dir", "extension_name=AllCaps", "--checkout", "v1", "extension_kind=foo"]
    assert bake.command_line_answers(args) == {"extension_name": "AllCaps", "extension_kind": "foo"}


def test_an_unreadable_command_line_gives_no_answers():
    assert bake.command_line_answers(["tpl", "--no-such-flag", "x=y"]) == {}


def test_a_choice_outside_its_list_is_appended_for_the_filter_to_refuse():
    context = {"extension_kind": ["online", "base"]}
    assert bake.let_answers_through(context, {"extension_kind": "foo"})
    assert context["extension_kind"] == ["online", "base", "foo"]


def refused_keys_check(context: dict) -> tuple[list, str]:
    """The refused keys and the check that reads them, which let_answers_through puts first."""
    first, second = list(context)[:2]
    return context[first], context[second]


def test_an_unknown_key_is_checked_before_any_question():
    context = {"extension_name": "X"}
    assert bake.let_answers_through(context, {"extenion_kind": "base"})
    keys, check = refused_keys_check(context)
    assert keys == ["extenion_kind"] and "q2ext_refuse_keys" in check


def test_a_private_key_from_the_command_line_is_refused_not_applied():
    context = {"extension_name": "X", "__check_name": "{{ cookiecutter.extension_name | q2ext_check_name }}"}
    assert bake.let_answers_through(context, {"__check_name": "off"})
    assert refused_keys_check(context)[0] == ["__check_name"]


def test_the_refused_keys_variable_cannot_be_guessed():
    names = set()
    for _ in range(2):
        context = {"extension_name": "X"}
        bake.let_answers_through(context, {"typo": "1"})
        names.add(list(context)[0])
    assert len(names) == 2


def test_good_answers_change_nothing():
    context = {"extension_name": "X", "extension_kind": ["online", "base"]}
    assert not bake.let_answers_through(context, {"extension_name": "AllCaps", "extension_kind": "base"})
    assert context == {"extension_name": "X", "extension_kind": ["online", "base"]}


def test_context_file_is_rewritten_only_for_a_cookiecutter_command_line(tmp_path):
    context_file = tmp_path / "cookiecutter.json"
    context_file.write_text('{"extension_kind": ["online"]}')
    assert not bake.prepare_context_file(context_file, [PYTHON, "-m", "pytest", "extension_kind=foo"])
    assert bake.prepare_context_file(context_file, [PYTHON, "-m", "cookiecutter", "tpl", "extension_kind=foo"])
    assert '"foo"' in context_file.read_text()


def test_parent_argv_reads_a_process_command_line():
    code = "import time; print('running', flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code, "q2ext-marker"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "running\n"  # exec'd: before that /proc shows the forked parent's
        assert bake.parent_argv(child.pid)[-2:] == [code, "q2ext-marker"]
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


def test_remote_template_source_is_kept_as_given(tmp_path):
    for url in ("gh:org/q2ext", "https://example.invalid/q2ext.git", "git@example.invalid:org/q2ext.git"):
        assert bake.template_source(url, tmp_path, {}) == url


def test_local_template_source_is_made_absolute_from_the_shells_folder(tmp_path):
    (tmp_path / "q2ext").mkdir()
    (tmp_path / "q2ext" / "cookiecutter.json").write_text("{}")
    assert bake.template_source("q2ext", tmp_path / "copy", {"PWD": str(tmp_path)}) == str(tmp_path / "q2ext")


def test_missing_template_source_falls_back_to_the_template_folder(tmp_path):
    assert bake.template_source(None, tmp_path, {}) == str(tmp_path)


def test_git_commit_of_a_checkout_is_its_head(tmp_path):
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert bake.git_commit(tmp_path) == head


def test_git_commit_of_a_plain_folder_is_none(tmp_path):
    assert bake.git_commit(tmp_path) is None


def test_cruft_state_records_template_commit_and_answers():
    state = bake.cruft_state({"extension_name": "AllCaps"}, "/t", "abc", None)
    assert (state["template"], state["commit"], state["checkout"], state["directory"]) == ("/t", "abc", None, None)
    assert state["context"]["cookiecutter"]["extension_name"] == "AllCaps"
    assert state["context"]["cookiecutter"]["_template"] == "/t"


def test_empty_folders_are_removed_and_others_kept(tmp_path):
    (tmp_path / "empty" / "inner").mkdir(parents=True)
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "file.py").write_text("")
    bake.remove_empty_dirs(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]


def test_a_marked_copy_in_a_cookiecutter_temp_folder_is_removed_at_exit(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    copy = tmp_path / "cookiecutterab1_x9yz" / "q2ext"
    copy.mkdir(parents=True)
    (copy / bake.TEMPORARY_COPY_MARK).touch()
    monkeypatch.setattr(local_extensions, "_copies", set())
    assert local_extensions.remove_at_exit(copy)
    local_extensions._remove_copies()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("folder", ["cookiecutterab1_x9yz", "cookiecutter-templates"])
def test_a_template_folder_without_the_mark_is_never_removed(tmp_path, monkeypatch, folder):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    template = tmp_path / folder / "q2ext"
    template.mkdir(parents=True)
    if folder == "cookiecutter-templates":  # marked, but not a folder cookiecutter made
        (template / bake.TEMPORARY_COPY_MARK).touch()
    assert not local_extensions.remove_at_exit(template)


def test_pre_prompt_marks_the_copy_with_the_name_local_extensions_looks_for():
    assert local_extensions.TEMPORARY_COPY_MARK == bake.TEMPORARY_COPY_MARK
