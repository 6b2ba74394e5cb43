"""The local broker: starts on a free port, answers Kafka requests, refuses a taken port clearly."""

from __future__ import annotations

import pytest

from q2ext import broker as broker_mod


def test_the_local_broker_answers_kafka_api_versions(broker):
    assert broker_mod.answers_kafka(broker.host, broker.port)


def test_a_stopped_broker_no_longer_answers():
    running = broker_mod.Broker().start()
    running.stop()
    assert not broker_mod.answers_kafka(running.host, running.port)


def test_a_taken_port_is_refused_with_an_error_that_names_it(broker):
    with pytest.raises(broker_mod.BrokerError, match=rf"port {broker.port} is taken"):
        broker_mod.Broker(broker.port).start()


def test_creating_an_existing_topic_is_fine(broker):
    assert broker_mod.create_topics_sync(broker.bootstrap, ["sdk-generic.Existing"]) == ["sdk-generic.Existing"]
    assert broker_mod.create_topics_sync(broker.bootstrap, ["sdk-generic.Existing"]) == []
