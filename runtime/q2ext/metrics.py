"""Counters, gauges and histograms rendered in the Prometheus text format (no dependency)."""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Callable

Labels = tuple[tuple[str, str], ...]


def _fmt_labels(labels: Labels, extra: str = "") -> str:
    parts = [f'{k}="{_escape(v)}"' for k, v in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help = help_text
        self._lock = threading.Lock()

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    """A value that only goes up."""

    kind = "counter"

    def __init__(self, name: str, help_text: str) -> None:
        super().__init__(name, help_text)
        self.values: dict[Labels, float] = defaultdict(float)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self.values[key] += amount

    def labels(self, **labels: str) -> Callable[..., None]:
        """inc() bound to one label set: hot paths sort the labels once, not per call."""
        key, values, lock = tuple(sorted(labels.items())), self.values, self._lock

        def inc(amount: float = 1.0) -> None:
            with lock:
                values[key] += amount

        return inc

    def get(self, **labels: str) -> float:
        return self.values.get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> list[str]:
        return self.header() + [f"{self.name}{_fmt_labels(k)} {v:g}" for k, v in sorted(self.values.items())]


class Gauge(Counter):
    """A value that goes up and down."""

    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        with self._lock:
            self.values[tuple(sorted(labels.items()))] = value


class Histogram(_Metric):
    """Observations counted into fixed buckets (seconds by default)."""

    kind = "histogram"
    DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        super().__init__(name, help_text)
        self.buckets = buckets
        self.series: dict[Labels, list[float]] = {}

    def observe(self, value: float, **labels: str) -> None:
        self._observe(tuple(sorted(labels.items())), value)

    def labels(self, **labels: str) -> Callable[[float], None]:
        """observe() bound to one label set: hot paths sort the labels once, not per call."""
        key = tuple(sorted(labels.items()))
        return lambda value: self._observe(key, value)

    def _observe(self, key: Labels, value: float) -> None:
        with self._lock:
            row = self.series.get(key)
            if row is None:
                row = self.series[key] = [0.0] * (len(self.buckets) + 2)
            row[bisect.bisect_left(self.buckets, value)] += 1
            row[-1] += value

    def render(self) -> list[str]:
        lines = self.header()
        for key, row in sorted(self.series.items()):
            running = 0.0
            for bound, count in zip((*self.buckets, float("inf")), row[:-1], strict=True):
                running += count
                le = 'le="+Inf"' if bound == float("inf") else f'le="{bound:g}"'
                lines.append(f"{self.name}_bucket{_fmt_labels(key, le)} {running:g}")
            lines.append(f"{self.name}_sum{_fmt_labels(key)} {row[-1]:g}")
            lines.append(f"{self.name}_count{_fmt_labels(key)} {running:g}")
        return lines


class Registry:
    """The metrics of one process; render() is what /metrics serves."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._bound: dict[object, object] = {}

    def bound(self, key: object, build: Callable[..., object], *args: object) -> object:
        """What build(*args) returns for this key, built once: the hot path's bound series (see Counter.labels)."""
        found = self._bound.get(key)
        if found is None:
            found = self._bound.setdefault(key, build(*args))
        return found

    def _get(self, cls: type, name: str, *args) -> _Metric:
        """The metric of that name, created on first use (looked up, not rebuilt, on the hot path)."""
        metric = self._metrics.get(name)
        if metric is None:
            metric = self._metrics.setdefault(name, cls(name, *args))
        return metric

    def counter(self, name: str, help_text: str) -> Counter:
        return self._get(Counter, name, help_text)  # type: ignore[return-value]

    def gauge(self, name: str, help_text: str) -> Gauge:
        return self._get(Gauge, name, help_text)  # type: ignore[return-value]

    def histogram(self, name: str, help_text: str, buckets: tuple[float, ...] = Histogram.DEFAULT_BUCKETS) -> Histogram:
        return self._get(Histogram, name, help_text, buckets)  # type: ignore[return-value]

    def render(self) -> str:
        lines: list[str] = []
        for metric in self._metrics.values():
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"
