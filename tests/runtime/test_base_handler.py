"""The base handler keeps Tornado's response headers while formatting the Date once per second."""

from __future__ import annotations

import asyncio
import email.utils
import time

import tornado.httpclient
import tornado.httpserver
import tornado.web
from tornado.testing import bind_unused_port

from q2ext.handlers import base


class Hello(base.Q2BaseRequestHandler):
    def get(self) -> None:
        self.write_json({"hello": "world"})


def test_http_date_is_the_rfc_date_of_that_second():
    assert base.http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert base.http_date(86_400.7) == "Fri, 02 Jan 1970 00:00:00 GMT"


def test_http_date_without_an_argument_is_now():
    sent = email.utils.parsedate_to_datetime(base.http_date()).timestamp()
    assert abs(sent - time.time()) < 2


def test_responses_carry_date_server_and_content_type():
    async def main():
        sock, port = bind_unused_port()
        server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/", Hello)]))
        server.add_sockets([sock])
        try:
            return await tornado.httpclient.AsyncHTTPClient().fetch(f"http://127.0.0.1:{port}/")
        finally:
            server.stop()

    response = asyncio.run(main())
    assert abs(email.utils.parsedate_to_datetime(response.headers["Date"]).timestamp() - time.time()) < 5
    assert response.headers["Server"].startswith("TornadoServer/")
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
