"""The chases-to-approve page: one click sends exactly one chase, to a real SMTP server, and
a chase on a case the person may not see is neither shown nor sendable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from crm import cases
from crm.db import Database
from crm.followups import sweep
from crm.followups.models import (
    AWAITING_APPROVAL,
    CHASED,
    HELD,
    SATISFIED,
    ChaseAttempt,
    FollowUp,
)
from crm.outgoing import directory
from crm.outgoing.models import SENT
from crm.outgoing.send import send_letter
from crm.settings import Settings
from crm.types import utcnow
from inbox.pipeline import Pipeline
from tests.support.chase_cases import DWP, DWP_NAME
from tests.support.smtp import SmtpServer
from tests.support.web import CASEWORKER, COUNCILLOR, MANAGER, Office, build_office, sign_in
from tests.support.web import csrf_token as token_in
from web.app import create_app

SECRET = "test-secret-key-" + "x" * 32


def attempt_on(database: Database, reference: str) -> ChaseAttempt:
    with database.session() as session:
        case = cases.get(session, reference)
        attempt = session.scalar(
            select(ChaseAttempt)
            .join(FollowUp, FollowUp.id == ChaseAttempt.follow_up_id)
            .where(FollowUp.case_id == case.id)
        )
        assert attempt is not None
        return attempt


def follow_up_status(database: Database, reference: str) -> str:
    with database.session() as session:
        case = cases.get(session, reference)
        return session.scalars(select(FollowUp.status).where(FollowUp.case_id == case.id)).one()


def chases(server: SmtpServer) -> list:
    return [r for r in server.received if r.message()["Subject"].startswith("Reminder:")]


@pytest.fixture
def office(database: Database, pipeline: Pipeline, sending_settings: Settings) -> Office:
    """The DWP wants every chase approved; two cases referred to it three weeks ago are due."""
    office = build_office(database, pipeline)
    with database.session() as session:
        directory.seed_directory(session)
        org = directory.add_organisation(session, DWP_NAME, emails=[DWP])
        org.auto_chase = False
    for reference in (office.in_ward, office.safeguarding):
        delivery = send_letter(
            database,
            sending_settings,
            reference=reference,
            template="referral_department",
            to=DWP,
        )
        assert delivery.status == SENT, delivery.error
    counts = sweep.run(database, sending_settings, now=utcnow() + timedelta(days=22))
    assert counts.queued_for_approval == 2
    return office


@pytest.fixture
def client(database: Database, sending_settings: Settings, office: Office) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(sending_settings, database, secret_key=SECRET)) as test_client:
        yield test_client


def test_approving_a_chase_sends_exactly_one_letter(client, office, database, smtp_server):
    # Given a chase waiting for approval
    smtp_server.clear()
    attempt = attempt_on(database, office.in_ward)
    assert attempt.state == AWAITING_APPROVAL
    assert follow_up_status(database, office.in_ward) == HELD
    sign_in(client, CASEWORKER)
    page = client.get("/chases")
    assert page.status_code == 200
    assert f'action="/chases/{attempt.id}/approve"' in page.text
    assert "a chase is waiting for approval" in page.text
    # When the caseworker clicks Send, and then (a double click, a reload) once more
    token = token_in(page.text)
    first = client.post(
        f"/chases/{attempt.id}/approve", data={"_csrf_token": token}, follow_redirects=False
    )
    assert first.status_code == 303
    assert f"Chase sent on {office.in_ward}" in client.get("/chases").text
    again = client.post(f"/chases/{attempt.id}/approve", data={"_csrf_token": token})
    assert "not waiting for approval" in again.text
    # Then exactly one chase reached the DWP, and the follow-up is chased
    [chase] = chases(smtp_server)
    assert list(chase.rcpt_tos) == [DWP]
    assert f"[{office.in_ward}]" in chase.message()["Subject"]
    assert follow_up_status(database, office.in_ward) == CHASED
    assert attempt_on(database, office.in_ward).approved_by == CASEWORKER
    assert f'action="/chases/{attempt.id}/approve"' not in client.get("/chases").text


def test_a_chase_on_a_hidden_case_is_neither_shown_nor_sent(client, office, database, smtp_server):
    smtp_server.clear()
    hidden = attempt_on(database, office.safeguarding)
    sign_in(client, CASEWORKER)
    page = client.get("/chases").text
    assert office.safeguarding not in page and f"/chases/{hidden.id}/" not in page
    assert "And 1 on cases you may not open." in page
    response = client.post(f"/chases/{hidden.id}/approve", data={"_csrf_token": token_in(page)})
    assert "Not sent" in response.text
    assert chases(smtp_server) == []
    assert attempt_on(database, office.safeguarding).state == AWAITING_APPROVAL
    # The office manager sees both, and the overview links into the filtered list
    client.cookies.clear()
    sign_in(client, MANAGER)
    page = client.get("/chases").text
    assert office.safeguarding in page and office.in_ward in page
    assert re.search(
        r'href="/\?waiting=Department\+for\+Work\+and\+Pensions&amp;status=open"', page
    )


def test_councillors_may_not_use_the_page_and_forged_posts_are_refused(
    client, office, database, smtp_server
):
    smtp_server.clear()
    attempt = attempt_on(database, office.in_ward)
    sign_in(client, COUNCILLOR)
    assert client.get("/chases").status_code == 403
    page = client.get("/councillor").text
    assert 'href="/chases"' not in page and 'href="/campaigns"' not in page
    forged = client.post(f"/chases/{attempt.id}/approve", data={"_csrf_token": "forged"})
    assert forged.status_code == 403
    client.cookies.clear()
    sign_in(client, CASEWORKER)
    assert client.post(f"/chases/{attempt.id}/approve", data={}).status_code == 403
    assert chases(smtp_server) == []
    assert 'href="/chases"' in client.get("/").text


def follow_up_on(database: Database, reference: str) -> FollowUp:
    with database.session() as session:
        case = cases.get(session, reference)
        return session.scalars(select(FollowUp).where(FollowUp.case_id == case.id)).one()


def test_the_case_page_marks_a_follow_up_replied_to_or_gives_it_more_days(client, office, database):
    waited = follow_up_on(database, office.in_ward)
    elsewhere = follow_up_on(database, office.safeguarding)
    sign_in(client, MANAGER)
    url = f"/cases/{office.in_ward}"
    page = client.get(url).text
    action = f"{url}/follow-ups/{waited.id}"
    assert "Waiting for" in page and "reply from Department for Work and Pensions" in page
    assert f'action="{action}"' in page

    def post(data: dict[str, str], to: str = action) -> str:
        token = token_in(client.get(url).text)
        return client.post(to, data={**data, "_csrf_token": token}).text

    # Without a reason nothing changes; another case's follow-up is not this page's to settle
    assert "give a reason" in post({"action": "extend", "days": "10", "reason": " "})
    assert "no follow-up" in post(
        {"action": "satisfy", "reason": "phoned"}, f"{url}/follow-ups/{elsewhere.id}"
    )
    assert follow_up_on(database, office.safeguarding).status == HELD
    # More time: the due date moves on and the chase waiting for approval is dropped
    assert "Given 10 more days." in post({"action": "extend", "days": "10", "reason": "asked"})
    extended = follow_up_on(database, office.in_ward)
    assert extended.due_at > waited.due_at and extended.status not in (HELD, SATISFIED)
    assert attempt_on(database, office.in_ward).state != AWAITING_APPROVAL
    # Replied to by phone: satisfied, said on the timeline, no longer offered
    shown = post({"action": "satisfy", "reason": "DWP phoned back"})
    assert "no chase will go" in shown
    assert follow_up_on(database, office.in_ward).status == SATISFIED
    assert "Follow-up marked satisfied by" in shown and "DWP phoned back" in shown
    assert f'action="{action}"' not in shown


def test_a_councillor_cannot_settle_a_follow_up(client, office, database):
    waited = follow_up_on(database, office.in_ward)
    sign_in(client, COUNCILLOR)
    url = f"/cases/{office.in_ward}"
    page = client.get(url).text
    assert "Waiting for" in page and f"follow-ups/{waited.id}" not in page
    token = token_in(page)
    answer = client.post(
        f"{url}/follow-ups/{waited.id}", data={"reason": "x", "_csrf_token": token}
    )
    assert answer.status_code == 403
    assert follow_up_on(database, office.in_ward).status == HELD
