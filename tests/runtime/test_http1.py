"""The relay's lean HTTP/1.1 client against a real Tornado server on loopback."""

from __future__ import annotations

import asyncio

import pytest
import tornado.httpserver
import tornado.web
from tornado.testing import bind_unused_port

from q2ext import http1

WAIT_S = 60.0  # a generous deadline for what must happen; never a stand-in for it


class Echo(tornado.web.RequestHandler):
    async def post(self) -> None:
        if self.get_argument("close", None):
            self.set_header("Connection", "close")
        if self.get_argument("slow", None):  # answer only when the test is over: later than any client timeout
            self.settings["arrived"].set()
            await self.settings["release"].wait()
        self.set_status(int(self.get_argument("status", "200")))
        self.finish({"got": self.request.body.decode(), "h": self.request.headers.get("X-Q2", "")})

    def get(self) -> None:
        self.finish({"got": "GET"})

    def check_xsrf_cookie(self) -> None:
        """No cookies here."""


class Connections(list):
    """The TCP connections the server accepted, and the server (a test may close them)."""

    server: tornado.httpserver.HTTPServer
    arrived: asyncio.Event  # a slow request reached the handler


def serve(coro_fn):
    """Run coro_fn(base_url, connections) with a Tornado app on a free port, counting TCP connections."""

    async def main():
        sock, port = bind_unused_port()
        connections = Connections()
        release, connections.arrived = asyncio.Event(), asyncio.Event()

        class Counting(tornado.httpserver.HTTPServer):
            def handle_stream(self, stream, address):
                connections.append(1)
                return super().handle_stream(stream, address)

        app = tornado.web.Application([(r"/echo", Echo)], arrived=connections.arrived, release=release)
        server = connections.server = Counting(app)
        server.add_sockets([sock])
        try:
            return await coro_fn(f"http://127.0.0.1:{port}", connections)
        finally:
            release.set()
            server.stop()
            await server.close_all_connections()

    return asyncio.run(main())


def test_a_post_returns_status_headers_and_body():
    async def go(base, _):
        client = http1.Client(base)
        response = await client.post("/echo", {"X-Q2": "yes"}, b"hello")
        client.close()
        return response

    response = serve(go)
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.body == b'{"got": "hello", "h": "yes"}'


def test_a_get_returns_the_body_on_the_kept_alive_connection():
    async def go(base, connections):
        client = http1.Client(base)
        answers = [await client.get("/echo"), await client.post("/echo", {}, b"x")]
        client.close()
        return answers, len(connections)

    (got, posted), connections = serve(go)
    assert (got.status, got.body, posted.status, connections) == (200, b'{"got": "GET"}', 200, 1)


def test_successive_posts_reuse_one_kept_alive_connection():
    async def go(base, connections):
        client = http1.Client(base)
        for i in range(20):
            assert (await client.post("/echo", {}, str(i).encode())).status == 200
        client.close()
        return len(connections)

    assert serve(go) == 1


def test_an_idle_connection_the_server_closed_is_replaced_without_an_error():
    async def go(base, connections):
        client = http1.Client(base)
        await client.post("/echo", {}, b"1")
        await connections.server.close_all_connections()  # as an idle timeout would: the kept one is closed
        response = await client.post("/echo", {}, b"2")
        client.close()
        return response.status, len(connections)

    assert serve(go) == (200, 2)


def test_connection_close_from_the_server_is_honoured():
    async def go(base, connections):
        client = http1.Client(base)
        await client.post("/echo?close=1", {}, b"1")
        await client.post("/echo", {}, b"2")
        client.close()
        return len(connections)

    assert serve(go) == 2


def test_an_error_status_is_an_answer_not_an_exception():
    async def go(base, _):
        client = http1.Client(base)
        response = await client.post("/echo?status=503", {}, b"")
        client.close()
        return response.status

    assert serve(go) == 503


def test_no_answer_within_the_timeout_raises_timeout():
    async def go(base, _):
        client = http1.Client(base, timeout=0.2)
        started = asyncio.get_running_loop().time()
        with pytest.raises(asyncio.TimeoutError):
            await client.post("/echo?slow=1", {}, b"")
        return asyncio.get_running_loop().time() - started

    assert 0.2 <= serve(go) < WAIT_S  # never before the deadline; after it, whenever the (loaded) machine gets to it


