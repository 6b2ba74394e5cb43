"""The bus console in a real browser: headless Chromium (Debian's package) driven by Playwright, on `q2ext run`.

Q2EXT_CONSOLE_SCREENSHOT=<path> makes test_console_screenshot_is_saved write the README's picture there, e.g.
`Q2EXT_CONSOLE_SCREENSHOT='{{cookiecutter.extension_name}}/docs/console.png'`.
"""

from __future__ import annotations

import http.client
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from q2ext import delivery, envelope, keyring

from .console_server import Served, console_project, launch_chromium, serve

WAIT_MS = 60_000  # generous: the machine may be busy; each wait ends as soon as the row is there
BUS_PATH = "/Lowercase/message/process/sdk"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    running = serve(console_project(tmp_path_factory.mktemp("console") / "proj"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def page(served: Served) -> Iterator[Page]:
    """The console, opened once in headless Chromium; the tests act on it as a developer would."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        tab = browser.new_page(viewport={"width": 1280, "height": 640})
        tab.set_default_timeout(WAIT_MS)
        tab.goto(served.url + "/_q2ext/console/")
        expect(tab.locator("#live")).to_have_text("live")
        tab.evaluate("window.__notReloaded = true")
        yield tab
        browser.close()


def push_with_form(page: Page, text: str) -> str:
    """Type the text, press Push; the message id the form reports (or its error)."""
    page.select_option("#push-type", "Lowercase")
    page.fill("#push-text", text)
    page.click("#push-button")
    result = page.locator("#push-result")
    expect(result).not_to_have_text("pushing…")
    return result.inner_text().removeprefix("pushed ")


def row(page: Page, kind: str, msg_id: str):
    return page.locator(f'#rows tr[data-kind="{kind}"][data-id="{msg_id}"]')


def open_row(page: Page, kind: str, msg_id: str) -> None:
    row(page, kind, msg_id).click()
    expect(page.locator("#detail")).to_be_visible()
    expect(page.locator("#detail-facts")).to_contain_text(msg_id)


def test_console_url_is_printed_at_start_up(served: Served):
    assert f"bus console: http://127.0.0.1:{served.port}/_q2ext/console/" in served.log_text()


def test_form_push_shows_push_and_delivery_rows_without_reloading(page: Page):
    msg_id = push_with_form(page, "hello world")
    expect(row(page, "push", msg_id)).to_contain_text("console")
    expect(row(page, "delivery", msg_id)).to_contain_text("200")
    assert page.evaluate("window.__notReloaded") is True


def test_opening_a_delivery_shows_its_text_and_sealed_size(page: Page):
    msg_id = push_with_form(page, "hello world")
    open_row(page, "delivery", msg_id)
    expect(page.locator("#detail-text")).to_have_text("hello world")
    expect(page.locator("#detail-facts")).to_contain_text("bytes")
    expect(page.locator("#detail-headers")).to_contain_text("q2msg-cryptokey")
    page.click("#detail-close")


def post_forged(served: Served) -> str:
    """POST a delivery sealed and signed with keys the server does not have (curl-like); its message id."""
    stranger = keyring.new(dev=True, first_id="0")  # same key ids as the server's dev ring, other secrets
    sealed = envelope.seal("forged", "Lowercase", stranger.active)
    headers = delivery.sign(sealed.headers, stranger.delivery)
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    conn.request("POST", BUS_PATH, body=sealed.body, headers=headers)
    assert conn.getresponse().status == 401
    conn.close()
    return sealed.headers["q2msg-id"]


def test_forged_post_shows_a_refusal_row_with_its_reason(page: Page, served: Served):
    refusal = row(page, "refusal", post_forged(served))
    expect(refusal).to_contain_text("401")
    expect(refusal).to_contain_text("delivery signature mismatch")


def test_replayed_post_shows_a_duplicate_row(page: Page, served: Served):
    ring = keyring.read_file(served.project / ".q2ext" / "keyring.dev.json")
    sealed = envelope.seal("sent twice", "Lowercase", ring.active)
    headers = delivery.sign(sealed.headers, ring.delivery)
    for _ in range(2):  # the same captured POST, again
        conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
        conn.request("POST", BUS_PATH, body=sealed.body, headers=headers)
        assert conn.getresponse().status == 200
        conn.close()
    duplicate = row(page, "duplicate", sealed.headers["q2msg-id"])
    expect(duplicate).to_contain_text("already handled")
    expect(row(page, "delivery", sealed.headers["q2msg-id"])).to_have_count(1)


def test_exception_in_handle_shows_its_traceback(page: Page):
    assert "answered 500" in push_with_form(page, "please fail")  # the form says why the push failed
    failed = page.locator('#rows tr[data-kind="exception"]').filter(has_text="asked to fail").first
    expect(failed).to_contain_text("RuntimeError")
    failed.click()
    trace = page.locator("#detail-trace")
    expect(trace).to_contain_text("Traceback (most recent call last)")
    expect(trace).to_contain_text('raise RuntimeError("asked to fail: " + message.text)')
    page.click("#detail-close")


def test_status_filter_shows_only_that_status(page: Page):
    push_with_form(page, "hello again")
    page.select_option("#filter-status", "refused")
    expect(page.locator("#rows tr:visible")).not_to_have_count(0)
    groups = page.locator("#rows tr:visible").evaluate_all("rows => rows.map(r => r.dataset.group)")
    assert set(groups) == {"refused"}
    page.select_option("#filter-status", "")


def test_text_filter_matches_message_text(page: Page):
    push_with_form(page, "needle in the haystack")
    page.fill("#filter-text", "needle")
    visible = page.locator("#rows tr:visible")
    expect(visible).to_have_count(2)  # its push and its delivery
    page.fill("#filter-text", "")


def test_console_screenshot_is_saved(page: Page, served: Served, tmp_path: Path):
    push_with_form(page, "Order 1042 shipped")
    post_forged(served)
    push_with_form(page, "please fail: invoice #88")
    push_with_form(page, "hello world")
    expect(page.locator("#rows tr").first).to_contain_text("hello world")
    page.fill("#push-text", "hello world")
    page.mouse.move(0, 0)
    page.wait_for_timeout(1500)  # let the new rows' highlight fade: a picture, not a condition
    wanted = os.environ.get("Q2EXT_CONSOLE_SCREENSHOT")
    target = Path(wanted or tmp_path / "console.png")
    page.screenshot(path=str(target))
    assert target.stat().st_size > 10_000
    if wanted:  # the README's copy: 64 colours keep it ~45 KB instead of ~135 KB
        from PIL import Image

        Image.open(target).convert("RGB").quantize(colors=64).save(target, optimize=True)
