"""This process's counters, gauges and histograms: prometheus_client underneath, a small API on top.

prometheus_client keeps the values and writes the exposition format; this module adds what the hot paths
and the relay need: label names taken from the first use, series bound to their labels once (bound()),
and sums across label sets. The `<name>_created` series are off (one more line per series, no use here).
"""

from __future__ import annotations

from collections.abc import Callable

import prometheus_client
from prometheus_client import CollectorRegistry, exposition

prometheus_client.disable_created_metrics()
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what generate_latest() writes (as before)
Labels = tuple[tuple[str, str], ...]


class _Metric:
    """One metric family; its prometheus_client object is made on first use, with that use's label names."""

    kind: type = prometheus_client.Counter

    def __init__(self, registry: CollectorRegistry, name: str, help_text: str, **extra: object) -> None:
        self.name = name
        self.help = help_text
        self._registry = registry
        self._extra = extra
        self._family = None
        self._children: dict[Labels, object] = {}

    def child(self, labels: dict[str, str]):
        """The series of these labels (sorted once per call: hot paths bind with labels() instead)."""
        key = tuple(sorted(labels.items()))
        found = self._children.get(key)
        if found is None:
            if self._family is None:
                names = [k for k, _ in key]
                self._family = self.kind(self.name, self.help, names, registry=self._registry, **self._extra)
            found = self._children[key] = self._family.labels(**labels) if key else self._family
        return found

    def series(self) -> list[Labels]:
        """The label sets seen so far."""
        return list(self._children)

    def remove(self, key: Labels) -> None:
        """Drop one series (e.g. a partition this relay no longer holds)."""
        if self._children.pop(key, None) is not None and key:
            self._family.remove(*(v for _, v in key))


class Counter(_Metric):
    """A value that only goes up."""

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        self.child(labels).inc(amount)

    def labels(self, **labels: str) -> Callable[..., None]:
        """inc() bound to one label set: hot paths sort the labels once, not per call."""
        return self.child(labels).inc

    def get(self, **labels: str) -> float:
        found = self._children.get(tuple(sorted(labels.items())))
        return found._value.get() if found is not None else 0.0  # noqa: SLF001 - prometheus_client has no getter

    def total(self) -> float:
        """The sum over every label set."""
        return sum(child._value.get() for child in self._children.values())  # noqa: SLF001


class Gauge(Counter):
    """A value that goes up and down."""

    kind = prometheus_client.Gauge

    def set(self, value: float, **labels: str) -> None:
        self.child(labels).set(value)


class Histogram(_Metric):
    """Observations counted into fixed buckets (seconds by default)."""

    kind = prometheus_client.Histogram
    DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

    def observe(self, value: float, **labels: str) -> None:
        self.child(labels).observe(value)

    def labels(self, **labels: str) -> Callable[[float], None]:
        """observe() bound to one label set: hot paths sort the labels once, not per call."""
        return self.child(labels).observe


class Registry:
    """The metrics of one process; render() is what /metrics serves."""

    def __init__(self) -> None:
        self.collectors = CollectorRegistry(auto_describe=False)
        self._metrics: dict[str, _Metric] = {}
        self._bound: dict[object, object] = {}

    def bound(self, key: object, build: Callable[..., object], *args: object) -> object:
        """What build(*args) returns for this key, built once: the hot path's bound series (see Counter.labels)."""
        found = self._bound.get(key)
        if found is None:
            found = self._bound.setdefault(key, build(*args))
        return found

    def _get(self, cls: type, name: str, help_text: str, **extra: object) -> _Metric:
        """The metric of that name, created on first use (looked up, not rebuilt, on the hot path)."""
        metric = self._metrics.get(name)
        if metric is None:
            metric = self._metrics.setdefault(name, cls(self.collectors, name, help_text, **extra))
        return metric

    def counter(self, name: str, help_text: str) -> Counter:
        return self._get(Counter, name, help_text)  # type: ignore[return-value]

    def gauge(self, name: str, help_text: str) -> Gauge:
        return self._get(Gauge, name, help_text)  # type: ignore[return-value]

    def histogram(self, name: str, help_text: str, buckets: tuple[float, ...] = Histogram.DEFAULT_BUCKETS) -> Histogram:
        return self._get(Histogram, name, help_text, buckets=buckets)  # type: ignore[return-value]

    def render(self) -> str:
        """The Prometheus text exposition of every metric."""
        return exposition.generate_latest(self.collectors).decode()
