"""Out of DEBUG /metrics is served only on METRICS_HOST:METRICS_PORT (127.0.0.1), not on the application port.

In DEBUG it stays on the application port for convenience. Real parts: a baked Message Bus project, its server
as its own process (keys from Q2EXT_KEYRING), real requests to both ports.
"""

from __future__ import annotations

import json
import socket

import pytest

from q2ext import keyring, settings

from .devux_helpers import bake, free_port, fresh_env, http, start_server

PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


@pytest.fixture(scope="module")
def project(template, tmp_path_factory):
    root = tmp_path_factory.mktemp("metrics")
    return bake(template, root / "out"), fresh_env(root / "home")


@pytest.fixture(scope="module")
def production(project):
    """(server, metrics port): out of DEBUG, a free METRICS_PORT."""
    path, env = project
    metrics_port = free_port()
    keys = json.dumps(keyring.new().to_json())
    server = start_server(path, {**env, "Q2EXT_KEYRING": keys, "Q2EXT_METRICS_PORT": str(metrics_port)}, "--debug", "0")
    yield server, metrics_port
    server.stop()


def test_metrics_are_not_on_the_application_port_out_of_debug(production):
    server, _metrics_port = production

    assert server.get("/metrics").status == 404


def test_metrics_port_serves_the_servers_counters(production):
    server, metrics_port = production
    refused = http(f"{server.url}/Lowercase/message/process/sdk", method="POST", data=b"not sealed")
    assert refused.status == 400

    response = http(f"http://127.0.0.1:{metrics_port}/metrics")

    assert response.status == 200 and response.content_type == PROMETHEUS
    assert 'q2ext_refused_total{status="400",type="Lowercase"} 1' in response.text


def test_metrics_port_closes_a_connection_that_never_finishes_its_headers(project):
    path, env = project
    metrics_port = free_port()
    keys = json.dumps(keyring.new().to_json())
    settings = {"Q2EXT_KEYRING": keys, "Q2EXT_METRICS_PORT": str(metrics_port), "Q2EXT_HTTP_IDLE_TIMEOUT_SECONDS": "1"}
    server = start_server(path, {**env, **settings}, "--debug", "0")
    try:
        with socket.create_connection(("127.0.0.1", metrics_port)) as sock:
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never the blank line that ends the headers
            sock.settimeout(60)
            assert sock.recv(4096) == b""  # closed by the server, with no answer
    finally:
        server.stop()


def test_startup_says_where_the_metrics_are(production):
    server, metrics_port = production

    assert f"metrics on http://127.0.0.1:{metrics_port}/metrics (not on the application port)" in server.log


def test_metrics_stay_on_the_application_port_in_debug(project):
    server = start_server(*project)
    try:
        response = server.get("/metrics")
    finally:
        server.stop()

    assert response.status == 200 and response.content_type == PROMETHEUS


@pytest.mark.parametrize("value", ["0", ""])
def test_metrics_port_0_or_empty_turns_the_metrics_off(value):
    assert settings.load("no.such.settings", environ={"Q2EXT_METRICS_PORT": value}).METRICS_PORT == 0
