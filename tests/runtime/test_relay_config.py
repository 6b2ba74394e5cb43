"""How much the relay fetches, and its memory release, follow the delivery mode."""

from __future__ import annotations

from q2ext.relay import RelayConfig, release_free_memory


def config(**changes) -> RelayConfig:
    return RelayConfig(bootstrap="127.0.0.1:9092", routes={"Lowercase": "http://127.0.0.1:1980/x"}, **changes)


def test_one_record_per_post_fetches_64_kb_per_partition_and_a_queue_of_records():
    cfg = config()
    assert cfg.fetch_sizes == {"max_partition_fetch_bytes": 64 * 1024, "fetch_max_bytes": 1024 * 1024}
    assert cfg.fetch_records == cfg.queue_max


def test_batch_delivery_fetches_enough_records_for_several_batches():
    cfg = config(batch_size=500)
    assert cfg.fetch_sizes["max_partition_fetch_bytes"] == 2 * 1024 * 500
    assert cfg.fetch_records == 5_000


def test_releasing_free_memory_is_safe_to_call_anywhere():
    release_free_memory()  # glibc: malloc_trim(0); elsewhere a no-op
