"""The key scheduler without a broker: per-key order, concurrency across keys, commit offsets, rebalances."""

from __future__ import annotations

from dataclasses import dataclass

from q2ext.scheduler import KeyScheduler


@dataclass(frozen=True)
class Rec:
    offset: int
    key: bytes | None


def records(*keys: str | None, start: int = 0) -> list[Rec]:
    return [Rec(start + i, k.encode() if k is not None else None) for i, k in enumerate(keys)]


def take_all(s: KeyScheduler) -> list[Rec]:
    out = []
    while (record := s.next_ready()) is not None:
        out.append(record)
    return out


def test_records_of_different_keys_go_out_together():
    s = KeyScheduler()
    s.add(records("a", "b", "c"))
    assert [r.offset for r in take_all(s)] == [0, 1, 2]


def test_a_key_has_one_record_in_flight_and_the_next_goes_when_it_is_finished():
    s = KeyScheduler()
    a0, b1, a2 = records("a", "b", "a")
    s.add([a0, b1, a2])
    assert take_all(s) == [a0, b1]
    s.finished(a0)
    assert take_all(s) == [a2]


def test_a_retrying_record_holds_its_key_until_it_is_finished():
    s = KeyScheduler()
    a0, a1, b2 = records("a", "a", "b")
    s.add([a0, a1, b2])
    assert take_all(s) == [a0, b2]
    s.finished(b2)  # other keys go on while a0 is retried ...
    assert s.next_ready() is None  # ... and a1 waits behind it, however long the retries take
    s.finished(a0)
    assert s.next_ready() == a1


def test_records_without_a_key_keep_no_order_between_them():
    s = KeyScheduler()
    s.add(records(None, None, None))
    assert len(take_all(s)) == 3


def test_no_more_than_max_in_flight_records_go_at_once():
    s = KeyScheduler(max_in_flight=2)
    s.add(records("a", "b", "c", "d"))
    first = take_all(s)
    assert len(first) == 2 and s.in_flight == 2
    s.finished(first[0])
    assert [r.offset for r in take_all(s)] == [2]


def test_the_commit_offset_is_the_lowest_unfinished_record_when_they_finish_out_of_order():
    s = KeyScheduler()
    r = records("a", "b", "c", "d")
    s.add(r)
    take_all(s)
    assert s.commit_offset == 0
    for done, expected in ((r[2], 0), (r[1], 0), (r[0], 3), (r[3], 4)):
        s.finished(done)
        assert s.commit_offset == expected


def test_the_commit_offset_is_none_until_a_record_arrives_then_follows_the_last_one_added():
    s = KeyScheduler()
    assert s.commit_offset is None
    s.add(records("a", start=41))
    assert s.commit_offset == 41
    s.finished(s.next_ready())
    assert s.commit_offset == 42 and s.pending == 0


def test_a_refetched_record_is_never_queued_twice():
    s = KeyScheduler()
    s.add(records("a", "b", "c", start=10))
    assert s.add(records("b", "c", "d", start=11)) == 2  # 11 and 12 again (dropped), 13 new
    handed_out = []
    while s.pending:
        record = s.next_ready()
        handed_out.append(record.offset)
        s.finished(record)
    assert sorted(handed_out) == [10, 11, 12, 13]


def test_a_released_record_stays_uncommitted_and_frees_its_key():
    s = KeyScheduler()
    a0, b1 = records("a", "b")
    s.add([a0, b1])
    take_all(s)
    s.finished(b1)
    s.released(a0)  # the relay stopped while a0 waited to retry
    assert s.commit_offset == 0 and s.in_flight == 0 and s.pending == 1


def test_after_a_revoke_a_fresh_scheduler_starts_at_the_committed_offset_and_keeps_key_order():
    old = KeyScheduler()
    r = records("a", "a", "b", "a")
    old.add(r)
    take_all(old)  # a0 and b2 in flight
    old.finished(r[2])
    old.released(r[0])  # revoked: a0 goes back unfinished
    committed = old.commit_offset
    assert committed == 0
    new = KeyScheduler()  # assigned again (here or to another relay): the broker refetches from the commit
    new.add([x for x in r if x.offset >= committed])
    order = []
    while new.pending:
        record = new.next_ready()
        order.append(record)
        new.finished(record)
    assert [x.offset for x in order if x.key == b"a"] == [0, 1, 3]


def test_take_hands_out_each_idle_keys_waiting_run_in_offset_order():
    s = KeyScheduler()
    s.add(records("a", "b", "a", "c", "a"))
    assert [r.offset for r in s.take(10)] == [0, 2, 4, 1, 3]
    assert s.take(10) == []  # every key is busy now


def test_take_stops_at_the_count_and_byte_limits():
    s = KeyScheduler()
    s.add(records("a", "a", "b", "c"))
    assert [r.offset for r in s.take(3)] == [0, 1, 2]
    s2 = KeyScheduler()
    s2.add(records("a", "b", "c"))
    assert [r.offset for r in s2.take(10, max_bytes=25, size=lambda r: 10)] == [0, 1]


def test_put_back_records_go_again_first_once_their_key_is_free():
    s = KeyScheduler()
    a0, a1, a2, b3 = records("a", "a", "a", "b")
    s.add([a0, a1, a2, b3])
    s.take(10)
    s.finished(b3)
    s.put_back([a1, a2])  # a0 failed and retries on its own: a1 and a2 were not attempted
    assert s.take(10) == []  # a0 still holds its key
    s.add(records("a", start=4))
    s.finished(a0)
    assert [r.offset for r in s.take(10)] == [1, 2, 4]
    assert s.commit_offset == 1


def test_a_key_is_idle_only_when_every_record_it_handed_out_is_settled():
    s = KeyScheduler()
    a0, a1 = records("a", "a")
    s.add([a0, a1])
    s.take(10)
    s.add(records("a", start=2))
    s.finished(a0)
    assert s.next_ready() is None
    s.finished(a1)
    assert s.next_ready().offset == 2
