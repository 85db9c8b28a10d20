"""The web view in real headless Chromium: a caseworker's path, and hostile mail kept inert."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from crm.settings import Settings
from inbox.pipeline import Pipeline
from tests.support import databases
from tests.support.smtp import SmtpServer
from tests.support.web import CASEWORKER, PASSWORD, Office, build_office
from web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
PAGE_BUDGET = 100_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is needed at /usr/bin/chromium: apt-get install chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


@pytest.fixture
def served(
    sqlite_template: Path, tmp_path: Path, sending_settings: Settings
) -> Iterator[tuple[str, Office]]:
    """The app on a free loopback port, in a thread, over a SQLite copy with a sample office."""
    database = databases.sqlite_copy(sqlite_template, tmp_path)
    office = build_office(database, Pipeline(sending_settings))
    app = create_app(sending_settings, database, secret_key="browser-test-" + "k" * 40)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the web server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", office
    server.should_exit = True
    thread.join(5)
    database.dispose()


def signed_in(browser: Browser, base: str) -> Page:
    page = browser.new_page()
    page.goto(f"{base}/")
    page.fill("input[name=email]", CASEWORKER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{base}/")
    return page


def test_a_caseworker_finds_reads_notes_and_replies(browser, served, smtp_server: SmtpServer):
    base, office = served
    page = signed_in(browser, base)
    # Given the case list, when she searches by postcode and opens the case
    page.keyboard.press("/")
    page.keyboard.type("EX1 2AB")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    page.click(f"a:has-text('{office.in_ward}')")
    assert "Black mould everywhere." in page.content()
    # When she adds a pinned note
    page.keyboard.press("n")
    page.fill("#note", "Landlord visiting Thursday")
    page.check("input[name=pinned]")
    page.click("#note-box button")
    page.wait_for_load_state()
    assert "Landlord visiting Thursday" in page.inner_text(".pinned")
    # And replies with a template, after seeing the preview
    page.click("summary:has-text('Reply or refer')")
    page.select_option("#reply", "holding_reply")
    page.click("#reply-box button:has-text('Preview')")
    page.wait_for_load_state()
    assert "mary.jones@example.com" in page.content()
    page.click("button:has-text('Send')")
    page.wait_for_load_state()
    # Then the letter arrived, and the case shows it went
    assert "Sent." in page.inner_text("main")
    assert [m for m in smtp_server.received if "mary.jones@example.com" in m.rcpt_tos]
    assert "email out" in page.inner_text(".timeline").lower()


def test_hostile_mail_runs_nothing_and_loads_nothing_remote(browser, served):
    base, office = served
    page = signed_in(browser, base)
    dialogs: list[str] = []
    remote: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(base) else None)
    page.goto(f"{base}/cases/{office.hostile}")
    page.wait_for_load_state("networkidle")
    for details in page.query_selector_all(".timeline details"):
        details.evaluate("d => d.open = true")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    assert remote == []
    assert "Please help with my rent." in page.inner_text(".timeline")


def test_list_and_case_pages_stay_under_100_kb(browser, served):
    base, office = served
    page = signed_in(browser, base)
    sizes: dict[str, int] = {}
    page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())))
    for url in (f"{base}/", f"{base}/cases/{office.in_ward}"):
        sizes.clear()
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert set(sizes) >= {url, f"{base}/static/app.css", f"{base}/static/keys.js"}
        assert sum(sizes.values()) < PAGE_BUDGET, sizes
