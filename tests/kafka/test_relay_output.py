"""What the relay prints: its own lines (aiokafka's chatter only at LOG=DEBUG), errors said once, a true lag."""

from __future__ import annotations

import re

from kafka_helpers import broker_mod, push_all, wait_for

from q2ext.logs import describe

RETRIED = re.compile(r"relay: 0 delivered .*, lag (\d+), in flight \d+, retried (\d+),")


def test_the_relay_prints_no_aiokafka_info_lines_unless_log_is_debug(broker, ring, handler, relays):
    relay = relays(broker.bootstrap, {handler.type: handler.url})
    relay.wait_assigned()
    push_all(broker.bootstrap, ring, handler.type, ["hello"])
    wait_for(lambda: "relay: 1 delivered" in relay.log(), "a progress line")
    lines = relay.log().splitlines()
    assert any(" q2ext.relay " in line for line in lines)
    assert [line for line in lines if " aiokafka" in line and " INFO " in line] == []


def test_the_relay_prints_aiokafka_info_lines_at_log_debug(broker, handler, relays):
    relay = relays(broker.bootstrap, {handler.type: handler.url}, "--log", "DEBUG")
    relay.wait_assigned()
    wait_for(
        lambda: [ln for ln in relay.log().splitlines() if " aiokafka" in ln and " INFO " in ln], "aiokafka INFO lines"
    )


def test_an_unreachable_broker_is_reported_with_the_errors_class_name_once(tmp_path, relays):
    nobody = f"127.0.0.1:{broker_mod.free_port()}"
    relay = relays(nobody, {"Lowercase": "http://127.0.0.1:9/Lowercase/message/process/sdk"})
    line = wait_for(
        lambda: next((ln for ln in relay.log().splitlines() if "unreachable" in ln), None), "the unreachable line"
    )
    assert "KafkaConnectionError: " in line
    assert "KafkaConnectionError: KafkaConnectionError" not in relay.log()


def test_an_error_whose_text_starts_with_its_class_name_is_described_once():
    from aiokafka.errors import KafkaConnectionError

    assert describe(KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 9)]")) == (
        "KafkaConnectionError: Unable to bootstrap from [('127.0.0.1', 9)]"
    )
    assert describe(OSError("connection refused")) == "OSError: connection refused"
    assert describe(TimeoutError()) == "TimeoutError"


def test_the_progress_line_counts_a_record_being_retried_in_its_lag_as_metrics_does(broker, ring, handler, relays):
    relay = relays(broker.bootstrap, {handler.type: handler.url})
    push_all(broker.bootstrap, ring, handler.type, ["fail999:always"])

    def lines_while_retrying() -> list[str]:
        found = (RETRIED.search(line) for line in relay.log().splitlines())
        return [m.group(0) for m in found if m and int(m.group(2)) > 0]

    # Waited for, not asserted at one moment: a rebalance of the group would show no partition, so lag 0, for a while.
    wait_for(lambda: any(", lag 1," in line for line in lines_while_retrying()), "a summary with lag 1 while retrying")
    wait_for(lambda: relay.metric("q2ext_relay_consumer_lag") == 1, "/metrics to say lag 1 too")
