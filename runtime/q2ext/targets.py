"""Several handler hosts behind one relay: which host each POST goes to, and which hosts to skip for a while.

TARGET (or --target, or a routes file's URL) may name several hosts, comma-separated. The relay keeps per-key
order itself (a key's records go one at a time, whatever host each reaches), so any host may take any record:
each POST goes to the healthy host with the fewest POSTs in flight (ties in turn). A host that refuses the
connection, does not answer, or answers 5xx is skipped for SKIP_FIRST_S, doubling with each failure in a row
up to SKIP_MAX_S (circuit-breaker style); once that time is up, the next POST probes it, and one answer below
500 brings it back. When every host is being skipped, the one whose pause ends first is tried (the relay's own
retry backoff paces those attempts), so a record is never held back by the skipping alone.
/metrics: q2ext_relay_host_posts_total{host,result} and q2ext_relay_host_failing{host} (failures in a row).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from . import http1
from .metrics import Registry

SKIP_FIRST_S = 1.0  # a host that just failed is skipped this long...
SKIP_MAX_S = 30.0  # ...doubling with each failure in a row, up to this


def split(target: str) -> list[str]:
    """The base URLs of a comma-separated TARGET (one or more)."""
    urls = [part.strip() for part in target.split(",") if part.strip()]
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"target {url!r} is not an http:// or https:// URL (several: comma-separated)")
    if not urls:
        raise ValueError("no target URL given (e.g. --target http://10.0.0.5:1980,http://10.0.0.6:1980)")
    return urls


def endpoints(target: str, message_type: str, bus_url: Callable[[str, str], str]) -> str:
    """The endpoint of a message type on every host of TARGET, comma-separated (one route)."""
    return ",".join(bus_url(base, message_type) for base in split(target))


def origin_and_path(url: str) -> tuple[str, str]:
    """scheme://host:port (what a kept-alive client connects to) and the path with its query (what it POSTs to)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}", parts.path + (f"?{parts.query}" if parts.query else "")


def client_for(url: str, timeout: float, metrics: Registry) -> tuple[http1.Client | Spread, str]:
    """The client of a route and the path to POST to: one host's kept-alive client, or a Spread over several."""
    urls = split(url)
    if len(urls) == 1:
        origin, path = origin_and_path(urls[0])
        return http1.Client(origin, timeout=timeout), path
    spread = Spread(urls, timeout, metrics)
    return spread, spread.path


class Host:
    """One handler host: its client, how it is doing, and until when it is skipped."""

    def __init__(self, url: str, timeout: float, index: int) -> None:
        self.name, self.path = origin_and_path(url)
        self.client = http1.Client(self.name, timeout=timeout)
        self.index = index  # its place in the route: ties between hosts go in turn
        self.in_flight = 0
        self.failures = 0  # in a row
        self.skip_until = 0.0


class Spread:
    """Looks like an http1.Client to the relay; each POST goes to one host (see the module docstring)."""

    def __init__(
        self, urls: list[str], timeout: float, metrics: Registry, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.hosts = [Host(url, timeout, index) for index, url in enumerate(urls)]
        paths = {host.path for host in self.hosts}
        if len(paths) != 1:
            raise ValueError(f"the hosts of one route must share its path, not {sorted(paths)}")
        self.path = paths.pop()
        self.clock = clock
        self._turn = 0
        self._posts = metrics.counter("q2ext_relay_host_posts_total", "POSTs per handler host, by result")
        self._failing = metrics.gauge("q2ext_relay_host_failing", "Failed POSTs in a row per handler host (0: healthy)")
        for host in self.hosts:
            self._failing.set(0, host=host.name)

    def pick(self) -> Host:
        """The healthy host with the fewest POSTs in flight (ties in turn); none healthy: the first to come back."""
        now = self.clock()
        healthy = [host for host in self.hosts if host.skip_until <= now]
        if not healthy:
            return min(self.hosts, key=lambda host: host.skip_until)
        count = len(self.hosts)
        self._turn = (self._turn + 1) % count
        return min(healthy, key=lambda h: (h.in_flight, (h.index - self._turn) % count))

    def observe(self, host: Host, result: http1.Response | BaseException) -> None:
        """Count the result, and skip the host for a while if it failed (no answer, or 5xx)."""
        if isinstance(result, http1.Response):
            label = "ok" if result.status < 400 else "refused" if result.status < 500 else "failed"
        else:
            label = "no_answer"
        self._posts.inc(host=host.name, result=label)
        if label in ("ok", "refused"):
            host.failures, host.skip_until = 0, 0.0
        else:
            host.failures += 1
            host.skip_until = self.clock() + min(SKIP_MAX_S, SKIP_FIRST_S * 2 ** (host.failures - 1))
        self._failing.set(host.failures, host=host.name)

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> http1.Response:
        """One POST to the host pick() chooses; raises as http1.Client.post does."""
        host = self.pick()
        host.in_flight += 1
        try:
            response = await host.client.post(host.path, headers, body)
        except BaseException as exc:
            host.in_flight -= 1
            if isinstance(exc, (OSError, asyncio.TimeoutError, http1.HttpError)):
                self.observe(host, exc)
            raise
        host.in_flight -= 1
        self.observe(host, response)
        return response

    def send(self, path: str, headers: dict[str, str], body: bytes, done) -> _Sent:
        """http1.Client.send() to the host pick() chooses."""
        host = self.pick()
        host.in_flight += 1

        sent = _Sent(host)

        def answered(result: http1.Response | BaseException) -> None:
            sent.finish()
            if not isinstance(result, asyncio.CancelledError):  # dropped by the relay: says nothing of the host
                self.observe(host, result)
            done(result)

        sent.pending = host.client.send(host.path, headers, body, answered)
        return sent

    def close(self) -> None:
        for host in self.hosts:
            host.client.close()


class _Sent:
    """A POST started by Spread.send(): it leaves its host's in-flight count once, answered or cancelled."""

    __slots__ = ("host", "pending", "finished")

    def __init__(self, host: Host) -> None:
        self.host, self.pending, self.finished = host, None, False

    def finish(self) -> None:
        if not self.finished:
            self.finished = True
            self.host.in_flight -= 1

    def cancel(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
        self.finish()
