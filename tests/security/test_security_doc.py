"""SECURITY.md: one text, the same in the template and in every baked project, and true to the defaults."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from q2ext.settings import Settings

TEMPLATE = Path(__file__).resolve().parents[2]
DOC = TEMPLATE / "{{cookiecutter.extension_name}}" / "SECURITY.md"


def test_baked_project_carries_the_security_doc_unchanged(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            str(TEMPLATE),
            "-o",
            str(tmp_path),
            "extension_name=AllCaps",
            "extension_kind=message_bus",
            "message_type=Lowercase",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert (tmp_path / "AllCaps" / "SECURITY.md").read_text() == DOC.read_text()


def test_template_root_points_to_the_projects_security_doc():
    assert "{{cookiecutter.extension_name}}/SECURITY.md" in (TEMPLATE / "SECURITY.md").read_text()


def test_security_doc_states_the_default_windows_and_bounds():
    text, cfg = DOC.read_text(), Settings()
    assert f"{cfg.DELIVERY_TOLERANCE_SECONDS} s" in text
    assert f"{cfg.MAX_MESSAGE_AGE_SECONDS // 86400} days" in text
    assert f"{cfg.SEEN_IDS_MAX:,} ids" in text
    assert f"{cfg.SEEN_IDS_LEASE_SECONDS} s (`SEEN_IDS_LEASE_SECONDS`)" in text  # a crashed process's claims
    assert f"{cfg.UNKNOWN_KEY_GRACE_SECONDS} s (`UNKNOWN_KEY_GRACE_SECONDS`)" in text


def test_security_doc_states_the_http_edge_limits_and_their_defaults():
    text, cfg = DOC.read_text(), Settings()
    for name in ("HTTP_IDLE_TIMEOUT_SECONDS", "HTTP_BODY_TIMEOUT_SECONDS", "MAX_CONNECTIONS", "MAX_JSON_BODY_BYTES"):
        assert f"`{name}`" in text, name
    assert f"| {cfg.HTTP_IDLE_TIMEOUT_SECONDS} s | `HTTP_IDLE_TIMEOUT_SECONDS`" in text
    assert f"| {cfg.HTTP_BODY_TIMEOUT_SECONDS} s | `HTTP_BODY_TIMEOUT_SECONDS`" in text
    assert f"| {cfg.MAX_CONNECTIONS:,}," in text
    assert f"| {cfg.MAX_JSON_BODY_BYTES // 1024 // 1024} MiB | `MAX_JSON_BODY_BYTES`" in text
    assert "What a sender without a key can still cost" in text
