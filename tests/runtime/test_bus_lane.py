"""The bus lane answers a bus POST exactly as Tornado's full path would, and only takes routes it can serve."""

from __future__ import annotations

import asyncio

import pytest
import tornado.httpclient
import tornado.httpserver
import tornado.web
from tornado.testing import bind_unused_port

from q2ext import bus_lane, delivery, envelope, keyring, services
from q2ext.handlers.message_bus import Q2MessageBusRequestHandler
from q2ext.settings import Settings
from q2ext.testing import RecordingServices

BUS_PATH = "/Lowercase/message/process/sdk"


class Recorder(Q2MessageBusRequestHandler):
    MESSAGE_TYPE = "Lowercase"
    texts: list[str] = []

    async def handle(self, message):
        Recorder.texts.append(message.text)

    def get(self) -> None:
        self.write_json({"page": "yes"})


class Guarded(Recorder):
    async def prepare(self) -> None:
        raise tornado.web.HTTPError(403, reason="guarded")


class Greedy(tornado.web.RequestHandler):
    def post(self, _path: str) -> None:
        self.finish({"greedy": True})


@pytest.fixture
def svc(tmp_path) -> services.Services:
    cfg = Settings(DEBUG=True, DEV_KEYRING_FILE=str(tmp_path / "ring.json"), KEYRING_FILE=str(tmp_path / "none"))
    Recorder.texts = []
    return RecordingServices(settings=cfg, ring=keyring.new(dev=True), seen=services.make_seen(cfg))


def lanes(routes: list, **settings) -> dict:
    return bus_lane.Application(routes, **settings).bus_lanes


def sealed(svc: services.Services, text: str = "hello", forged: bool = False) -> tuple[dict[str, str], bytes]:
    message = envelope.seal(text, "Lowercase", svc.ring.active)
    headers = delivery.sign(message.headers, svc.ring.delivery)
    if forged:
        headers["q2msg-hmac"] = "A" * 44
    return headers, message.body


def post_to(app: tornado.web.Application, method: str, headers: dict[str, str], body: bytes | None):
    """One real HTTP request to the app on a loopback port; the response, whatever its status."""

    async def main():
        sock, port = bind_unused_port()
        server = tornado.httpserver.HTTPServer(app)
        server.add_sockets([sock])
        try:
            return await tornado.httpclient.AsyncHTTPClient().fetch(
                f"http://127.0.0.1:{port}{BUS_PATH}", method=method, headers=headers, body=body, raise_error=False
            )
        finally:
            server.stop()

    return asyncio.run(main())


def both_paths(svc, routes=None):
    routes = routes or [(BUS_PATH, Recorder)]
    return bus_lane.Application(routes, q2ext_services=svc), tornado.web.Application(routes, q2ext_services=svc)


def test_a_literal_bus_route_of_a_bus_handler_takes_the_lane():
    assert lanes([(BUS_PATH, Recorder)]) == {BUS_PATH: (Recorder, {})}


def test_a_handler_with_its_own_prepare_keeps_tornados_path():
    assert lanes([(BUS_PATH, Guarded)]) == {}


def test_a_route_that_is_a_regex_keeps_tornados_path():
    assert lanes([(r"/(Lowercase)/message/process/sdk", Recorder)]) == {}


def test_an_earlier_route_matching_the_same_path_keeps_tornados_path():
    assert lanes([(r"/(.*)", Greedy), (BUS_PATH, Recorder)]) == {}


def test_compressed_responses_keep_tornados_path():
    assert lanes([(BUS_PATH, Recorder)], compress_response=True) == {}


def test_cross_origin_protection_keeps_tornados_path():
    assert lanes([(BUS_PATH, Recorder)], cross_origin_protection=True) == {}


def test_a_delivery_through_the_lane_is_handled_and_answered_like_tornado(svc):
    lane, full = both_paths(svc)
    answers = [post_to(app, "POST", *sealed(svc, f"text {n}")) for n, app in enumerate((lane, full))]
    assert Recorder.texts == ["text 0", "text 1"]
    assert [a.code for a in answers] == [200, 200]
    for name in ("Content-Type", "Server"):
        assert answers[0].headers[name] == answers[1].headers[name]
    assert answers[0].headers["Content-Length"] == str(len(answers[0].body))
    assert set(tornado.escape.json_decode(answers[0].body)) == set(tornado.escape.json_decode(answers[1].body))


def test_a_forged_delivery_is_refused_the_same_way_on_both_paths(svc):
    lane, full = both_paths(svc)
    answers = [post_to(app, "POST", *sealed(svc, forged=True)) for app in (lane, full)]
    assert [a.code for a in answers] == [401, 401]
    assert answers[0].headers["q2msg-refused"] == answers[1].headers["q2msg-refused"]
    assert Recorder.texts == []


def test_an_error_outside_handle_answers_500_through_the_lane(svc, monkeypatch):
    def broken(_msg_id):
        raise OSError("disk gone")

    monkeypatch.setattr(svc.seen, "claim_soon", broken)
    lane, _ = both_paths(svc)
    answer = post_to(lane, "POST", *sealed(svc))
    assert answer.code == 500
    assert tornado.escape.json_decode(answer.body)["status"] == 500
    assert Recorder.texts == []


def test_other_verbs_on_the_bus_path_go_to_the_handlers_methods(svc):
    lane, _ = both_paths(svc)
    answer = post_to(lane, "GET", {}, None)
    assert answer.code == 200
    assert tornado.escape.json_decode(answer.body) == {"page": "yes"}


def test_the_lane_turns_itself_off_on_a_tornado_release_it_was_not_tested_with_saying_so_once(monkeypatch, caplog):
    monkeypatch.setattr(bus_lane, "TESTED_TORNADO", frozenset({(5, 1)}))
    monkeypatch.setattr(bus_lane, "_said_off", [])
    caplog.set_level("WARNING", logger="q2ext.server")
    assert lanes([(BUS_PATH, Recorder)]) == {} and lanes([(BUS_PATH, Recorder)]) == {}
    said = [r.getMessage() for r in caplog.records if "bus lane off" in r.getMessage()]
    assert len(said) == 1 and "take Tornado's full path" in said[0]


def test_q2ext_bus_lane_0_turns_the_lane_off(monkeypatch):
    monkeypatch.setenv(bus_lane.ENV_SWITCH, "0")
    assert lanes([(BUS_PATH, Recorder)]) == {}
