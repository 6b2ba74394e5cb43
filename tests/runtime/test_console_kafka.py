"""The console with the Kafka bus: a real tansu broker, `q2ext run` with BUS=kafka in DEBUG, and `q2ext relay`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect, sync_playwright

from q2ext import broker as broker_mod

from .console_server import console_project, free_port, launch_chromium, project_env, serve

TOPIC = "sdk-generic.Lowercase"
DEADLINE_S = 90.0


def api(url: str, path: str, payload: dict | None = None) -> dict:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url + "/_q2ext/console/api/" + path, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as resp:
        return json.loads(resp.read())


def wait_for(check, what: str):
    """Poll check() until it returns something truthy (a generous deadline; each try asks the real thing)."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {DEADLINE_S:.0f} s")


@pytest.fixture(scope="module")
def kafka_console(tmp_path_factory) -> Iterator[tuple[str, int]]:
    """A broker, the project served in DEBUG on the Kafka bus, and a relay with its /metrics; (console URL, metrics)."""
    project = console_project(tmp_path_factory.mktemp("console-kafka") / "proj")
    with broker_mod.Broker() as broker:
        broker_mod.create_topics_sync(broker.bootstrap, [TOPIC, TOPIC + ".dlq"], 1)
        metrics_port, port = free_port(), free_port()
        settings = [("Q2EXT_BUS", "kafka"), ("Q2EXT_KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap)]
        served = serve(project, *settings, ("Q2EXT_CONSOLE_RELAY_URL", f"http://127.0.0.1:{metrics_port}"), port=port)
        relay_args = ["--metrics-port", str(metrics_port), "--session-timeout-ms", "2000", "--group", "console-test"]
        with (project.parent / "relay.log").open("wb") as log:
            relay = subprocess.Popen(
                [sys.executable, "-m", "q2ext", "relay", *relay_args, "--min-backoff", "0.05", "--max-backoff", "0.5"],
                cwd=project,
                env=project_env(*settings, ("Q2EXT_HOST", "127.0.0.1"), ("Q2EXT_PORT", str(port))),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            yield served.url, metrics_port
        finally:
            relay.terminate()
            relay.wait(30)
            served.stop()


def dead_letters_of(url: str, msg_id: str) -> list[dict]:
    return [row for row in api(url, "kafka")["dead_letters"] if row.get("id") == msg_id]


def test_kafka_panel_shows_the_dead_letter_and_the_relay_counters(kafka_console):
    url, _ = kafka_console
    msg_id = api(url, "push", {"type": "Lowercase", "text": "dead letter for the panel"})["id"]
    (letter,) = wait_for(lambda: dead_letters_of(url, msg_id), "the dead letter")
    assert (letter["status"], letter["reason"]) == ("422", "dead letter requested: asked for a dead letter")

    def settled() -> dict | None:
        counters = api(url, "kafka")["relay"].get("topics", {}).get(TOPIC)
        return counters if counters and counters["dead_lettered"] >= 1 and counters["lag"] == 0 else None

    wait_for(settled, "the relay's counters showing the dead letter and no lag on " + TOPIC)


def test_replay_button_puts_one_dead_letter_back_on_its_topic(kafka_console):
    url, _ = kafka_console
    msg_id = api(url, "push", {"type": "Lowercase", "text": "dead letter to replay"})["id"]
    (letter,) = wait_for(lambda: dead_letters_of(url, msg_id), "the dead letter")
    where = f"{letter['topic']}:{letter['partition']}@{letter['offset']}"
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.set_default_timeout(DEADLINE_S * 1000)
            page.goto(url + "/_q2ext/console/")
            button = page.locator(f'#kafka-dlq tr[data-where="{where}"] button.replay')
            button.click()
            expect(button).to_have_text("replayed")
        finally:
            browser.close()
    # The relay delivers the replayed record again; the handler dead-letters it again: a second dead letter.
    wait_for(lambda: len(dead_letters_of(url, msg_id)) == 2, "the replayed record's second dead letter")
