"""Batch delivery: several sealed messages in one POST, each with the guarantees of a single one."""

from __future__ import annotations

import json
import urllib.request

from q2ext import batch, delivery, envelope


def sealed(svc, text: str, attempt: int = 1, order: str | None = None) -> tuple[dict, bytes]:
    """A batch record: the sealed headers, this attempt's number and its ordering key, if any (the batch's one
    signature covers them)."""
    msg = envelope.seal(text, "Lowercase", svc.ring.active)
    extra = {"q2msg-order": order} if order is not None else {}
    return {**msg.headers, "q2msg-attempt": str(attempt), **extra}, msg.body


def post_batch(base: str, records, svc) -> dict:
    body = batch.encode(records)
    req = urllib.request.Request(
        base + "/Lowercase/message/process/sdk",
        data=body,
        headers=delivery.sign_batch(body, svc.ring.delivery),
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def test_batch_round_trips_its_records():
    records = [({"a": "1", "q2msg-id": "x"}, b"\x00body"), ({}, b"")]
    assert batch.decode(batch.encode(records)) == [({"a": "1", "q2msg-id": "x"}, b"\x00body"), ({}, b"")]


def test_every_record_of_a_batch_is_handled_once_in_order(handler_server):
    base, svc = handler_server
    answer = post_batch(base, [sealed(svc, f"m{i}") for i in range(5)], svc)
    assert [r["status"] for r in answer["results"]] == [200] * 5
    assert [m.text for m in svc.handled] == [f"m{i}" for i in range(5)]


def test_a_forged_record_is_refused_and_the_rest_still_delivered(handler_server):
    base, svc = handler_server
    good, forged = sealed(svc, "good"), sealed(svc, "forged")
    forged = (forged[0], forged[1][:-1] + bytes([forged[1][-1] ^ 1]))
    answer = post_batch(base, [forged, good], svc)
    assert [r["status"] for r in answer["results"]] == [401, 200]
    assert [m.text for m in svc.handled] == ["good"]


def test_records_after_a_failed_handle_wait_for_the_retry(handler_server):
    base, svc = handler_server
    answer = post_batch(base, [sealed(svc, "first"), sealed(svc, "fail now"), sealed(svc, "after")], svc)
    assert [r["status"] for r in answer["results"]] == [200, 500, 503]
    assert [m.text for m in svc.handled] == ["first"]


def test_a_failure_holds_back_only_the_later_records_of_its_ordering_key(handler_server):
    base, svc = handler_server
    texts = [("0", "a1"), ("0", "fail a2"), ("1", "b1"), ("0", "a3"), ("1", "b2")]
    answer = post_batch(base, [sealed(svc, text, order=order) for order, text in texts], svc)
    assert [r["status"] for r in answer["results"]] == [200, 500, 200, 503, 200]
    assert answer["results"][3]["attempted"] is False
    assert sorted(m.text for m in svc.handled) == ["a1", "b1", "b2"]


def test_records_of_different_ordering_keys_are_handled_side_by_side(handler_server):
    base, svc = handler_server
    answer = post_batch(base, [sealed(svc, "wait:b1", order="0"), sealed(svc, "b1", order="1")], svc)
    assert [r["status"] for r in answer["results"]] == [200, 200]  # one after the other, the first would wait in vain


def test_a_redelivered_batch_is_acknowledged_without_handling_again(handler_server):
    base, svc = handler_server
    records = [sealed(svc, "once")]
    post_batch(base, records, svc)
    again = post_batch(base, [({**records[0][0], "q2msg-attempt": "2"}, records[0][1])], svc)
    assert again["results"][0]["duplicate"] is True
    assert [m.text for m in svc.handled] == ["once"]


def test_a_truncated_batch_is_refused_with_400(handler_server):
    base, svc = handler_server
    body = batch.encode([sealed(svc, "cut")])[:-3]
    headers = delivery.sign_batch(body, svc.ring.delivery)
    req = urllib.request.Request(base + "/Lowercase/message/process/sdk", data=body, headers=headers, method="POST")
    try:
        urllib.request.urlopen(req, timeout=10)
        status = 200
    except urllib.error.HTTPError as exc:
        status = exc.code
    assert status == 400
    assert svc.handled == []
