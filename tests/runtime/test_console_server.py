"""The console's server side on a real `q2ext run`: absent out of DEBUG, localhost only, bounded memory."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time

import pytest

from q2ext import batch, delivery, envelope, keyring

from .console_server import console_project, serve

CONSOLE = "/_q2ext/console/"
MB = 1024


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_console_is_not_served_out_of_debug(tmp_path):
    project = console_project(tmp_path / "proj", debug=False)
    keys = subprocess.run([sys.executable, "-m", "q2ext", "keys"], cwd=project, capture_output=True, timeout=120)
    assert keys.returncode == 0, keys.stderr
    served = serve(project)
    try:
        for path in (CONSOLE, CONSOLE + "api/stream", CONSOLE + "api/info", CONSOLE + "static/console.js"):
            assert get(served.port, path)[0] == 404, path
        assert "bus console" not in served.log_text()
    finally:
        served.stop()


@pytest.fixture(scope="module")
def debug_server(tmp_path_factory):
    served = serve(console_project(tmp_path_factory.mktemp("console-mem") / "proj"))
    yield served
    served.stop()


def test_console_answers_only_to_localhost_names(debug_server):
    assert get(debug_server.port, CONSOLE)[0] == 200
    status, _ = get(debug_server.port, CONSOLE + "api/info", {"Host": f"rebound.example:{debug_server.port}"})
    assert status == 403


def test_console_push_refuses_a_form_post_from_another_page(debug_server):
    conn = http.client.HTTPConnection("127.0.0.1", debug_server.port, timeout=60)
    body = "type=Lowercase&text=hi"
    conn.request("POST", CONSOLE + "api/push", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert conn.getresponse().status == 415
    conn.close()


def first_stream_batch(port: int, last_event_id: str) -> list[dict]:
    """The first batch of events the live stream sends to a page that last saw this event id."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", CONSOLE + "api/stream", headers={"Last-Event-ID": last_event_id})
        resp = conn.getresponse()
        deadline = time.monotonic() + 60  # the stream sends a keep-alive line every 15 s while it has nothing
        while not (line := resp.fp.readline()).startswith(b"data: "):
            assert line, "the stream ended before any event"
            assert time.monotonic() < deadline, "no event within 60 s"
        return json.loads(line[6:])
    finally:
        conn.close()


def test_a_page_from_before_a_restart_gets_the_whole_ring(debug_server):
    conn = http.client.HTTPConnection("127.0.0.1", debug_server.port, timeout=60)
    body = json.dumps({"type": "Lowercase", "text": "after the restart"})
    conn.request("POST", CONSOLE + "api/push", body=body, headers={"Content-Type": "application/json"})
    pushed = json.loads(conn.getresponse().read())["id"]
    conn.close()
    batch = first_stream_batch(debug_server.port, "999999999")  # an id this run of the server never reached
    assert pushed in {event["id"] for event in batch}


def _batches(ring, count: int, per_batch: int, text: str):
    """Headers and bodies of `count` batch POSTs of `per_batch` sealed Lowercase messages each, signed."""
    for _ in range(count):
        records = []
        for _ in range(per_batch):
            sealed = envelope.seal(text, "Lowercase", ring.active)
            records.append(({**sealed.headers, "q2msg-attempt": "1"}, sealed.body))
        body = batch.encode(records)
        yield delivery.sign_batch(body, ring.delivery), body  # batch v2: one delivery signature per POST


def _deliver_all(port: int, bodies) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    handled = 0
    try:
        for headers, body in bodies:
            conn.request("POST", "/Lowercase/message/process/sdk", body=body, headers=headers)
            answer = json.loads(conn.getresponse().read())
            handled += sum(1 for result in answer["results"] if result["status"] == 200)
    finally:
        conn.close()
    return handled


def test_100k_events_leave_rss_within_10_mb(debug_server):
    """Each delivery is one event holding its headers and 1 KB of text; the ring keeps the last CONSOLE_EVENTS.

    The baseline is taken once the server reached its working size: with or without the console, its first
    ~20,000 deliveries grow RSS by ~12 MB (SQLite's page cache, the allocator's high-water mark for 500-record
    batches), then it stays flat. A leak of 100 bytes per event, or an unbounded ring, fails this test.
    """
    ring = keyring.read_file(debug_server.project / ".q2ext" / "keyring.dev.json")
    text = "x" * 1000
    assert _deliver_all(debug_server.port, _batches(ring, 40, 500, text)) == 20_000  # warm up
    start_kb = debug_server.rss_kb()
    assert _deliver_all(debug_server.port, _batches(ring, 200, 500, text)) == 100_000
    grown_kb = debug_server.rss_kb() - start_kb
    assert grown_kb < 10 * MB, f"RSS grew by {grown_kb} kB over 100,000 events"


def test_a_baked_project_vendors_the_console_and_its_readme_screenshot(template, tmp_path):
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(f'cookiecutters_dir: "{tmp_path / "clones"}"\nreplay_dir: "{tmp_path / "replay"}"\n')
    answers = ["extension_name=AllCaps", "extension_kind=message_bus", "message_type=Lowercase"]
    args = [sys.executable, "-m", "cookiecutter", str(template), "--no-input", "--config-file", str(config)]
    baked = subprocess.run([*args, "-o", str(tmp_path), *answers], capture_output=True, text=True, timeout=300)
    assert baked.returncode == 0, baked.stderr
    project = tmp_path / "AllCaps"
    for name in ("console.html", "console.js", "console.css"):
        assert (project / "q2ext" / "console" / "static" / name).stat().st_size > 1000, name
    assert (project / "docs" / "console.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "](docs/console.png)" in (project / "README.md").read_text()
