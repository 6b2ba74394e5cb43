"""The key commands a developer runs (`make keys`, `rotate-key`, `retire-key`) and the pre-commit check."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from q2ext import cli, keyring

from .conftest import RUNTIME


@pytest.fixture
def project(tmp_path):
    """An empty project folder with production settings."""
    (tmp_path / "configuration").mkdir()
    (tmp_path / "configuration" / "settings.py").write_text("DEBUG = False\n")
    return tmp_path


def q2ext(project, *args, **env):
    """Run `python -m q2ext ...` in the project, as make does."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("Q2EXT_")}
    return subprocess.run(
        [sys.executable, "-m", "q2ext", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, "PYTHONPATH": str(RUNTIME), **env},
    )


def test_keys_creates_a_ring_and_a_delivery_key_readable_only_by_the_owner(project):
    assert q2ext(project, "keys").returncode == 0
    for name in ("keyring.json", "delivery-key.json"):
        assert (project / ".q2ext" / name).stat().st_mode & 0o077 == 0
    assert not keyring.read_file(project / ".q2ext" / "keyring.json").dev


def test_keys_never_prints_key_material(project):
    done = q2ext(project, "keys")
    ring = keyring.read_file(project / ".q2ext" / "keyring.json")
    assert base64.urlsafe_b64encode(ring.active.secret).decode() not in done.stdout + done.stderr


def test_stage_then_rotate_then_retire_through_the_commands(project):
    q2ext(project, "keys")
    for args in (["rotate-key", "--stage"], ["rotate-key"], ["retire-key", "1"]):
        assert q2ext(project, *args).returncode == 0
    ring = keyring.read_file(project / ".q2ext" / "keyring.json")
    assert (sorted(ring.keys), ring.active_id, ring.retired) == (["2"], "2", ("1",))


def test_rotate_key_refuses_to_edit_the_file_when_keys_come_from_the_environment(project):
    q2ext(project, "keys")
    done = q2ext(project, "rotate-key", Q2EXT_KEYRING="{}")
    assert done.returncode == 2
    assert "keys come from Q2EXT_KEYRING" in done.stderr and "--file" in done.stderr


def test_rotate_key_edits_a_copy_given_with_file(project, tmp_path):
    copy = tmp_path / "from-vault.json"
    keyring.write_file(keyring.new(), copy)
    assert q2ext(project, "rotate-key", "--file", str(copy), Q2EXT_KEYRING="{}").returncode == 0
    assert keyring.read_file(copy).active_id == "2"


def test_retiring_the_active_key_is_one_line_that_says_what_to_do(project):
    q2ext(project, "keys")
    done = q2ext(project, "retire-key", "1")
    assert (done.returncode, done.stderr) == (2, "error: key '1' is the active key: run `make rotate-key` first\n")


@pytest.mark.parametrize(
    "content",
    [
        lambda ring: json.dumps(ring.to_json()),
        lambda ring: json.dumps({"format": "q2ext-delivery-key/1", "secret": keyring._b64(ring.delivery.secret)}),
        lambda ring: "Q2EXT_KEYRING='" + json.dumps(ring.to_json()) + "'\n",
        lambda ring: json.dumps({"env": {"Q2EXT_KEYRING": json.dumps(ring.to_json())}}),
    ],
    ids=["ring", "delivery-key", "dotenv", "escaped-in-json"],
)
def test_check_keys_fails_on_a_file_holding_key_material(tmp_path, capsys, content):
    leaked = tmp_path / "innocent.txt"
    leaked.write_text(content(keyring.new()))
    assert cli.main(["check-keys", str(leaked)]) == 1
    assert "never in git" in capsys.readouterr().err


def test_check_keys_fails_on_anything_under_the_q2ext_folder(tmp_path, capsys):
    (tmp_path / ".q2ext").mkdir()
    (tmp_path / ".q2ext" / "seen-ids.sqlite3").write_bytes(b"")
    assert cli.main(["check-keys", str(tmp_path / ".q2ext" / "seen-ids.sqlite3")]) == 1
    assert "files under .q2ext/" in capsys.readouterr().err


def test_check_keys_passes_ordinary_files(tmp_path):
    code = tmp_path / "extension.py"
    code.write_text('FORMAT = "q2ext-keyring/1"  # the name of the format is not a key\n')
    assert cli.main(["check-keys", str(code), str(tmp_path / "deleted.py")]) == 0


def test_check_keys_passes_the_security_doc_that_names_the_formats():
    doc = RUNTIME.parent / "{{cookiecutter.extension_name}}" / "SECURITY.md"
    assert "q2ext-keyring/1" in doc.read_text()
    assert cli.main(["check-keys", str(doc)]) == 0


def test_check_keys_without_arguments_checks_what_git_has_staged(project):
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (project / "notes.json").write_text(json.dumps(keyring.new().to_json()))
    subprocess.run(["git", "add", "notes.json"], cwd=project, check=True)
    done = q2ext(project, "check-keys")
    assert done.returncode == 1
    assert "notes.json: holds a q2ext key ring" in done.stderr
