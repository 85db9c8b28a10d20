"""Campaign pages: the list, one campaign's summary with what a person may see, and "Reply to
all" from the page, in this process (no Redis) and through a real worker on Redis, to a real
SMTP server: one reply per sender, resumable, never two."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from crm.campaigns.models import Campaign
from crm.campaigns.reply import reply_to_all
from crm.db import Database
from crm.settings import Settings
from crm.workers import background
from inbox.message import Source
from inbox.pipeline import Pipeline
from tests.support.campaigngen import PROBLEM, Letter, campaign_letters
from tests.support.smtp import SmtpServer
from tests.support.smtp_fixtures import office_settings
from tests.support.web import CASEWORKER, COUNCILLOR, MANAGER, build_office, post_form, sign_in
from tests.support.workers import (
    REDIS_URL,
    Process,
    RedisSpace,
    redis_space,  # noqa: F401 - a fixture
    settings_env,
    wait_until,
)
from web.app import create_app

SECRET = "test-secret-key-" + "x" * 32
PATCH = ("EX1", "EX2", "EX3", "EX4")
REPLY_TEMPLATE = {
    "about.j2": '{% set title = "Reply to a campaign" %}\n{% set audience = "constituent" %}\n',
    "subject.txt.j2": "Your letter about {{ campaign.name }}\n",
    "body.txt.j2": (
        "Thank you for writing to me about {{ campaign.name }}, as {{ campaign.senders }} "
        "people in the area have. I share your concern and have written to the council.\n"
    ),
}
LETTERS = 14


@pytest.fixture
def replying(tmp_path: Path, smtp_server: SmtpServer) -> Settings:
    """The office, with a reply template for campaigns and its constituency's postcodes."""
    templates = tmp_path / "letters"
    (templates / "campaign_reply").mkdir(parents=True)
    for name, text in REPLY_TEMPLATE.items():
        (templates / "campaign_reply" / name).write_text(text)
    return office_settings(
        tmp_path,
        smtp_server.port,
        templates_dir=templates,
        constituency_postcodes=PATCH,
        auto_acknowledge=False,
    )


@pytest.fixture
def letters(database: Database, replying: Settings) -> list[Letter]:
    """The sample office (its people), and a campaign with one real problem inside it."""
    pipeline = Pipeline(replying)
    build_office(database, pipeline)
    mail = campaign_letters(LETTERS, seed=4, problem_at=6)
    with database.session() as session:
        for n, letter in enumerate(mail):
            outcome = pipeline.process(session, letter.raw, Source("INBOX", 5, 100 + n))
            assert outcome.status == "stored", outcome.failure
    return mail


@pytest.fixture
def campaign_id(database: Database, letters: list[Letter]) -> int:
    with database.session() as session:
        found = session.scalar(select(Campaign.id))
    assert found is not None
    return found


def make_client(settings: Settings, database: Database) -> TestClient:  # type: ignore[type-arg]
    return TestClient(create_app(settings, database, secret_key=SECRET))


@pytest.fixture
def client(database: Database, replying: Settings, campaign_id: int) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with make_client(replying, database) as test_client:
        yield test_client
    background.wait_in_process(database, campaign_id, timeout=60)


def senders(letters: list[Letter]) -> set[str]:
    return {letter.sender for letter in letters}


def replies(server: SmtpServer) -> Counter[str]:
    return Counter(
        r.rcpt_tos[0]
        for r in server.received
        if r.message()["Subject"].startswith("Your letter about")
    )


