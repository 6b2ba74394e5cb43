"""A handler re-reads its ring file on an unknown key id, and answers it as retryable for a grace period."""

from __future__ import annotations

import json

import pytest

from q2ext import envelope, keyring
from q2ext.keyring import RingReloader


@pytest.fixture
def ring_file(tmp_path):
    path = tmp_path / "keyring.json"
    keyring.write_file(keyring.new(), path)
    return path


def test_a_rotated_ring_file_is_read_again(ring_file, clock):
    reloader = RingReloader(ring_file, clock=clock)
    keyring.write_file(keyring.rotate(keyring.read_file(ring_file)), ring_file)
    clock.now += 1
    assert sorted(reloader.refresh().keys) == ["1", "2"]
    assert reloader.refresh() is None  # read once: unchanged since


def test_the_ring_file_is_looked_at_at_most_once_per_second(ring_file, clock):
    reloader = RingReloader(ring_file, clock=clock)
    assert reloader.refresh() is None  # looked: unchanged
    keyring.write_file(keyring.rotate(keyring.read_file(ring_file)), ring_file)
    clock.now += 0.5
    assert reloader.refresh() is None  # too soon to look again
    clock.now += 0.5
    assert reloader.refresh() is not None


def test_an_unknown_key_is_in_grace_until_grace_s_after_start_or_the_last_reload(ring_file, clock):
    reloader = RingReloader(ring_file, grace_s=600, clock=clock)
    clock.now += 599
    assert reloader.in_grace()
    keyring.write_file(keyring.rotate(keyring.read_file(ring_file)), ring_file)
    assert reloader.refresh() is not None
    clock.now += 599
    assert reloader.in_grace()
    clock.now += 1
    assert not reloader.in_grace()


def test_a_ring_file_that_cannot_be_read_keeps_the_loaded_ring_and_is_tried_again(ring_file, clock):
    reloader = RingReloader(ring_file, clock=clock)
    good = ring_file.read_text()
    ring_file.write_text(good[: len(good) // 2])  # a hand edit, half saved
    clock.now += 1
    assert reloader.refresh() is None
    ring_file.write_text(json.dumps({**json.loads(good), "updated": 1}, indent=1))
    clock.now += 1
    assert reloader.refresh() is not None


def test_a_ring_from_the_environment_has_no_file_to_reload_but_keeps_its_grace(tmp_path):
    from q2ext.settings import Settings

    ring = keyring.parse(keyring.new().to_json(), "environment variable Q2EXT_KEYRING")
    reloader = RingReloader.for_ring(ring, Settings(UNKNOWN_KEY_GRACE_SECONDS=600))
    assert reloader.path is None and reloader.refresh() is None and reloader.in_grace()


@pytest.fixture
def graced(start, ring, clock):
    """A running handler whose ring came from nowhere it can reload, in its grace period on the test's clock."""
    running = start(ring)
    running.services.reloader = RingReloader(None, grace_s=600, clock=clock)
    return running


def test_an_unknown_key_in_its_grace_period_is_answered_503_with_retry_after(graced, ring):
    sealed = envelope.seal("sealed with key 2", "Lowercase", keyring.rotate(ring).active)
    status, answer = graced.deliver(sealed)
    assert (status, answer["retry_after"]) == (503, 5)
    assert answer["error"].startswith("unknown key '2'")
    assert graced.services.handled == []


def test_an_unknown_key_past_its_grace_period_is_answered_401(graced, ring, clock):
    clock.now += 600
    status, answer = graced.deliver(envelope.seal("sealed with key 2", "Lowercase", keyring.rotate(ring).active))
    assert (status, answer["error"]) == (401, "unknown key '2'")


def test_a_retired_key_is_answered_401_even_in_the_grace_period(graced, ring):
    graced.services.ring = keyring.retire(keyring.rotate(ring), "1")
    status, answer = graced.deliver(envelope.seal("sealed with key 1", "Lowercase", ring.active))
    assert (status, answer["error"]) == (401, "unknown key '1'")


def test_a_server_built_from_settings_reloads_its_ring_file(ring_file, tmp_path):
    from q2ext import services
    from q2ext.settings import Settings

    cfg = Settings(DEBUG=False, KEYRING_FILE=str(ring_file), SEEN_IDS_FILE=":memory:")
    built = services.build(cfg)
    assert (built.reloader.path, built.reloader.grace_s) == (ring_file, 600)


def test_a_ring_file_that_became_a_development_ring_is_not_loaded_out_of_debug(ring_file):
    from q2ext.settings import Settings

    reloader = RingReloader.for_ring(keyring.read_file(ring_file), Settings(DEBUG=False))
    keyring.write_file(keyring.new(dev=True), ring_file)
    assert reloader.refresh() is None
