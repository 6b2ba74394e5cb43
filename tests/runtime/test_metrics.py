"""Metrics series bound to their labels once count into the same series as inc()/observe() with labels."""

from __future__ import annotations

from q2ext.metrics import Registry


def test_a_bound_counter_adds_to_the_series_of_its_labels():
    counter = Registry().counter("q2ext_test_total", "test")
    bound = counter.labels(type="A", kind="x")
    bound()
    bound(2)
    counter.inc(kind="x", type="A")
    assert counter.get(type="A", kind="x") == 4
    assert counter.get(type="B", kind="x") == 0


def test_a_bound_histogram_observes_into_the_series_of_its_labels():
    registry = Registry()
    histogram = registry.histogram("q2ext_test_seconds", "test", buckets=(0.1, 1.0))
    histogram.labels(type="A")(0.05)
    histogram.observe(0.5, type="A")
    text = registry.render()
    assert 'q2ext_test_seconds_bucket{le="0.1",type="A"} 1.0' in text
    assert 'q2ext_test_seconds_count{type="A"} 2.0' in text


def test_bound_builds_once_per_key():
    registry, built = Registry(), []
    first = registry.bound("k", lambda: built.append(1) or "series")
    again = registry.bound("k", lambda: built.append(1) or "other")
    assert first == again == "series" and built == [1]


def test_a_gauge_series_can_be_removed_from_the_exposition():
    registry = Registry()
    gauge = registry.gauge("q2ext_test_lag", "test")
    gauge.set(3, topic="t", partition="0")
    gauge.set(1, topic="t", partition="1")
    gauge.remove((("partition", "0"), ("topic", "t")))
    text = registry.render()
    assert 'q2ext_test_lag{partition="1",topic="t"} 1.0' in text and 'partition="0"' not in text


def test_counters_sum_over_their_label_sets():
    counter = Registry().counter("q2ext_test_sum_total", "test")
    counter.inc(type="A")
    counter.inc(2, type="B")
    assert counter.total() == 3