def test_the_campaign_pages_show_what_each_person_may_see(client, campaign_id, letters):
    sign_in(client, MANAGER)
    listed = unescape(client.get("/campaigns").text)
    assert f'href="/campaigns/{campaign_id}"' in listed and f"<td>{LETTERS}</td>" in listed
    page = unescape(client.get(f"/campaigns/{campaign_id}").text)
    assert "oppose the plan to close eleven" in page  # the template letter
    assert f"from {len(senders(letters))} senders" in page and "constituent" in page
    assert f'href="/?campaign={campaign_id}"' in page  # its cases in the case list
    assert 'class="tag' in page  # the tags the rules propose for it
    assert "Reply to a campaign (campaign_reply)" in page  # letters for constituents only
    assert "(referral_department)" not in page
    assert f"0 of {len(senders(letters))} sent" in page
    # the letter with a real problem is kept as a case, and its words are shown to a manager
    kept = page.split("Kept as cases of their own", 1)[1].split("Personal additions", 1)[0]
    assert 'href="/cases/' in kept
    assert PROBLEM[:40] in page
    # A caseworker may not open that (safeguarding) case: counted, not named, words left out
    client.cookies.clear()
    sign_in(client, CASEWORKER)
    page = unescape(client.get(f"/campaigns/{campaign_id}").text)
    kept = page.split("Kept as cases of their own", 1)[1].split("Personal additions", 1)[0]
    assert 'href="/cases/' not in kept and "And 1 case you may not open." in kept
    assert PROBLEM[:40] not in page
    assert "Saturday story time" in page or "library" in page.lower()
    assert client.get("/campaigns/999").status_code == 404
    # A councillor has no campaign pages
    client.cookies.clear()
    sign_in(client, COUNCILLOR)
    assert client.get("/campaigns").status_code == 403
    assert client.get(f"/campaigns/{campaign_id}").status_code == 403


def test_reply_to_all_from_the_page_sends_one_reply_per_sender_and_resumes(
    client, database, replying, campaign_id, letters, smtp_server
):
    url = f"/campaigns/{campaign_id}"
    everyone = senders(letters)
    # Given a reply to all that was stopped after three letters
    smtp_server.clear()
    stopped = reply_to_all(database, replying, campaign_id, "campaign_reply", limit=3)
    assert (stopped.sent, stopped.done) == (3, False)
    sign_in(client, CASEWORKER)
    page = client.get(url).text
    assert f"3 of {len(everyone)} sent" in page and "Resume reply to all" in page
    # A letter for third parties cannot answer a campaign: said at once, nothing sent
    wrong = post_form(client, f"{url}/reply", {"template": "referral_department"}, url)
    assert wrong.status_code == 303  # type: ignore[attr-defined]
    assert "Not started" in client.get(url).text and sum(replies(smtp_server).values()) == 3
    # When the caseworker presses the button (twice: a double click)
    first = post_form(client, f"{url}/reply", {"template": "campaign_reply"}, url)
    assert first.status_code == 303  # type: ignore[attr-defined]
    post_form(client, f"{url}/reply", {"template": "campaign_reply"}, url)
    assert background.wait_in_process(database, campaign_id, timeout=120)
    # Then every sender has exactly one reply, and the page says so
    received = replies(smtp_server)
    assert set(received) == everyone and set(received.values()) == {1}
    page = client.get(url).text
    assert f"{len(everyone)} of {len(everyone)} sent: every sender has had the reply" in page
    assert f'action="{url}/reply"' not in page
    with database.session() as session:
        assert session.get(Campaign, campaign_id).status == "replied"  # type: ignore[union-attr]
    # and pressing it once more (a stale page) sends nobody anything
    post_form(client, f"{url}/reply", {"template": "campaign_reply"}, "/campaigns")
    assert background.wait_in_process(database, campaign_id, timeout=60)
    assert sum(replies(smtp_server).values()) == len(everyone)


def test_reply_to_all_through_a_worker_on_redis(
    database,
    replying,
    campaign_id,
    letters,
    smtp_server,
    redis_space: RedisSpace,  # noqa: F811
    tmp_path,
):
    # Given a worker on Redis, and the web view configured for it
    smtp_server.clear()
    env = settings_env(
        replying,
        database.url,
        redis_space,
        MAILBAG_TEMPLATES_DIR=str(replying.templates_dir),
    )
    with Process("worker", env, tmp_path / "worker.log", "--threads", "2") as worker:
        worker.wait_ready()
        settings = dataclasses.replace(
            replying, redis_url=REDIS_URL, redis_namespace=redis_space.namespace
        )
        url = f"/campaigns/{campaign_id}"
        with make_client(settings, database) as client:
            sign_in(client, MANAGER)
            # When the office manager presses "Reply to all"
            post_form(client, f"{url}/reply", {"template": "campaign_reply"}, url)
            assert "handed to the workers" in client.get(url).text
            assert not background.in_process_running(database, campaign_id)
            # Then the worker sends one reply to each sender
            everyone = senders(letters)
            wait_until(lambda: set(replies(smtp_server)) == everyone, "every reply to arrive")
            wait_until(redis_space.drained, "the worker to finish")
            assert set(replies(smtp_server).values()) == {1}
            assert "every sender has had the reply" in client.get(url).text
