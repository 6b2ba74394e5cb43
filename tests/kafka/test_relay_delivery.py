"""The relay's guarantees, each against the real broker, a real handler server and a real relay process."""

from __future__ import annotations

import signal

from kafka_helpers import (
    committed_and_end,
    keys_on_distinct_partitions,
    keys_on_one_partition,
    push_all,
    wait_for,
)


def routes(handler) -> dict[str, str]:
    return {handler.type: handler.url}


def test_every_message_is_handled_once_although_the_relay_is_killed_mid_stream(broker, ring, handler, relays):
    ids = push_all(broker.bootstrap, ring, handler.type, [f"m{i}" for i in range(5000)])
    first = relays(broker.bootstrap, routes(handler), group="g-kill-" + handler.type)
    wait_for(lambda: len(handler.calls) >= 1500, "the first 1,500 messages", timeout=60)
    first.signal(signal.SIGKILL)
    first.wait()
    relays(broker.bootstrap, routes(handler), group="g-kill-" + handler.type)
    wait_for(lambda: len(handler.services.handled) >= 5000, "all 5,000 messages", timeout=120)
    handled = [call_id for call_id, *_ in handler.calls]
    assert sorted(handled) == sorted(ids)  # every message, and handle() saw each one once


def test_messages_with_one_key_reach_handle_in_push_order_even_across_retries(broker, ring, handler, relays):
    texts = [f"{key}-{i}" if (key, i) != ("a", 3) else "fail2:a-3" for i in range(8) for key in "abc"]
    keys = [text[-3] if text.startswith("fail") else text[0] for text in texts]
    push_all(broker.bootstrap, ring, handler.type, texts, keys, one_by_one=True)
    relays(broker.bootstrap, routes(handler))
    wait_for(lambda: len(handler.services.handled) == len(texts), "every message handled")
    handled = [m.text for m in handler.services.handled]
    for key in "abc":
        assert [t for t in handled if t.endswith(tuple(f"{key}-{i}" for i in range(8)))] == [
            t for t in texts if t.endswith(tuple(f"{key}-{i}" for i in range(8)))
        ]
    assert handler.texts().count("fail2:a-3") == 3  # two failed attempts, then handled


def test_a_slow_partition_does_not_hold_up_the_others(broker, ring, handler, relays):
    slow_key, other_key = keys_on_distinct_partitions(2)
    push_all(broker.bootstrap, ring, handler.type, ["block:slow"], [slow_key])
    relays(broker.bootstrap, routes(handler))
    wait_for(handler.blocked.is_set, "the slow message to be in handle()")
    push_all(broker.bootstrap, ring, handler.type, [f"quick-{i}" for i in range(5)], [other_key] * 5)
    wait_for(lambda: len(handler.services.handled) == 5, "the other partition's messages")
    handler.release.set()
    wait_for(lambda: len(handler.services.handled) == 6, "the slow message")
    assert [m.text for m in handler.services.handled][-1] == "block:slow"


def test_a_slow_key_does_not_hold_up_other_keys_of_its_partition(broker, ring, handler, relays):
    slow_key, *other_keys = keys_on_one_partition(4)
    push_all(broker.bootstrap, ring, handler.type, ["block:slow", "slow-next"], [slow_key] * 2, one_by_one=True)
    push_all(broker.bootstrap, ring, handler.type, ["a", "b", "c"], other_keys, one_by_one=True)
    relays(broker.bootstrap, routes(handler))
    wait_for(lambda: sorted(handler.texts()) == ["a", "b", "block:slow", "c"], "the other keys while one is blocked")
    handler.release.set()
    wait_for(lambda: "slow-next" in handler.texts(), "the slow key's next message, after the first")
    texts = handler.texts()
    assert texts.index("block:slow") < texts.index("slow-next")


def test_with_max_in_flight_1_a_partition_is_delivered_strictly_one_at_a_time(broker, ring, handler, relays):
    slow_key, other_key = keys_on_one_partition(2)
    push_all(broker.bootstrap, ring, handler.type, ["block:slow", "other"], [slow_key, other_key], one_by_one=True)
    relays(broker.bootstrap, routes(handler), "--max-in-flight", "1")
    wait_for(handler.blocked.is_set, "the slow message to be in handle()")
    assert "other" not in handler.texts()
    handler.release.set()
    wait_for(lambda: handler.texts() == ["block:slow", "other"], "both, in offset order")


