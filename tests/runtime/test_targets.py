"""Host choice and health of a relay route over several handler hosts (q2ext.targets), on an injected clock."""

from __future__ import annotations

import pytest

from q2ext import bus, http1, targets
from q2ext.metrics import Registry

URLS = ["http://10.0.0.5:1980/T/message/process/sdk", "http://10.0.0.6:1980/T/message/process/sdk"]
OK = http1.Response(200, {}, b"")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def spread(clock):
    return targets.Spread(URLS, 10.0, Registry(), clock)


def test_several_comma_separated_targets_make_one_route_per_type_over_every_host():
    route = targets.endpoints("http://a:1980, http://b:1980/", "Lowercase", bus.bus_url)
    assert route == "http://a:1980/Lowercase/message/process/sdk,http://b:1980/Lowercase/message/process/sdk"


def test_a_target_that_is_not_a_url_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="several: comma-separated"):
        targets.split("http://a:1980,b:1980")


def test_one_target_gets_a_plain_client_and_several_a_spread():
    plain, path = targets.client_for(URLS[0], 10.0, Registry())
    assert isinstance(plain, http1.Client) and path == "/T/message/process/sdk"
    spread, path = targets.client_for(",".join(URLS), 10.0, Registry())
    assert isinstance(spread, targets.Spread) and path == "/T/message/process/sdk"


def test_healthy_hosts_take_posts_in_turn(spread):
    assert [spread.pick().name for _ in range(4)] == ["http://10.0.0.6:1980", "http://10.0.0.5:1980"] * 2


def test_the_host_with_fewer_posts_in_flight_is_chosen(spread):
    spread.hosts[0].in_flight = 3
    assert {spread.pick().name for _ in range(4)} == {"http://10.0.0.6:1980"}


def test_a_host_that_failed_is_skipped_for_a_second_then_probed_again(spread, clock):
    first, second = spread.hosts
    spread.observe(first, ConnectionRefusedError())
    assert {spread.pick() for _ in range(4)} == {second}
    clock.now += 1.0
    assert first in {spread.pick() for _ in range(4)}


def test_the_pause_doubles_with_each_failure_in_a_row_up_to_thirty_seconds(spread, clock):
    first = spread.hosts[0]
    pauses = []
    for _ in range(8):
        spread.observe(first, http1.Response(503, {}, b""))
        pauses.append(first.skip_until - clock.now)
    assert pauses == [1, 2, 4, 8, 16, 30, 30, 30]


def test_an_answer_below_500_brings_a_host_back_at_once(spread, clock):
    first = spread.hosts[0]
    spread.observe(first, http1.Response(500, {}, b""))
    spread.observe(first, http1.Response(409, {}, b""))  # a refusal is an answer: the host is up
    assert first.failures == 0 and first.skip_until == 0


def test_with_every_host_skipped_the_one_back_first_is_tried(spread, clock):
    first, second = spread.hosts
    for _ in range(3):
        spread.observe(first, TimeoutError())
    spread.observe(second, TimeoutError())
    assert spread.pick() is second


def test_metrics_count_posts_per_host_and_result_and_show_failures_in_a_row(clock):
    metrics = Registry()
    spread = targets.Spread(URLS, 10.0, metrics, clock)
    first, second = spread.hosts
    spread.observe(first, OK)
    spread.observe(second, ConnectionRefusedError())
    spread.observe(second, http1.Response(502, {}, b""))
    text = metrics.render()
    assert 'q2ext_relay_host_posts_total{host="http://10.0.0.5:1980",result="ok"} 1' in text
    assert 'q2ext_relay_host_posts_total{host="http://10.0.0.6:1980",result="no_answer"} 1' in text
    assert 'q2ext_relay_host_posts_total{host="http://10.0.0.6:1980",result="failed"} 1' in text
    assert 'q2ext_relay_host_failing{host="http://10.0.0.6:1980"} 2' in text
    assert 'q2ext_relay_host_failing{host="http://10.0.0.5:1980"} 0' in text


def test_a_cancelled_post_leaves_the_in_flight_count_and_is_no_failure_of_its_host(spread):
    import asyncio

    async def send_and_cancel():
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)  # accepts, never answers
        port = server.sockets[0].getsockname()[1]
        spread.hosts[0].client = http1.Client(f"http://127.0.0.1:{port}", timeout=30)
        spread.hosts[1].skip_until = spread.clock() + 60  # so the first host takes it
        sent = spread.send("/", {}, b"x", lambda result: None)
        for _ in range(3000):  # until connected and sent (a local connect: at once), 30 s at most
            if spread.hosts[0].client._open:
                break
            await asyncio.sleep(0.01)
        sent.cancel()
        server.close()

    asyncio.run(send_and_cancel())
    assert spread.hosts[0].in_flight == 0 and spread.hosts[0].failures == 0
