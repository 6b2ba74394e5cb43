"""How much the relay fetches, and its memory release, follow the delivery mode."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import TopicPartition

from q2ext import keyring, relay_watch
from q2ext.relay import Partition, Relay, RelayConfig, release_free_memory


@dataclass(frozen=True)
class Record:
    offset: int
    key: bytes | None


def config(**changes) -> RelayConfig:
    return RelayConfig(bootstrap="127.0.0.1:9092", routes={"Lowercase": "http://127.0.0.1:1980/x"}, **changes)


def test_one_record_per_post_fetches_64_kb_per_partition_and_a_queue_of_records():
    cfg = config(max_batch=1)
    assert cfg.fetch_sizes == {"max_partition_fetch_bytes": 64 * 1024, "fetch_max_bytes": 1024 * 1024}
    assert cfg.fetch_records == cfg.queue_max


def test_batch_delivery_fetches_enough_records_for_two_full_batches():
    cfg = config(max_batch=500)
    assert cfg.fetch_sizes["max_partition_fetch_bytes"] == 1024 * 500
    assert cfg.fetch_records == 1_000


def test_releasing_free_memory_is_safe_to_call_anywhere():
    release_free_memory()  # glibc: malloc_trim(0); elsewhere a no-op


def trims_counted(monkeypatch) -> list[int]:
    trims: list[int] = []
    monkeypatch.setattr(relay_watch, "release_free_memory", lambda: trims.append(1))
    return trims


def test_an_idle_relay_hands_memory_back_once_after_each_burst(monkeypatch):
    trims = trims_counted(monkeypatch)
    r = Relay(config(), keyring.new(dev=True).delivery)
    r.stats.delivered.inc(type="Lowercase")
    mark = relay_watch.trim_when_idle(r, -1)
    assert relay_watch.trim_when_idle(r, mark) == mark  # nothing delivered since: no second trim
    r.stats.delivered.inc(type="Lowercase")
    relay_watch.trim_when_idle(r, mark)
    assert len(trims) == 2


def test_a_relay_with_records_in_hand_does_not_trim(monkeypatch):
    trims = trims_counted(monkeypatch)
    r = Relay(config(), keyring.new(dev=True).delivery)
    tp = TopicPartition("sdk-generic.Lowercase", 0)
    part = r.parts[tp] = Partition(tp, "Lowercase", "http://127.0.0.1:1980/x")
    part.take([Record(offset=0, key=b"k")])
    r.stats.delivered.inc(type="Lowercase")
    assert relay_watch.trim_when_idle(r, -1) == -1 and not r.idle() and trims == []
