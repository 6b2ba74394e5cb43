"""GET / in DEBUG lists the installed extensions (name, kind, URLs; a Message Bus one's type and bus endpoint).

HTML for a browser, JSON for `Accept: application/json`. Out of DEBUG / is 404 and names nothing. Real parts:
a baked project grown with the CLI, its server as its own process, real GETs.
"""

from __future__ import annotations

import json

import pytest

from q2ext import keyring

from .devux_helpers import bake, fresh_env, q2ext, start_server

ADDED = [("SendToBus", "base"), ("Checks", "custom_health_check")]


@pytest.fixture(scope="module")
def project(template, tmp_path_factory):
    root = tmp_path_factory.mktemp("index")
    path, env = bake(template, root / "out"), fresh_env(root / "home")
    for name, kind in ADDED:
        added = q2ext(path, "extension", name, "--kind", kind, env=env)
        assert added.returncode == 0, added.stderr
    return path, env


@pytest.fixture(scope="module")
def debug_server(project):
    server = start_server(*project)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def production_server(project):
    path, env = project
    server = start_server(path, {**env, "Q2EXT_KEYRING": json.dumps(keyring.new().to_json())}, "--debug", "0")
    yield server
    server.stop()


def listed(server) -> dict[str, dict]:
    response = server.get("/", Accept="application/json")
    assert response.status == 200 and response.content_type.startswith("application/json")
    return {entry["name"]: entry for entry in response.json()["extensions"]}


def test_index_lists_every_installed_extension_in_order_with_its_kind(debug_server):
    extensions = listed(debug_server)

    assert list(extensions) == ["AllCaps", "SendToBus", "Checks"]
    assert [e["kind"] for e in extensions.values()] == ["message_bus", "base", "custom_health_check"]


def test_index_gives_each_extensions_urls(debug_server):
    extensions = listed(debug_server)

    assert extensions["SendToBus"]["urls"] == [f"{debug_server.url}/SendToBus"]
    assert extensions["AllCaps"]["urls"] == [f"{debug_server.url}/AllCaps"]


def test_index_gives_a_message_bus_extensions_type_and_bus_endpoint(debug_server):
    allcaps = listed(debug_server)["AllCaps"]

    assert allcaps["message_types"] == ["Lowercase"]
    assert allcaps["bus_endpoints"] == [f"{debug_server.url}/Lowercase/message/process/sdk"]


def test_index_is_an_html_page_for_a_browser(debug_server):
    response = debug_server.get("/", Accept="text/html,application/xhtml+xml")

    assert response.status == 200 and response.content_type.startswith("text/html")
    assert f'<a href="{debug_server.url}/SendToBus">' in response.text
    assert f"POST {debug_server.url}/Lowercase/message/process/sdk" in response.text
    assert "<td>Message Bus</td>" in response.text


def test_startup_names_the_index_as_the_next_step(debug_server):
    assert f"the extensions and their URLs are listed at http://127.0.0.1:{debug_server.port}/" in debug_server.log


def test_root_is_404_out_of_debug_and_names_no_extension(production_server):
    for accept in ("text/html", "application/json"):
        response = production_server.get("/", Accept=accept)
        assert response.status == 404
        assert "AllCaps" not in response.text and "SendToBus" not in response.text


def test_unknown_bus_path_out_of_debug_does_not_list_the_consumed_types(production_server):
    response = production_server.get("/Nobody/message/process/sdk")

    assert response.status == 404
    assert "Lowercase" not in response.text and "consumes" not in response.text
