"""The case list's filters on follow-ups, dates and campaigns, by page and API, with the
access rules, each row's "waiting for", and the weekly review's links into the list."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from html import unescape

import pytest
from litestar.testing import TestClient
from sqlalchemy import select, update

from crm import cases
from crm.access import restricted
from crm.campaigns.models import Campaign
from crm.db import Database
from crm.followups.models import ESCALATED, FollowUp
from crm.models import Case
from crm.outgoing import directory
from crm.outgoing.models import SENT
from crm.outgoing.send import send_letter
from crm.settings import Settings
from crm.types import OFFICE_ZONE, utcnow
from inbox.message import Source
from inbox.pipeline import Pipeline
from tests.support.campaigngen import campaign_letters
from tests.support.chase_cases import DWP, DWP_NAME
from tests.support.web import CASEWORKER, COUNCILLOR, MANAGER, Office, build_office, sign_in
from web.app import create_app

SECRET = "test-secret-key-" + "x" * 32
OMBUDSMAN = "casework@ombudsman.gov.uk"  # a third party the directory does not know
DAY = timedelta(days=1)
_LINK = re.compile(r'href="(/\?[^"]*)"[^>]*>([^<]+)<')


@dataclass(frozen=True)
class Story:
    """The sample office, with who each case waits for."""

    office: Office
    dwp: str  # in the councillor's ward, referred to the DWP, not yet due
    ombudsman: str  # another ward, waiting on an unlisted body, past due
    escalated: str  # safeguarding, referred to the DWP, escalated after two chases
    quiet: str  # waiting on nobody


def refer(database: Database, settings: Settings, reference: str, to: str, template: str) -> None:
    delivery = send_letter(database, settings, reference=reference, template=template, to=to)
    assert delivery.status == SENT, delivery.error


def follow_up_on(session, reference: str) -> FollowUp:
    case = cases.get(session, reference)
    found = session.scalar(select(FollowUp).where(FollowUp.case_id == case.id))
    assert found is not None
    return found


@pytest.fixture
def story(database: Database, pipeline: Pipeline, sending_settings: Settings) -> Story:
    office = build_office(database, pipeline)
    with database.session() as session:
        directory.seed_directory(session)
        directory.add_organisation(session, DWP_NAME, emails=[DWP])
    refer(database, sending_settings, office.in_ward, DWP, "referral_department")
    refer(database, sending_settings, office.other_ward, OMBUDSMAN, "referral_department")
    refer(database, sending_settings, office.safeguarding, DWP, "referral_department")
    now = utcnow()
    with database.session() as session:
        # Given the letters went three days ago (within the last complete week) ...
        for reference in (office.in_ward, office.other_ward, office.safeguarding):
            follow_up_on(session, reference).opened_at = now - 3 * DAY
        # ... the ombudsman's reply is now past due, and the DWP never answered on the
        # safeguarding case after two chases
        follow_up_on(session, office.other_ward).due_at = now - DAY
        escalated = follow_up_on(session, office.safeguarding)
        escalated.status, escalated.chases_sent, escalated.escalated_at = ESCALATED, 2, now
        # and the in-ward case was opened a month ago, the others this week
        opened = {office.in_ward: now - 30 * DAY, office.hostile: now - 2 * DAY}
        for reference, when in opened.items():
            session.execute(update(Case).where(Case.reference == reference).values(opened_at=when))
        for reference in (office.other_ward, office.safeguarding):
            session.execute(
                update(Case).where(Case.reference == reference).values(opened_at=now - 3 * DAY)
            )
    return Story(office, office.in_ward, office.other_ward, office.safeguarding, office.hostile)


@pytest.fixture
def client(database: Database, sending_settings: Settings, story: Story) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(sending_settings, database, secret_key=SECRET)) as test_client:
        yield test_client


def refs(client: TestClient, url: str) -> set[str]:  # type: ignore[type-arg]
    """The case references a list page (or the API) shows."""
    response = client.get(url)
    assert response.status_code == 200, response.text[:300]
    if url.startswith("/api/"):
        return {c["reference"] for c in response.json()["cases"]}
    return set(re.findall(r'href="/cases/([A-Z]+-\d{4}-\d+)"', response.text))


# --- the filters -----------------------------------------------------------------------------


def test_waiting_and_overdue_filters_narrow_the_list(client, story):
    sign_in(client, MANAGER)
    everyone = {story.dwp, story.ombudsman, story.escalated}
    assert refs(client, "/?waiting=any") == everyone
    assert refs(client, "/api/cases?waiting=any") == everyone
    # by the directory's name, its short name, or the domain of an unlisted body
    assert refs(client, "/?waiting=Department+for+Work+and+Pensions") == {
        story.dwp,
        story.escalated,
    }
    assert refs(client, "/?waiting=dwp") == {story.dwp, story.escalated}
    assert refs(client, "/api/cases?waiting=ombudsman.gov.uk") == {story.ombudsman}
    assert refs(client, "/?waiting=HM+Revenue+and+Customs") == set()
    # overdue: past due, or escalated
    assert refs(client, "/?overdue=1") == {story.ombudsman, story.escalated}
    assert refs(client, "/api/cases?overdue=1&waiting=dwp") == {story.escalated}
    # filters combine with the others, and an answered follow-up no longer counts
    assert refs(client, "/?overdue=1&ward=EX9") == {story.ombudsman}
    with client.app.state.database.session() as session:
        follow_up_on(session, story.ombudsman).status = "satisfied"
    assert refs(client, "/?waiting=any") == {story.dwp, story.escalated}
    assert refs(client, "/?overdue=1") == {story.escalated}


def test_opened_from_and_to_pick_the_cases_new_in_a_window(client, story):
    sign_in(client, MANAGER)
    today = utcnow().astimezone(OFFICE_ZONE).date()
    week = f"opened_from={(today - 6 * DAY).isoformat()}&opened_to={today.isoformat()}"
    assert refs(client, f"/?{week}") == {story.ombudsman, story.escalated, story.quiet}
    assert refs(client, f"/api/cases?{week}&waiting=any") == {story.ombudsman, story.escalated}
    month = (today - 30 * DAY).isoformat()
    assert refs(client, f"/?opened_from={month}&opened_to={month}") == {story.dwp}
    assert refs(client, f"/?opened_to={(today - 10 * DAY).isoformat()}") == {story.dwp}
    # a bound that is not a date is no bound at all
    assert story.dwp in refs(client, "/?opened_from=last-tuesday")


def test_a_councillor_and_a_caseworker_see_only_their_cases_through_every_filter(client, story):
    # A councillor (ward EX1): the DWP case is theirs; the other ward's and the safeguarding
    # case wait too, and are overdue, and stay out of sight
    sign_in(client, COUNCILLOR)
    for query in ("waiting=any", "waiting=dwp", "overdue=1", "opened_from=2000-01-01"):
        for url in (f"/councillor?{query}", f"/api/cases?{query}"):
            assert refs(client, url) <= {story.dwp}, url
    assert refs(client, "/api/cases?waiting=any") == {story.dwp}
    assert refs(client, "/api/cases?overdue=1") == set()
    client.cookies.clear()
    # A caseworker: every ward, never the unassigned safeguarding case
    sign_in(client, CASEWORKER)
    assert refs(client, "/?waiting=any") == {story.dwp, story.ombudsman}
    assert refs(client, "/?overdue=1") == {story.ombudsman}
    assert refs(client, "/api/cases?waiting=dwp") == {story.dwp}


def test_each_row_says_what_the_case_waits_for_and_marks_it_overdue(client, story):
    sign_in(client, MANAGER)
    body = unescape(client.get("/?waiting=any").text)
    assert f"Waiting on {DWP_NAME} since" in body
    assert "Waiting on ombudsman.gov.uk since" in body
    assert "escalated to the representative" in body
    listed = client.get("/api/cases?waiting=any").json()["cases"]
    waits = {c["reference"]: c["waiting"] for c in listed}
    assert [w["overdue"] for w in waits[story.dwp]] == [False]
    assert [w["overdue"] for w in waits[story.ombudsman]] == [True]
    assert [(w["status"], w["overdue"]) for w in waits[story.escalated]] == [(ESCALATED, True)]
    assert waits[story.dwp][0]["party"] == DWP_NAME
    assert waits[story.dwp][0]["description"].startswith(f"Waiting on {DWP_NAME} since ")
    assert ", due " in waits[story.dwp][0]["description"]
    assert body.count("overdue</strong>") == 2


# --- campaigns -------------------------------------------------------------------------------


def test_the_campaign_filter_lists_the_cases_holding_its_letters(client, story, database, pipeline):
    # Given a campaign whose first letters opened cases before it was recognised
    letters = campaign_letters(12, seed=4, problem_at=6, start=utcnow() - 2 * DAY)
    with database.session() as session:
        for n, letter in enumerate(letters):
            outcome = pipeline.process(session, letter.raw, Source("INBOX", 9, 1000 + n))
            assert outcome.status == "stored", outcome.failure
    with database.session() as session:
        campaign_id = session.scalar(select(Campaign.id))
        linked = _linked_cases(session, campaign_id)
        hidden = {r for r in linked if restricted(session, cases.get(session, r).id)}
    # two letters folded in, and the one with a real (safeguarding) problem kept as a case
    assert len(linked) == 3 and len(hidden) == 1
    assert not linked & {story.dwp, story.ombudsman, story.quiet}
    sign_in(client, MANAGER)
    assert refs(client, f"/?campaign={campaign_id}") == linked
    assert refs(client, f"/api/cases?campaign={campaign_id}") == linked
    assert refs(client, f"/?campaign={campaign_id + 1}") == set()
    assert refs(client, f"/?campaign={campaign_id}&waiting=any") == set()
    # the safeguarding letter's case stays out of a caseworker's and a councillor's lists
    for person in (CASEWORKER, COUNCILLOR):
        client.cookies.clear()
        sign_in(client, person)
        shown = refs(client, f"/api/cases?campaign={campaign_id}")
        assert shown <= linked - hidden
    assert refs(client, f"/api/cases?campaign={campaign_id}&q=evicting") == set()
    client.cookies.clear()
    sign_in(client, CASEWORKER)
    assert refs(client, f"/?campaign={campaign_id}") == linked - hidden


def _linked_cases(session, campaign_id: int) -> set[str]:
    from crm.campaigns.models import CampaignMember, CampaignSignature
    from crm.models import Message

    return set(
        session.scalars(
            select(Case.reference)
            .join(Message, Message.case_id == Case.id)
            .join(CampaignSignature, CampaignSignature.message_key == Message.dedupe_key)
            .join(CampaignMember, CampaignMember.signature_id == CampaignSignature.id)
            .where(CampaignMember.campaign_id == campaign_id)
        )
    )


# --- the weekly review's links ---------------------------------------------------------------


def test_the_review_links_lead_to_lists_with_the_expected_cases(client, story):
    sign_in(client, MANAGER)
    page = client.get("/review")
    assert page.status_code == 200
    links = {unescape(text).strip(): unescape(href) for href, text in _LINK.findall(page.text)}
    assert refs(client, links["overdue"]) == {story.ombudsman, story.escalated}
    assert refs(client, links[DWP_NAME]) == {story.dwp, story.escalated}
    assert refs(client, links["ombudsman.gov.uk"]) == {story.ombudsman}
    assert refs(client, links["waiting on third parties"]) == {
        story.dwp,
        story.ombudsman,
        story.escalated,
    }
    # new this week: the seven days up to yesterday, closed or open
    assert refs(client, links["new this week"]) == {
        story.ombudsman,
        story.escalated,
        story.quiet,
    }
    # A caseworker following the same links never sees the safeguarding case
    client.cookies.clear()
    sign_in(client, CASEWORKER)
    assert refs(client, links["overdue"]) == {story.ombudsman}
    assert refs(client, links[DWP_NAME]) == {story.dwp}
