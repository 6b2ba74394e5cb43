"""Refusals must cost a sender without a key little: one HMAC per batch, a few log lines per flood, and
attacker-chosen strings never written raw into a log line."""

from __future__ import annotations

import http.client
import logging
import os
import socket

import pytest

from q2ext import batch, delivery, envelope, keyring
from q2ext.logs import Throttle, escape

from .conftest import PATH

RECORDS = 10_000


def forged_records(count: int) -> list[tuple[dict[str, str], bytes]]:
    """count records that look sealed but are not: what anyone can write to a topic."""
    out = []
    for i in range(count):
        msg_id = f"forged-{i}"
        headers = {
            "q2msg-type": "sdk-generic.Lowercase",
            "q2msg-hmac": "A" * 43 + "=",
            "q2msg-gitrev": "-",
            "q2msg-version": "1.0.0",
            "q2msg-envstack": "-",
            "q2msg-cryptokey": "1",
            "q2msg-id": msg_id,
            "q2msg-timestamp": "1700000000000",
            "q2msg-attempt": "1",
        }
        out.append((headers, os.urandom(200)))
    return out


@pytest.fixture
def mac_calls(monkeypatch) -> list[int]:
    """Counts every HMAC any key computes in this process (the test server runs in a thread of it)."""
    calls = [0]
    original = keyring.Key.mac

    def counting(self, *parts: bytes) -> bytes:
        calls[0] += 1
        return original(self, *parts)

    monkeypatch.setattr(keyring.Key, "mac", counting)
    return calls


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("extension")]


def test_a_forged_10000_record_batch_costs_one_hmac_and_one_log_line(handler, mac_calls, quiet_caplog):
    body = batch.encode(forged_records(RECORDS))
    assert len(body) > 2_000_000
    forged = delivery.sign_batch(body, keyring.new().delivery)  # signed, but not with this handler's delivery key
    forged["q2msg-delivery-key"] = handler.services.ring.delivery.id
    mac_calls[0] = 0
    status, answer = handler.post(forged, body)
    assert status == 401 and answer["error"] == "batch delivery signature mismatch"
    assert mac_calls[0] == 1
    assert len(warnings_of(quiet_caplog)) == 1


def test_an_unsigned_batch_is_refused_before_any_hmac(handler, mac_calls, quiet_caplog):
    body = batch.encode(forged_records(RECORDS))
    mac_calls[0] = 0
    status, _ = handler.post({"Content-Type": batch.CONTENT_TYPE}, body)
    assert status == 400
    assert mac_calls[0] == 0
    assert len(warnings_of(quiet_caplog)) == 1


def test_a_version_1_batch_is_refused_with_415(handler):
    status, answer = handler.post({"Content-Type": "application/vnd.q2ext.batch+v1"}, b"")
    assert status == 415 and "upgrade the relay" in answer["error"]


def test_a_relayed_batch_of_10000_forged_records_logs_a_few_lines_not_10000(handler, quiet_caplog):
    body = batch.encode(forged_records(RECORDS))
    status, answer = handler.post(delivery.sign_batch(body, handler.services.ring.delivery), body)
    assert status == 200 and {r["status"] for r in answer["results"]} == {401}
    assert len(warnings_of(quiet_caplog)) <= 6


def test_refusals_past_the_burst_are_counted_per_reason_and_said_once_per_interval(caplog):
    now = [100.0]
    throttle = Throttle(logging.getLogger("extension.test"), every_s=10, burst=5, clock=lambda: now[0])
    caplog.set_level(logging.WARNING)
    for i in range(1000):
        throttle.warning("refused message %s: %s (%d)", f"id-{i}", f"hmac mismatch for key '{i % 3}'", 401)
    assert len(caplog.records) == 5
    now[0] += 10
    throttle.warning("refused message %s: %s (%d)", "late", "unknown key '9'", 401)
    summary = caplog.records[5].getMessage()
    assert "995 more" in summary and "995 x refused message id-…: hmac mismatch for key … (…)" in summary
    assert len(caplog.records) == 7


def test_an_escape_or_cr_in_a_batch_record_id_is_escaped_in_the_refusal_log(handler, quiet_caplog):
    [(headers, body)] = forged_records(1)
    headers["q2msg-id"] = "evil\x1b[2J\rforged INFO all good"
    data = batch.encode([(headers, body)])
    status, answer = handler.post(delivery.sign_batch(data, handler.services.ring.delivery), data)
    assert status == 200 and answer["results"][0]["status"] == 400
    [line] = warnings_of(quiet_caplog)
    assert "\x1b" not in line and "\r" not in line
    assert "evil\\x1b[2J\\x0dforged" in line


def test_escape_leaves_plain_text_alone_and_escapes_control_and_format_characters():
    assert escape("msg-1 ok") == "msg-1 ok"
    assert escape("a\nb\x00c\u202ed") == "a\\x0ab\\x00c\\u202ed"


def raw_post(port: int, head_lines: list[str], body: bytes) -> bytes:
    """POST with exactly these header lines (http.client cannot send a header twice)."""
    head = "\r\n".join([f"POST {PATH} HTTP/1.1", "Host: x", f"Content-Length: {len(body)}", *head_lines])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode() + b"\r\n\r\n" + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
    return answer


def test_a_delivery_repeating_an_envelope_header_is_refused_with_400(handler, seal):
    sealed = seal()
    signed = delivery.sign(sealed.headers, handler.services.ring.delivery)
    lines = [f"{name}: {value}" for name, value in signed.items()] + ["q2msg-id: another-id"]
    answer = raw_post(handler.port, lines, sealed.body)
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"header q2msg-id given more than once" in answer
    assert handler.services.handled == []


def test_a_delivery_repeating_another_header_is_still_handled(handler, seal):
    sealed = seal()
    signed = delivery.sign(sealed.headers, handler.services.ring.delivery)
    lines = [f"{name}: {value}" for name, value in signed.items()] + ["Accept: a", "Accept: b"]
    assert raw_post(handler.port, lines, sealed.body).startswith(b"HTTP/1.1 200")


def test_a_batch_record_repeating_a_header_is_refused_whole(handler):
    [(headers, body)] = forged_records(1)
    block = "".join(f"{n}:{v}\n" for n, v in headers.items()) + "q2msg-id:again\n"
    data = len(block).to_bytes(4, "big") + block.encode() + len(body).to_bytes(4, "big") + body
    status, answer = handler.post(delivery.sign_batch(data, handler.services.ring.delivery), data)
    assert status == 400 and "repeats header 'q2msg-id'" in answer["error"]


def test_envelope_open_is_not_what_refuses_a_forged_batch(handler, monkeypatch):
    """The batch signature is checked first: not one record is opened."""
    opened = []
    monkeypatch.setattr(envelope, "open", lambda *a, **k: opened.append(1))
    body = batch.encode(forged_records(100))
    status, _ = handler.post({**delivery.sign_batch(body, keyring.new().delivery), "q2msg-delivery-key": "d1"}, body)
    assert status == 401 and opened == []


def test_a_flood_of_forged_deliveries_writes_a_few_log_lines_not_one_per_request(spawn, seal):
    server = spawn()
    sealed = seal()
    forged = delivery.sign(sealed.headers, keyring.new().delivery)
    forged["q2msg-delivery-key"] = "d1"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        for _ in range(300):
            conn.request("POST", PATH, body=sealed.body, headers=forged)
            response = conn.getresponse()
            response.read()
            assert response.status == 401
    finally:
        conn.close()
    log = server.stop()
    assert len([line for line in log.splitlines() if "401" in line]) <= 12, log[-3000:]
