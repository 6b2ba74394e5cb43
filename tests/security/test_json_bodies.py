"""Hostile JSON bodies on the Adapter and Caliper endpoints: one-line 400/413 answers, never a 500 or a traceback."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
import tornado.httpserver
import tornado.web
from tornado.testing import bind_unused_port

from q2ext import http1
from q2ext.handlers.adapter import Q2AdapterRequestHandler
from q2ext.handlers.caliper_api_custom import Q2CaliperAPICustomHandler
from q2ext.settings import Settings

NESTED = b"[" * 10000 + b"]" * 10000


class Caliper(Q2CaliperAPICustomHandler):
    async def post(self) -> None:
        self.write(self.return_data(self.request_parameters))


class Adapter(Q2AdapterRequestHandler):
    ADAPTER_TYPE = "account_details"


def post(path: str, body: bytes, debug: bool) -> tuple[int, bytes]:
    """POST to a real server with both endpoints; the status and body."""

    async def go() -> tuple[int, bytes]:
        sock, port = bind_unused_port()
        settings = Settings(DEBUG=debug, MAX_JSON_BODY_BYTES=64 * 1024)
        app = tornado.web.Application([("/caliper", Caliper), ("/adapter", Adapter)], q2ext_settings=settings)
        server = tornado.httpserver.HTTPServer(app)
        server.add_sockets([sock])
        client = http1.Client(f"http://127.0.0.1:{port}")
        try:
            answer = await client.post(path, {"Content-Type": "application/json"}, body)
            return answer.status, answer.body
        finally:
            client.close()
            server.stop()
            await server.close_all_connections()

    return asyncio.run(go())


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/caliper", "/adapter"])
def test_deeply_nested_json_is_refused_with_400_and_one_log_line(path, debug, caplog):
    caplog.set_level(logging.DEBUG)
    status, body = post(path, NESTED, debug)
    assert status == 400
    assert "nests JSON too deeply" in body.decode()
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) <= 1


@pytest.mark.parametrize("path", ["/caliper", "/adapter"])
def test_a_json_body_over_the_limit_is_refused_with_413(path):
    status, body = post(path, json.dumps({"pad": "x" * 70_000}).encode(), False)
    assert status == 413
    assert "MAX_JSON_BODY_BYTES" in body.decode()
