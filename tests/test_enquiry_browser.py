"""The public enquiry form in real headless Chromium: a constituent's path from the form to the
status page, checked for accessibility with axe-core and for weight on the way."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Response, sync_playwright

from crm.settings import Settings
from tests.support import databases
from tests.support.enquiry import MARY, status_link
from tests.support.smtp import Received, SmtpServer
from tests.support.smtp_fixtures import office_settings
from web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
AXE_DIR = Path(os.environ.get("MAILBAG_AXE_DIR", Path.home() / ".cache/mailbag/axe"))
AXE = AXE_DIR / "node_modules/axe-core/axe.min.js"
PAGE_BUDGET = 50_000
# WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
SECRET = "browser-enquiry-" + "k" * 40


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


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"axe-core is needed at {AXE}: run tests/run (it installs it with npm)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def served(sqlite_template: Path, tmp_path: Path, smtp_server: SmtpServer) -> Iterator[str]:
    """The app on a free loopback port (its own base URL, for the links it emails)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    settings: Settings = office_settings(
        tmp_path, smtp_server.port, secret_key=SECRET, base_url=base
    )
    database = databases.sqlite_copy(sqlite_template, tmp_path)
    app = create_app(settings, database, secret_key=SECRET)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the web server did not start"
        time.sleep(0.02)
    yield base
    server.should_exit = True
    thread.join(5)
    database.dispose()


def check_accessible(page: Page, axe_source: str, what: str) -> None:
    """axe-core, injected into the page as it stands: no violation of WCAG 2.2 A/AA."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)  # from the test's side: the page's own CSP stays in force
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    problems = [
        {"rule": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"]][:3]}
        for v in result["violations"]
    ]
    assert problems == [], f"{what}: " + json.dumps(problems, indent=1)
    assert len(result["passes"]) > 10, f"{what}: axe checked almost nothing"


def record_size(response: Response, sizes: dict[str, int]) -> None:
    """Bytes of each response that has a body (a redirect has none)."""
    if not 300 <= response.status < 400:
        sizes[response.url] = len(response.body())


def weigh(page: Page, url: str, sizes: dict[str, int]) -> int:
    """Load the page afresh; what it and everything it loaded weigh, in bytes."""
    sizes.clear()
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return sum(sizes.values())


def wait_for_mail(server: SmtpServer, to: str, seconds: float = 10) -> Received:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [m for m in server.received if to in m.rcpt_tos]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no mail to {to} within {seconds} s")


def test_a_constituent_corrects_mistakes_sends_and_follows_the_status_link(
    browser: Browser, served: str, smtp_server: SmtpServer, axe_source: str
):
    context = browser.new_context()
    page = context.new_page()
    sizes: dict[str, int] = {}
    page.on("response", lambda r: record_size(r, sizes))
    # Given the form, light and accessible
    weight = weigh(page, f"{served}/enquiry", sizes)
    assert f"{served}/static/enquiry.css" in sizes
    assert weight < PAGE_BUDGET, sizes
    check_accessible(page, axe_source, "the blank form")
    shown_at = time.monotonic()
    # When Mary fills it in with mistakes (a bad email, a short postcode, no consent)
    page.check("#q_danger-no")
    page.check("#q_area-yes")
    page.check("#q_topic-housing")
    page.check("#q_urgency-days")
    page.fill("#name", "Mary Jones")
    page.fill("#email", "mary.jones@example")
    page.fill("#address", "12 Acacia Avenue\nExampletown")
    page.fill("#postcode", "EX1")
    page.fill("#problem", "The roof of my flat has leaked since August and nobody repairs it.")
    page.wait_for_timeout(max(0, 3500 - int((time.monotonic() - shown_at) * 1000)))
    page.click("button[type=submit]")
    page.wait_for_load_state()
    # Then the form comes back with the problems listed first, each linked to its field
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    assert page.title().startswith("Error: ")
    links = summary.locator("a").all_inner_texts()
    assert links == [
        "Enter an email address in the correct format, like name@example.com",
        "Enter a real UK postcode, like EX1 2AB",
        "Tick the box to agree, so that the office can act for you",
    ]
    assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")
    assert page.input_value("#problem").startswith("The roof of my flat has leaked")
    assert page.get_attribute("#email", "aria-describedby") == "email-hint email-error"
    check_accessible(page, axe_source, "the form with errors")
    # When she follows the summary's link to the postcode and corrects everything
    summary.locator("a", has_text="postcode").click()
    assert page.evaluate("() => location.hash") == "#postcode"
    page.fill("#postcode", "EX1 2AB")
    page.fill("#email", MARY)
    page.check("#consent")
    page.click("button[type=submit]")
    page.wait_for_url(f"{served}/enquiry/received")
    # Then the confirmation gives her case reference
    reference = page.inner_text(".reference").strip()
    assert reference.startswith("MB-")
    check_accessible(page, axe_source, "the confirmation")
    assert weigh(page, f"{served}/enquiry/received", sizes) < PAGE_BUDGET
    # And the acknowledgement arrives at her address with the reference and a private link
    ack = wait_for_mail(smtp_server, MARY).message()
    assert f"[{reference}]" in ack["Subject"]
    link = status_link(ack.get_body(("plain",)).get_content())
    assert link.startswith(f"{served}/status/")
    # When she follows it, she sees the status of her case
    assert weigh(page, link, sizes) < PAGE_BUDGET
    assert reference in page.inner_text("main")
    assert "Received" in page.inner_text(".current")
    check_accessible(page, axe_source, "the status page")
    # A spoilt link says so, offers a new one, and is accessible too
    page.goto(link[:-2] + "zz")
    assert "This link does not work" in page.inner_text("h1")
    check_accessible(page, axe_source, "the broken-link page")
    context.close()


def test_the_emergency_route_shows_numbers_at_once_accessibly(
    browser: Browser, served: str, axe_source: str
):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{served}/enquiry")
    # Someone in danger answers the first question and sends at once
    page.check("#q_danger-yes")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "get help now" in page.inner_text("h1")
    numbers = page.locator(".numbers a").all_inner_texts()
    assert numbers[:3] == ["999", "111", "116 123"]
    check_accessible(page, axe_source, "the emergency page")
    context.close()
