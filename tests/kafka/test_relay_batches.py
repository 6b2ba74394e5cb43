"""Adaptive delivery (`relay --max-batch N`, `--batch N` its other spelling): several records per POST, each with
the guarantees of one; and both delivery modes across rebalances."""

from __future__ import annotations

import signal

import pytest
from kafka_helpers import push_all, read_topic, wait_for


def routes(handler) -> dict[str, str]:
    return {handler.type: handler.url}


def test_batched_records_are_each_handled_once_in_key_order_even_across_retries(broker, ring, handler, relays):
    texts = [f"{key}-{i}" if (key, i) != ("b", 7) else "fail2:b-7" for i in range(40) for key in "abc"]
    keys = [text.split(":")[-1][0] for text in texts]
    push_all(broker.bootstrap, ring, handler.type, texts, keys)
    relays(broker.bootstrap, routes(handler), "--batch", "25", "--min-backoff", "0.05")
    wait_for(lambda: len(handler.services.handled) == len(texts), "every message handled")
    handled = [m.text for m in handler.services.handled]
    assert sorted(handled) == sorted(texts)
    for key in "abc":
        mine = [t for t in texts if t.split(":")[-1].startswith(key)]
        assert [t for t in handled if t.split(":")[-1].startswith(key)] == mine
    assert handler.texts().count("fail2:b-7") == 3  # two failed attempts, then handled


def test_a_dead_letter_inside_a_batch_leaves_the_rest_of_the_batch_delivered(broker, ring, handler, relays):
    texts = ["one", "dead:not wanted", "three", "four"]
    push_all(broker.bootstrap, ring, handler.type, texts, [b"k"] * len(texts))
    relay = relays(broker.bootstrap, routes(handler), "--batch", "10")
    wait_for(lambda: len(handler.services.handled) == 3, "the three good messages")
    assert [m.text for m in handler.services.handled] == ["one", "three", "four"]
    letters = wait_for(lambda: read_topic(broker.bootstrap, f"sdk-generic.{handler.type}.dlq"), "the dead letter")
    assert [dict((k, v.decode()) for k, v in r.headers)["q2msg-dlq-status"] for r in letters] == ["422"]
    assert relay.metric("q2ext_relay_delivered_total") == 3


def test_a_batch_size_below_one_is_refused_with_one_line(broker, ring, handler, relays):
    relay = relays(broker.bootstrap, routes(handler), "--batch", "0")
    assert relay.wait() != 0
    assert "--max-batch must be 1" in relay.log()


@pytest.mark.parametrize("mode", [["--batch", "10"], ["--max-batch", "1"]], ids=["batches", "by-key"])
def test_key_order_and_handle_once_hold_while_relays_join_and_leave(broker, ring, handler, relays, mode):

    keys = [f"k{i}".encode() for i in range(12)]
    texts = [f"k{i % 12}:{i // 12}" for i in range(480)]
    push_all(broker.bootstrap, ring, handler.type, texts, [keys[i % 12] for i in range(480)], one_by_one=True)
    group = "g-batch-rebalance-" + handler.type
    first = relays(broker.bootstrap, routes(handler), *mode, group=group)
    wait_for(lambda: len(handler.services.handled) >= 60, "the first relay to deliver")
    relays(broker.bootstrap, routes(handler), *mode, group=group)  # joins: partitions move
    wait_for(lambda: len(handler.services.handled) >= 200, "delivery to go on")
    first.signal(signal.SIGTERM)  # leaves: its partitions move again
    wait_for(lambda: len(handler.services.handled) == len(texts), "every message handled", timeout=90)
    handled = [m.text for m in handler.services.handled]
    assert sorted(handled) == sorted(texts)  # each exactly once
    for key in range(12):
        seqs = [int(t.split(":")[1]) for t in handled if t.startswith(f"k{key}:")]
        assert seqs == sorted(seqs), f"key k{key} out of order: {seqs}"