def test_a_timed_out_connection_is_not_reused_for_the_next_post():
    async def go(base, connections):
        client = http1.Client(base, timeout=0.2)
        with pytest.raises(asyncio.TimeoutError):
            await client.post("/echo?slow=1", {}, b"late")
        response = await client.post("/echo", {}, b"next")
        client.close()
        return response.body, len(connections)

    body, connections = serve(go)
    assert b'"got": "next"' in body and connections == 2


def test_a_refused_connection_raises_oserror():
    async def go():
        sock, port = bind_unused_port()
        sock.close()
        with pytest.raises(OSError):
            await http1.Client(f"http://127.0.0.1:{port}").post("/x", {}, b"")

    asyncio.run(go())


def send_and_collect(client: http1.Client, path: str, body: bytes) -> asyncio.Future:
    """client.send() with a callback that records every call it gets; resolves at the first."""
    calls: list = []
    first = asyncio.get_running_loop().create_future()

    def done(result) -> None:
        calls.append(result)
        if not first.done():
            first.set_result(calls)

    client.send(path, {}, body, done)
    return first


def test_send_hands_the_response_to_its_callback_once():
    async def go(base, _):
        client = http1.Client(base)
        calls = await send_and_collect(client, "/echo", b"cb")
        await client.post("/echo", {}, b"after")  # a whole round trip later: a second call would have landed
        client.close()
        return calls

    calls = serve(go)
    assert len(calls) == 1 and calls[0].status == 200 and b'"got": "cb"' in calls[0].body


def test_send_reuses_the_connection_the_callback_gave_back():
    async def go(base, connections):
        client = http1.Client(base)
        for i in range(5):
            assert (await send_and_collect(client, "/echo", str(i).encode()))[0].status == 200
        client.close()
        return len(connections)

    assert serve(go) == 1


def test_send_hands_a_refused_connection_to_its_callback():
    async def go():
        sock, port = bind_unused_port()
        sock.close()
        return await send_and_collect(http1.Client(f"http://127.0.0.1:{port}"), "/x", b"")

    calls = asyncio.run(go())
    assert len(calls) == 1 and isinstance(calls[0], OSError)


def test_a_callback_that_raises_is_logged_and_the_client_goes_on(caplog):
    async def go(base, connections):
        client = http1.Client(base)
        called = asyncio.Event()

        def boom(_result) -> None:
            called.set()
            raise ZeroDivisionError

        client.send("/echo", {}, b"boom", boom)
        await asyncio.wait_for(called.wait(), WAIT_S)
        response = await client.post("/echo", {}, b"after")
        client.close()
        return response, len(connections)

    response, connections = serve(go)
    assert response.status == 200 and connections == 1
    assert "a callback of the HTTP client raised" in caplog.text


def test_a_cancelled_post_closes_its_connection():
    async def go(base, connections):
        client = http1.Client(base)
        task = asyncio.ensure_future(client.post("/echo?slow=1", {}, b""))
        await asyncio.wait_for(connections.arrived.wait(), WAIT_S)  # the request is at the server, unanswered
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        response = await client.post("/echo", {}, b"next")
        client.close()
        return response.status, len(connections)

    assert serve(go) == (200, 2)


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "nul\x00", "caf\u00e9"])
def test_a_header_value_that_could_split_the_request_is_refused(value):
    with pytest.raises(ValueError, match="not a valid HTTP header"):
        http1.check_header("q2msg-id", value)


def test_a_header_name_that_is_not_a_token_is_refused():
    with pytest.raises(ValueError):
        http1.check_header("bad name:", "x")


@pytest.mark.parametrize(
    "headers",
    [
        {"q2msg-id": "a", "q2msg-type": "b\r\nX-Injected: 1", "q2msg-hmac": "c"},
        {"q2msg-id": "a", "bad name": "b", "q2msg-hmac": "c"},
        {"q2msg-id": "a", "tab\tname": "b"},
        {"q2msg-id": "caf\u00e9"},
    ],
)
def test_check_headers_finds_the_one_bad_header_among_good_ones(headers):
    with pytest.raises(ValueError, match="not a valid HTTP header"):
        http1.check_headers(headers)


def test_check_headers_accepts_sealed_message_headers():
    http1.check_headers({"q2msg-id": "id-1", "q2msg-hmac": "ab+/=", "q2msg-type": "sdk-generic.Lowercase", "X": ""})