def test_a_handler_that_is_down_and_comes_back_loses_nothing(broker, ring, handler, relays):
    relay = relays(broker.bootstrap, routes(handler), "--retry-for", "0")
    push_all(broker.bootstrap, ring, handler.type, ["before"])
    wait_for(lambda: len(handler.services.handled) == 1, "the first message")
    handler.stop()
    push_all(broker.bootstrap, ring, handler.type, [f"during-{i}" for i in range(20)])
    wait_for(lambda: "cannot connect" in relay.log(), "the relay to report the refused connection")
    wait_for(lambda: relay.metric("q2ext_relay_retried_total") >= 5, "several retries while the handler is down")
    handler.start()
    wait_for(lambda: len(handler.services.handled) == 21, "the messages pushed while the handler was down")
    assert sorted(m.text for m in handler.services.handled[1:]) == sorted(f"during-{i}" for i in range(20))


def test_retry_later_is_retried_no_sooner_than_its_retry_after(broker, ring, handler, relays):
    push_all(broker.bootstrap, ring, handler.type, ["later1:please"])
    relays(broker.bootstrap, routes(handler))
    wait_for(lambda: len(handler.services.handled) == 1, "the retried message")
    first, second = (int(headers["q2msg-delivery-timestamp"]) for *_, headers in handler.calls)
    assert second - first >= 1000  # the relay's backoff alone would be 25-100 ms here


def test_sigterm_finishes_the_delivery_in_flight_commits_and_exits_0(broker, ring, handler, relays):
    push_all(broker.bootstrap, ring, handler.type, [f"m{i}" for i in range(10)] + ["block:last"], [b"k"] * 11)
    relay = relays(broker.bootstrap, routes(handler), group="g-term-" + handler.type)
    wait_for(handler.blocked.is_set, "the last message to be in handle()")
    relay.signal(signal.SIGTERM)
    wait_for(lambda: "finishing 1 delivery(ies) in flight" in relay.log(), "the relay to take the SIGTERM")
    handler.release.set()
    assert relay.wait() == 0
    committed, ends = committed_and_end(broker.bootstrap, "g-term-" + handler.type, f"sdk-generic.{handler.type}")
    assert committed == ends
    assert len(handler.calls) == 11


def test_relays_in_one_group_share_partitions_and_a_stopped_one_hands_its_over(broker, ring, handler, relays):
    group = "g-share-" + handler.type
    first = relays(broker.bootstrap, routes(handler), group=group)
    first.wait_assigned(4)
    second = relays(broker.bootstrap, routes(handler), group=group)
    wait_for(lambda: len(first.partitions()) == 2 and len(second.partitions()) == 2, "a 2 + 2 split")
    assert sorted(first.partitions() + second.partitions()) == [f"sdk-generic.{handler.type}:{p}" for p in range(4)]
    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    second.wait_assigned(4)
    push_all(broker.bootstrap, ring, handler.type, [f"m{i}" for i in range(20)], [f"k{i}" for i in range(20)])
    wait_for(lambda: len(handler.services.handled) == 20, "every message through the remaining relay")


def test_the_relay_reports_a_lost_broker_and_delivers_again_when_it_is_back(own_broker, ring, handler, relays):
    from q2ext import broker as broker_mod

    topics = [f"sdk-generic.{handler.type}", f"sdk-generic.{handler.type}.dlq"]
    broker_mod.create_topics_sync(own_broker.bootstrap, topics)
    relay = relays(own_broker.bootstrap, routes(handler))
    relay.wait_assigned()
    own_broker.kill()
    wait_for(lambda: relay.health()[0] == 503, "/health to answer 503")
    assert "is unreachable" in relay.log()
    own_broker.start()  # same port; this broker keeps no data across restarts, so topics come again
    broker_mod.create_topics_sync(own_broker.bootstrap, topics)
    wait_for(lambda: relay.health()[0] == 200, "/health to answer 200 again")
    push_all(own_broker.bootstrap, ring, handler.type, ["after the outage"])
    wait_for(lambda: len(handler.services.handled) == 1, "delivery after the outage", timeout=60)


def test_metrics_show_delivered_lag_and_latency(broker, ring, handler, relays):
    relay = relays(broker.bootstrap, routes(handler))
    push_all(broker.bootstrap, ring, handler.type, ["one", "two", "three"])
    wait_for(lambda: relay.metric("q2ext_relay_delivered_total") == 3, "three deliveries on /metrics")
    assert relay.metric("q2ext_relay_delivery_latency_seconds_count") == 3
    assert relay.metric("q2ext_relay_consumer_lag") == 0
    assert relay.metric("q2ext_relay_in_flight") == 0


def test_the_relay_logs_a_progress_line_a_person_can_read(broker, ring, handler, relays):
    relay = relays(broker.bootstrap, routes(handler))
    push_all(broker.bootstrap, ring, handler.type, ["one", "two"])
    line = wait_for(
        lambda: next((ln for ln in relay.log().splitlines() if "relay: 2 delivered" in ln), None), "a progress line"
    )
    assert "lag 0" in line and "retried 0" in line and "dead-lettered 0" in line
