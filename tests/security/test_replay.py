"""A captured delivery replayed to the handler never runs handle() a second time (SECURITY.md, Replays)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from q2ext import delivery

from .conftest import handled_ids, make_services, post, serve_in_thread, settings_for


def capture(handler, sealed):
    """What an eavesdropper records of one legitimate delivery: its exact headers and body."""
    headers = delivery.sign(sealed.headers, handler.services.ring.delivery)
    assert handler.post(headers, sealed.body)[0] == 200
    return headers, sealed.body


def test_replayed_capture_is_acknowledged_without_handling_again(handler, seal):
    headers, body = capture(handler, seal())
    status, answer = handler.post(headers, body)
    assert (status, answer.get("duplicate")) == (200, True)
    assert len(handler.services.handled) == 1


def test_replay_after_the_handler_restarted_is_not_handled_again(start, tmp_path, ring, seal):
    first = start()
    headers, body = capture(first, seal())
    first.stop()
    second = serve_in_thread(make_services(settings_for(tmp_path), ring))
    try:
        status, answer = second.post(headers, body)
    finally:
        second.stop()
    assert (status, answer.get("duplicate")) == (200, True)
    assert second.services.handled == []


def test_replay_to_another_handler_process_of_the_project_is_not_handled_again(spawn, tmp_path, seal, ring):
    one, two = spawn(), spawn()
    sealed = seal()
    headers = delivery.sign(sealed.headers, ring.delivery)
    assert post(one.port, headers, sealed.body)[0] == 200
    answers = [post(two.port, headers, sealed.body) for _ in range(3)]
    assert handled_ids(tmp_path) == [sealed.headers["q2msg-id"]]
    assert all(status in (200, 409) for status, _ in answers)


def test_sibling_process_acknowledges_a_replay_as_duplicate_once_the_done_mark_is_written(spawn, seal, ring):
    one, two = spawn(), spawn()
    sealed = seal()
    headers = delivery.sign(sealed.headers, ring.delivery)
    assert post(one.port, headers, sealed.body)[0] == 200
    answers = [post(two.port, headers, sealed.body)]
    deadline = time.monotonic() + 60  # 409 = retry: what a relay would do, for a generous while (a busy machine)
    while answers[-1][0] == 409 and time.monotonic() < deadline:
        time.sleep(0.01)
        answers.append(post(two.port, headers, sealed.body))
    assert answers[-1] == (200, {"status": 200, "id": sealed.headers["q2msg-id"], "duplicate": True})


def test_simultaneous_replays_to_two_processes_run_handle_once(spawn, tmp_path, seal, ring):
    ports = [spawn().port, spawn().port]
    sealed_messages = [seal(f"message {i}") for i in range(40)]
    jobs = [(port, delivery.sign(s.headers, ring.delivery), s.body) for s in sealed_messages for port in ports * 2]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda job: post(*job)[0], jobs))
    assert set(answers) <= {200, 409}
    handled = handled_ids(tmp_path)
    assert sorted(handled) == sorted(s.headers["q2msg-id"] for s in sealed_messages)


def test_capture_replayed_after_the_tolerance_is_refused_with_401(handler, seal, ring):
    sealed = seal()
    old_capture = delivery.sign(sealed.headers, ring.delivery, now=time.time() - 301)
    status, answer = handler.post(old_capture, sealed.body)
    assert status == 401
    assert "tolerance" in answer["error"]
    assert handler.services.handled == []


def test_resigned_redelivery_of_a_handled_message_is_acknowledged_as_duplicate(handler, seal):
    sealed = seal()
    assert handler.deliver(sealed, attempt=1)[0] == 200
    status, answer = handler.deliver(sealed, attempt=2)
    assert (status, answer.get("duplicate")) == (200, True)
    assert len(handler.services.handled) == 1


def test_message_whose_handle_raised_is_handled_again_on_redelivery(handler, seal, tmp_path, monkeypatch):
    monkeypatch.setenv("GUARDED_HANDLED_LOG", str(tmp_path / "handled.log"))
    sealed = seal("please fail")
    assert handler.deliver(sealed)[0] == 500
    assert handler.deliver(sealed, attempt=2)[0] == 500
    assert handled_ids(tmp_path) == [sealed.headers["q2msg-id"]] * 2
