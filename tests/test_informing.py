"""Keeping people informed: councillors raise cases, constituents get status emails, councillors
get digests — each through the real database, web app, outbox and SMTP server."""

from __future__ import annotations

import dataclasses
import html
import time as time_module
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm import cases, casework
from crm.db import Database
from crm.enquiries import status_links
from crm.enquiries.status_requests import LinkRequest, request_link
from crm.followups.models import CHASED, ESCALATED, HELD
from crm.followups.models import OPEN as WAITING
from crm.followups.status import Waiting
from crm.informing import digests, status_emails
from crm.informing.deadlines import next_deadline
from crm.informing.models import CouncillorRequest, DigestSent, StatusEmail
from crm.models import Case, Constituent, ConstituentEmail, TimelineEntry
from crm.outgoing.acknowledge import IncomingMail, acknowledge_case
from crm.outgoing.models import OutboxLetter
from crm.settings import Settings
from crm.tags.service import case_tags
from crm.types import OFFICE_ZONE, utcnow
from crm.users.models import User
from crm.users.service import create_user
from inbox.pipeline import Pipeline
from mailbag.cli import main
from tests.support.chase_cases import DWP_NAME, constituent_writes, dwp_replies, refer
from tests.support.smtp import SmtpServer
from tests.support.smtp_fixtures import office_settings
from tests.support.web import (
    CASEWORKER,
    COUNCILLOR,
    PASSWORD,
    Office,
    build_office,
    csrf_token,
    sign_in,
)
from web.app import create_app

SECRET = "test-secret-key-" + "x" * 32
EAST = "cllr.east@council.example.org.uk"
# Response deadlines far away, so only the deadlines a test makes fall in a digest's week.
FAR = (("immediate", 60), ("high", 60), ("normal", 60), ("low", 60))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment in office time (Europe/London)."""
    return datetime.combine(day, time(hour, minute), tzinfo=OFFICE_ZONE)


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def today() -> date:
    return utcnow().astimezone(OFFICE_ZONE).date()


def coming_monday() -> date:
    """The Monday whose 08:00 run still covers changes made now.

    A first digest looks back a week at most, so on a Monday before eight the next
    Monday's run would miss this morning's changes: then the Monday is today.
    """
    now = utcnow().astimezone(OFFICE_ZONE)
    if now.weekday() == 0 and now < at(now.date(), 8):
        wait = (at(now.date(), 8) - now).total_seconds()
        if wait > 30:
            return now.date()
        time_module.sleep(wait + 1)  # too close to eight to finish before it: let it pass
    return now.date() + timedelta(days=7 - now.weekday())


# --- councillors raise cases -----------------------------------------------------------------


@pytest.fixture
def office(database: Database, pipeline: Pipeline) -> Office:
    built = build_office(database, pipeline)
    with database.session() as session:
        create_user(session, EAST, PASSWORD, role="councillor", name="Cllr East", wards=["EX9"])
    return built


@pytest.fixture
def client(database: Database, sending_settings: Settings, office: Office) -> Iterator[TestClient]:  # type: ignore[type-arg]
    app = create_app(sending_settings, database, secret_key=SECRET)
    with TestClient(app) as test_client:
        yield test_client


def resident(**changes: str) -> dict[str, str]:
    """The form as a councillor fills it: a resident outside both councillors' wards."""
    values = {
        "name": "Olu Adébáyọ̀",
        "email": "olu@example.net",
        "phone": "07700 900123",
        "address": "3 Quay Road\nExampleton",
        "postcode": "ex7 1ab",
        "consent": "yes",
        "wanted": "Get the council to repair the broken stair lift\nIt has been out for weeks.",
        "due_on": (today() + timedelta(days=5)).isoformat(),
        "issue": "Housing › Repairs",
    }
    return values | changes


def post_request(client: TestClient, form: dict[str, str]):  # type: ignore[no-untyped-def, type-arg]
    token = csrf_token(client.get("/councillor/requests/new").text)
    return client.post(
        "/councillor/requests/", data={**form, "_csrf_token": token}, follow_redirects=False
    )


def test_a_councillors_request_lands_with_tags_deadline_and_raised_by(client, database, office):
    # Given Cllr Ward signed in, raising a case for a resident outside their wards
    sign_in(client, COUNCILLOR)
    form = resident()
    response = post_request(client, form)
    # Then the case is raised and the councillor goes back to their cases
    assert response.status_code == 303 and response.headers["location"] == "/councillor"
    with database.session() as session:
        request = session.scalar(select(CouncillorRequest))
        assert request is not None
        case = session.get(Case, request.case_id)
        assert case is not None and case.status == "open" and case.owner_id is None
        ward = session.scalar(select(User).where(User.email == COUNCILLOR))
        assert ward is not None and request.raised_by_id == ward.id
        assert request.raised_by_label == "Cllr Ward"
        assert request.due_on == today() + timedelta(days=5)
        assert request.consent_text.startswith("The resident has agreed")
        assert case.subject == "Get the council to repair the broken stair lift"
        # one constituent record with the details typed
        person = session.get(Constituent, case.constituent_id)
        assert person is not None and person.name == "Olu Adébáyọ̀"
        assert (person.postcode, person.phone) == ("EX7 1AB", "07700 900123")
        assert "3 Quay Road" in person.address
        emails = session.scalars(
            select(ConstituentEmail.email).where(ConstituentEmail.constituent_id == person.id)
        ).all()
        assert emails == ["olu@example.net"]
        # the councillor's issue, with the reason; every other axis has a value
        tags = {t.axis.value: t for t in case_tags(session, case.id) if t.slot is not None}
        assert tags["issue"].tag.path == "Housing › Repairs"
        assert tags["issue"].source == "manual" and tags["issue"].reason == "raised by Cllr Ward"
        assert set(tags) == {"issue", "urgency", "sensitivity", "transferability"}
        # one timeline line saying who raised it
        lines = session.scalars(select(TimelineEntry).where(TimelineEntry.case_id == case.id)).all()
        assert [e.kind for e in lines] == ["raised_by_councillor"]
        assert lines[0].summary.startswith("Raised by Cllr Ward for Olu Adébáyọ̀")
        reference = case.reference
    # And the councillor sees it in their view, with the date they asked for as next deadline
    view = client.get("/councillor").text
    assert reference in view and "raised by you" in view
    due = (today() + timedelta(days=5)).strftime("%a %d %b %Y")
    assert f"next deadline <strong>{due}</strong>" in view and "asked for by Cllr Ward" in view
    page = client.get(f"/cases/{reference}").text
    assert f"Next deadline <strong>{due}</strong>" in page and "Raised by Cllr Ward" in page
    # But another councillor sees neither the case nor its page
    client.cookies.clear()
    sign_in(client, EAST)
    assert reference not in client.get("/councillor").text
    assert client.get(f"/cases/{reference}").status_code == 404
    # And staff see who raised it on the case page
    client.cookies.clear()
    sign_in(client, CASEWORKER)
    assert "Raised by Cllr Ward" in client.get(f"/cases/{reference}").text


def test_a_second_request_for_the_same_resident_keeps_one_constituent_record(
    client, database, office
):
    sign_in(client, COUNCILLOR)
    assert post_request(client, resident()).status_code == 303
    second = resident(name="Olu A.", wanted="Chase the housing benefit claim", issue="")
    assert post_request(client, second).status_code == 303
    with database.session() as session:
        people = session.scalars(
            select(Case.constituent_id).join(
                CouncillorRequest, CouncillorRequest.case_id == Case.id
            )
        ).all()
        assert len(people) == 2 and len(set(people)) == 1
        person = session.get(Constituent, people[0])
        assert person is not None and person.name == "Olu Adébáyọ̀"  # details never overwritten


def test_consent_unchecked_is_refused_beside_the_field_and_the_text_kept(client, database, office):
    sign_in(client, COUNCILLOR)
    wanted = 'Ask about <the> "fence" & the hedge\nSecond line stays'
    form = resident(wanted=wanted)
    del form["consent"]
    response = post_request(client, form)
    assert response.status_code == 400
    page = response.text
    # The message sits beside the consent box, which points to it, and is in the summary
    assert '<span class="field-error" id="consent-error">Confirm the resident' in page
    box = page[page.index('id="consent"') : page.index(">", page.index('id="consent"'))]
    assert 'aria-describedby="consent-error consent-text"' in box
    assert 'aria-invalid="true"' in box and "checked" not in box
    assert '<a href="#consent">Confirm the resident' in page
    # And everything typed is still there, escaped
    assert f">{html.escape(wanted, quote=False)}</textarea>" in page.replace("&#34;", '"')
    assert 'value="Olu Adébáyọ̀"' in page and 'value="ex7 1ab"' in page
    assert '<option value="Housing › Repairs" selected>Housing › Repairs</option>' in page
    # And nothing was raised
    with database.session() as session:
        assert session.scalar(select(func.count(CouncillorRequest.id))) == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"postcode": "not a postcode"}, "postcode", "Enter a full UK postcode"),
        ({"email": "", "phone": ""}, "email", "Give the resident"),
        ({"email": "olu@"}, "email", "Enter an email address like"),
        ({"due_on": "2001-01-01"}, "due_on", "The date has passed"),
        ({"due_on": "soon"}, "due_on", "Enter the date as"),
        ({"wanted": "   "}, "wanted", "Say what you would like"),
        ({"issue": "Made up"}, "issue", "Choose an issue from the list"),
    ],
)
def test_each_mistake_is_named_beside_its_field(client, database, office, changes, field, message):
    sign_in(client, COUNCILLOR)
    response = post_request(client, resident(**changes))
    assert response.status_code == 400
    assert f'id="{field}-error">{message}' in response.text


def test_only_councillors_raise_cases_from_the_form(client, office):
    sign_in(client, CASEWORKER)
    assert client.get("/councillor/requests/new").status_code == 403


def test_a_phone_only_resident_and_a_day_month_year_date_are_accepted(client, database, office):
    sign_in(client, COUNCILLOR)
    due = today() + timedelta(days=3)
    form = resident(email="", due_on=f"{due.day}/{due.month}/{due.year}", issue="")
    assert post_request(client, form).status_code == 303
    with database.session() as session:
        request = session.scalar(select(CouncillorRequest))
        assert request is not None and request.due_on == due
        case = session.get(Case, request.case_id)
        assert case is not None
        tags = {t.axis.value: t for t in case_tags(session, case.id) if t.slot is not None}
        assert tags["issue"].source != "manual"  # the office (or its rules) decide


# --- status emails ---------------------------------------------------------------------------


def informing_settings(tmp_path: Path, smtp_server: SmtpServer, **changes: object) -> Settings:
    values: dict[str, object] = {"auto_acknowledge": False, "status_emails": True}
    return office_settings(tmp_path, smtp_server.port, **(values | changes))


def to(smtp_server: SmtpServer, address: str) -> list:  # type: ignore[type-arg]
    return [r.message() for r in smtp_server.received if address in r.rcpt_tos]


def test_referral_reply_and_close_on_one_day_make_one_email_the_next_day(
    database, smtp_server, tmp_path
):
    settings = informing_settings(tmp_path, smtp_server)
    pipeline = Pipeline(settings)
    # Given a case referred to the DWP, answered by the DWP and closed, all today
    reference = constituent_writes(database, pipeline)
    referral = refer(database, settings, reference)
    assert dwp_replies(database, pipeline, in_reply_to=referral).status == "stored"
    with database.session() as session:
        worker = create_user(session, "cara@office.example.org.uk", PASSWORD, role="caseworker")
        casework.close(session, cases.get(session, reference), who=worker, reason="sorted")
    smtp_server.clear()
    day = today()
    # When the job runs later today: nothing yet (the day's changes are combined)
    counts = status_emails.send_status_emails(database, settings, now=utcnow())
    assert counts.queued == 0 and to(smtp_server, "zoe@example.ie") == []
    # When it runs the next morning, twice
    tomorrow = day + timedelta(days=1)
    first = status_emails.send_status_emails(database, settings, now=at(tomorrow, 8))
    again = status_emails.send_status_emails(database, settings, now=at(tomorrow, 11))
    # Then one email describes the latest state, closed, with what happened before it
    assert (first.queued, first.sent, again.queued, again.sent) == (1, 1, 0, 0)
    received = to(smtp_server, "zoe@example.ie")
    assert len(received) == 1
    email = received[0]
    assert email["Subject"].startswith("Your enquiry is now closed: Universal Credit stopped")
    assert f"[{reference}]" in email["Subject"]
    assert email["Auto-Submitted"] == "auto-generated"
    text = email.get_body(("plain",)).get_content()
    assert "your case is now closed" in text
    assert f"Referred to {DWP_NAME} on" in text and f"Reply received from {DWP_NAME} on" in text
    assert "Case closed on" in text and "sorted" not in text  # never the office's reasons
    # And the database says so: one row for the day, one letter, on the case's timeline
    with database.session() as session:
        case = cases.get(session, reference)
        rows = session.scalars(select(StatusEmail).where(StatusEmail.case_id == case.id)).all()
        assert [(r.sent_on, r.latest, r.changes) for r in rows] == [(tomorrow, "closed", 3)]
        letter = session.get(OutboxLetter, rows[0].outbox_letter_id)
        assert letter is not None and letter.status == "sent"
        assert letter.once_key == f"status:{case.id}:{tomorrow.isoformat()}"
    # And the day after, with nothing new, nothing more is sent
    later = status_emails.send_status_emails(database, settings, now=at(day + timedelta(2), 8))
    assert later.queued == 0 and len(to(smtp_server, "zoe@example.ie")) == 1


def test_a_referral_alone_is_told_as_referred_with_the_status_link(database, smtp_server, tmp_path):
    base = "https://mailbag.example.org.uk"
    settings = informing_settings(tmp_path, smtp_server, base_url=base, secret_key="k" * 40)
    pipeline = Pipeline(settings)
    reference = constituent_writes(database, pipeline)
    refer(database, settings, reference)
    smtp_server.clear()
    when = at(today() + timedelta(1), 9)
    status_emails.send_status_emails(database, settings, now=when)
    [email] = to(smtp_server, "zoe@example.ie")
    assert email["Subject"].startswith("An update on your enquiry")
    text = email.get_body(("plain",)).get_content()
    assert f"I have taken up your case with {DWP_NAME}" in text
    assert "What has happened on your case" not in text  # one change: the body says it
    # And the private status link opens this case's status page
    link = next(w for w in text.split() if w.startswith(f"{base}/status/"))
    with database.session() as session:
        found = status_links.check(session, settings, link.rsplit("/", 1)[1], when)
        assert found.state == "valid" and found.case_id == cases.get(session, reference).id


def test_a_status_email_and_an_acknowledgement_do_not_hold_each_other_back(
    database, smtp_server, tmp_path
):
    base = "https://mailbag.example.org.uk"
    settings = informing_settings(tmp_path, smtp_server, base_url=base, secret_key="k" * 40)
    acknowledging = dataclasses.replace(settings, auto_acknowledge=True)
    reference = constituent_writes(database, Pipeline(settings))
    refer(database, settings, reference)
    tomorrow = today() + timedelta(days=1)
    # Given Zoe got tomorrow's status email at 08:00
    sent = status_emails.send_status_emails(database, settings, now=at(tomorrow, 8))
    assert sent.sent == 1
    # When she writes about something new at 09:00 (a new case)
    with database.session() as session:
        first = cases.get(session, reference)
        new_case = cases.open_case(
            session,
            prefix=settings.case_prefix,
            subject="Bins not collected",
            subject_key="bins not collected",
            constituent_id=first.constituent_id,
            opened_at=at(tomorrow, 9),
        )
        mail = IncomingMail("zoe@example.ie", "constituent", written_at=at(tomorrow, 8, 55))
        acknowledged = acknowledge_case(session, acknowledging, new_case, mail, at(tomorrow, 9))
        new_reference = new_case.reference
    # Then the new case is acknowledged all the same
    assert (acknowledged.reason, acknowledged.letter is not None) == ("queued", True)
    # And after that acknowledgement, the status link she asks for at 09:30 still goes
    with database.session() as session:
        wanted = LinkRequest("zoe@example.ie", new_reference)
        asked = request_link(session, settings, wanted, "198.51.100.7", at(tomorrow, 9, 30))
    assert asked is not None
    # And a status email about the new case goes at noon, three hours after its acknowledgement
    # (its referral is recorded at the test's real time, so before tomorrow: news by noon)
    refer(database, settings, new_reference)
    told = status_emails.send_status_emails(database, settings, now=at(tomorrow, 12))
    assert (told.queued, told.sent) == (1, 1)
    # But a second new case within the day is still not acknowledged (the loop guard stands)
    with database.session() as session:
        third = cases.open_case(
            session,
            prefix=settings.case_prefix,
            subject="Parking",
            subject_key="parking",
            constituent_id=first.constituent_id,
            opened_at=at(tomorrow, 10),
        )
        mail = IncomingMail("zoe@example.ie", "constituent", written_at=at(tomorrow, 9, 55))
        again = acknowledge_case(session, acknowledging, third, mail, at(tomorrow, 10))
    assert again.letter is None
    assert again.reason == "this address was acknowledged automatically in the last day"


def test_no_status_email_when_the_office_has_them_off_or_the_case_opted_out(
    database, smtp_server, tmp_path
):
    on = informing_settings(tmp_path, smtp_server)
    off = informing_settings(tmp_path, smtp_server, status_emails=False)
    pipeline = Pipeline(on)
    kept = constituent_writes(database, pipeline, who="zoe")
    stopped = constituent_writes(database, pipeline, who="yan")
    refer(database, on, kept)
    refer(database, on, stopped)
    with database.session() as session:
        assert status_emails.opt_out(session, stopped, who="Cara", reason="asked by phone")
    smtp_server.clear()
    tomorrow = at(today() + timedelta(1), 8)
    # When the office has them off, nothing is sent and nothing is recorded
    counts = status_emails.send_status_emails(database, off, now=tomorrow)
    assert counts.off and smtp_server.received == []
    with database.session() as session:
        assert session.scalar(select(func.count(StatusEmail.id))) == 0
    # When they are on, only the case that did not opt out hears
    counts = status_emails.send_status_emails(database, on, now=tomorrow)
    assert counts.sent == 1
    assert len(to(smtp_server, "zoe@example.ie")) == 1 and to(smtp_server, "yan@example.ie") == []
    with database.session() as session:
        stopped_case = cases.get(session, stopped)
        summaries = [e.summary for e in cases.timeline(session, stopped_case.id)]
        assert "Status emails stopped by Cara: asked by phone" in summaries


def test_the_scheduler_sends_status_emails_through_the_periodic_job(
    database, smtp_server, tmp_path, monkeypatch
):
    from apscheduler.schedulers.background import BackgroundScheduler

    from crm.informing import periodic
    from crm.workers import runtime

    settings = informing_settings(tmp_path, smtp_server)
    # The scheduler adds the job only when the office can send mail
    assert not periodic.schedule(BackgroundScheduler(), Settings())
    scheduler = BackgroundScheduler()
    assert periodic.schedule(scheduler, settings) and scheduler.get_job("informing") is not None
    # And the worker's actor sends what is due
    pipeline = Pipeline(settings)
    reference = constituent_writes(database, pipeline)
    refer(database, settings, reference)
    smtp_server.clear()
    monkeypatch.setattr(runtime, "_current", runtime.Runtime(settings, database))
    periodic.send_status_emails_now(at(today() + timedelta(1), 8).isoformat())
    periodic.send_digests_now(at(today() + timedelta(1), 8).isoformat())  # none chosen: none
    assert len(to(smtp_server, "zoe@example.ie")) == 1 and len(smtp_server.received) == 1


def test_staff_stop_status_emails_from_the_case_page(client, database, office):
    sign_in(client, CASEWORKER)
    page = client.get(f"/cases/{office.in_ward}").text
    assert "Stop them for this case" in page
    token = csrf_token(page)
    url = f"/cases/{office.in_ward}/status-emails"
    response = client.post(url, data={"action": "stop", "_csrf_token": token})
    assert response.status_code == 200 and "Resume them" in response.text
    with database.session() as session:
        case = cases.get(session, office.in_ward)
        assert status_emails.is_opted_out(session, case.id)
    client.post(url, data={"action": "resume", "_csrf_token": token})
    with database.session() as session:
        assert not status_emails.is_opted_out(session, case.id)
    # A councillor cannot
    client.cookies.clear()
    sign_in(client, COUNCILLOR)
    assert client.post(url, data={"action": "stop", "_csrf_token": token}).status_code == 403


# --- councillors' digests --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "when", "period"),
    [
        ("daily", at(date(2026, 11, 24), 6, 59), None),
        ("daily", at(date(2026, 11, 24), 7, 0), "2026-11-24"),
        ("daily", at(date(2026, 7, 1), 7, 30), "2026-07-01"),  # 06:30 UTC: London time counts
        ("weekly", at(date(2026, 11, 23), 6, 59), None),  # Monday before seven
        ("weekly", at(date(2026, 11, 23), 7, 0), "2026-W48"),
        ("weekly", at(date(2026, 11, 29), 22, 0), "2026-W48"),  # Sunday: the same week
        ("weekly", at(date(2027, 1, 1), 9, 0), "2026-W53"),
        ("none", at(date(2026, 11, 24), 9, 0), None),
    ],
)
def test_a_digest_is_due_once_per_day_or_week_from_seven_in_the_morning(frequency, when, period):
    assert digests.period_of(frequency, when) == period


def digest_env(database: Database, smtp_server: SmtpServer, tmp_path: Path) -> dict[str, str]:
    return {
        "MAILBAG_DATA_DIR": str(tmp_path / "data"),
        "MAILBAG_DATABASE_URL": database.url,
        "MAILBAG_SMTP_HOST": "127.0.0.1",
        "MAILBAG_SMTP_PORT": str(smtp_server.port),
        "MAILBAG_SMTP_STARTTLS": "off",
        "MAILBAG_FROM_ADDRESS": "Office of Jane Doe MP <casework@office.example.org.uk>",
        "MAILBAG_REPRESENTATIVE_NAME": "Jane Doe MP",
        "MAILBAG_RESPONSE_DAYS": ",".join(f"{k}={v}" for k, v in FAR),
        "MAILBAG_BASE_URL": "https://mailbag.example.org.uk",
    }


def run_digests(env: dict[str, str], when: datetime) -> str:
    result = CliRunner().invoke(main, ["digest", "send", "--now", when.isoformat()], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def raise_for(database: Database, settings: Settings, email: str, postcode: str, due: date) -> str:
    from crm.informing.requests import RequestForm, raise_case

    with database.session() as session:
        user = session.scalar(select(User).where(User.email == email))
        assert user is not None
        raised = raise_case(
            session,
            settings,
            user,
            RequestForm(
                name="Ada Resident",
                email=f"ada.{postcode.replace(' ', '').lower()}@example.net",
                address="1 High Street",
                postcode=postcode,
                consent=True,
                wanted=f"Help with the drains in {postcode}",
                due_on=due.isoformat(),
            ),
            utcnow(),
        )
        return raised.reference


def test_daily_and_weekly_digests_once_per_period_with_deadlines_and_only_visible_cases(
    database, pipeline, smtp_server, tmp_path
):
    office = build_office(database, pipeline)
    settings = office_settings(tmp_path, smtp_server.port, response_days=FAR)
    env = digest_env(database, smtp_server, tmp_path)
    monday = coming_monday()
    with database.session() as session:
        east = create_user(
            session, EAST, PASSWORD, role="councillor", name="Cllr East", wards=["EX9"]
        )
        ward = session.scalar(select(User).where(User.email == COUNCILLOR))
        assert ward is not None
        digests.set_frequency(session, ward, "daily")
        digests.set_frequency(session, east, "weekly")
    # Given changes after they chose: a closure in each ward, one on the safeguarding case,
    # and a case each councillor raised, due early next week
    with database.session() as session:
        worker = session.scalar(select(User).where(User.email == CASEWORKER))
        for reference in (office.in_ward, office.other_ward, office.safeguarding):
            casework.close(session, cases.get(session, reference), who=worker)
    ward_request = raise_for(database, settings, COUNCILLOR, "EX1 5XY", monday + timedelta(1))
    east_request = raise_for(database, settings, EAST, "EX9 5XY", monday + timedelta(2))
    # When the job runs on Monday morning, and again an hour later
    run_digests(env, at(monday, 8))
    run_digests(env, at(monday, 9))
    # Then each councillor has exactly one digest, about their own cases only
    [for_ward] = to(smtp_server, COUNCILLOR)
    [for_east] = to(smtp_server, EAST)
    ward_text = for_ward.get_body(("plain",)).get_content()
    east_text = for_east.get_body(("plain",)).get_content()
    assert for_ward["Subject"].startswith("Your daily casework digest")
    assert for_east["Subject"].startswith("Your weekly casework digest")
    assert office.in_ward in ward_text and "Closed by" in ward_text
    assert ward_request in ward_text and "New case opened on" in ward_text
    assert office.other_ward in east_text and east_request in east_text
    for hidden in (office.other_ward, east_request, office.safeguarding):
        assert hidden not in ward_text and hidden not in for_ward.get_body(("html",)).get_content()
    for hidden in (office.in_ward, ward_request, office.safeguarding, office.hostile):
        assert hidden not in east_text
    # And the deadlines of the coming week are listed, with a link to each case
    assert "Deadlines in the next 7 days:" in ward_text
    due = f"{(monday + timedelta(1)).day} "
    assert f"- {due}" in ward_text and "asked for by Cllr Ward" in ward_text
    assert f"https://mailbag.example.org.uk/cases/{ward_request}" in ward_text
    assert "asked for by Cllr East" in east_text
    assert for_ward["Auto-Submitted"] == "auto-generated"
    # When it runs before seven the next day: nothing; after seven: the daily one only
    run_digests(env, at(monday + timedelta(1), 6, 30))
    assert len(smtp_server.received) == 2
    run_digests(env, at(monday + timedelta(1), 8))
    assert len(to(smtp_server, COUNCILLOR)) == 2 and len(to(smtp_server, EAST)) == 1
    second = to(smtp_server, COUNCILLOR)[1].get_body(("plain",)).get_content()
    assert "No changes on your residents' cases since" in second and ward_request in second
    # When a week has passed with nothing to tell: each period is done once, no email
    output = run_digests(env, at(monday + timedelta(7), 8))
    assert "2 with nothing to say" in output and len(smtp_server.received) == 3
    run_digests(env, at(monday + timedelta(7), 9))
    with database.session() as session:
        periods = session.execute(
            select(DigestSent.user_id, DigestSent.period, DigestSent.status).order_by(
                DigestSent.user_id, DigestSent.id
            )
        ).all()
    assert [(p, s) for u, p, s in periods if u == ward.id] == [
        (monday.isoformat(), "sent"),
        ((monday + timedelta(1)).isoformat(), "sent"),
        ((monday + timedelta(7)).isoformat(), "empty"),
    ]
    assert [(p, s) for u, p, s in periods if u == east.id] == [
        (iso_week(monday), "sent"),
        (iso_week(monday + timedelta(7)), "empty"),
    ]


def test_two_schedulers_cannot_claim_one_period_twice(database):
    with database.session() as session:
        user = create_user(session, EAST, PASSWORD, role="councillor", wards=["EX9"])
        user_id = user.id
    row = {
        "user_id": user_id,
        "period": "2026-W48",
        "frequency": "weekly",
        "covered_from": utcnow(),
        "covered_until": utcnow(),
        "status": "sending",
    }
    with database.session() as session:
        session.add(DigestSent(**row))
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(DigestSent(**row))
        session.flush()


def test_the_councillor_chooses_daily_weekly_or_none_on_their_digest_page(client, database, office):
    sign_in(client, COUNCILLOR)
    page = client.get("/councillor/digest").text
    assert 'value="none" checked' in page
    token = csrf_token(page)
    response = client.post("/councillor/digest", data={"frequency": "weekly", "_csrf_token": token})
    assert response.status_code == 200 and 'value="weekly" checked' in response.text
    bad = client.post("/councillor/digest", data={"frequency": "hourly", "_csrf_token": token})
    assert bad.status_code == 400 and "Choose how often" in bad.text
    with database.session() as session:
        ward = session.scalar(select(User).where(User.email == COUNCILLOR))
        assert ward is not None and digests.frequency_of(session, ward.id) == "weekly"


def test_erasing_the_resident_takes_the_request_and_status_email_records_with_the_case(
    database, pipeline, smtp_server, tmp_path
):
    from crm.informing.models import StatusEmailOptOut
    from crm.privacy.erasure import erase_person

    build_office(database, pipeline)
    settings = office_settings(tmp_path, smtp_server.port)
    reference = raise_for(database, settings, COUNCILLOR, "EX1 5XY", today() + timedelta(3))
    with database.session() as session:
        status_emails.opt_out(session, reference, who="Cara")
    with database.session() as session:
        erase_person(session, "ada.ex15xy@example.net", who="test")
    with database.session() as session:
        assert cases.by_reference(session, reference) is None
        for model in (CouncillorRequest, StatusEmailOptOut, StatusEmail):
            assert session.scalar(select(func.count()).select_from(model)) == 0


def test_a_digest_the_server_did_not_take_is_tried_again_in_its_period_but_a_refusal_is_not(
    database, pipeline, smtp_server, tmp_path
):
    from tests.support.smtp import free_port

    build_office(database, pipeline)
    settings = office_settings(tmp_path, smtp_server.port, response_days=FAR)
    down = office_settings(tmp_path, free_port(), response_days=FAR)
    with database.session() as session:
        east = create_user(session, EAST, PASSWORD, role="councillor", wards=["EX9"])
        ward = session.scalar(select(User).where(User.email == COUNCILLOR))
        assert ward is not None
        digests.set_frequency(session, ward, "daily")
        digests.set_frequency(session, east, "daily")
    day = today() + timedelta(days=1)
    raise_for(database, settings, COUNCILLOR, "EX1 5XY", day)
    raise_for(database, settings, EAST, "EX9 5XY", day)
    smtp_server.reject(EAST)
    # When the server is down, both fail; when it is back, the one it refused is not retried
    failed = digests.send_digests(database, down, now=at(day, 8))
    assert (failed.failed, failed.sent) == (2, 0)
    back = digests.send_digests(database, settings, now=at(day, 9))
    assert (back.sent, back.failed) == (1, 1)
    again = digests.send_digests(database, settings, now=at(day, 10))
    assert (again.sent, again.failed, again.already) == (0, 0, 2)
    assert len(to(smtp_server, COUNCILLOR)) == 1 and to(smtp_server, EAST) == []
    with database.session() as session:
        rows = dict(session.execute(select(DigestSent.user_id, DigestSent.error)).all())
    assert rows[ward.id] == "" and rows[east.id].startswith("permanent: recipient refused")


def test_a_case_pages_next_deadline_counts_only_replies_on_the_sweeps_clock():
    """The case page hands over the follow-ups it has read (escalated ones too, for its
    Deadlines panel); only an open or chased one is a deadline, the soonest first."""
    now = utcnow()

    def waiting(party: str, status: str, due_in_days: int) -> Waiting:
        due = now + timedelta(days=due_in_days)
        return Waiting(1, 1, "MB-2026-000001", party, status, now, due, 0, "")

    case = Case(id=1, reference="MB-2026-000001", status=cases.OPEN)
    follow_ups = [
        waiting("the council", ESCALATED, 1),
        waiting("HMRC", HELD, 2),
        waiting("the DWP", CHASED, 9),
        waiting("the Home Office", WAITING, 5),
    ]
    found = next_deadline(case, None, None, follow_ups)
    assert found is not None and found.what == "reply from the Home Office"
    assert next_deadline(case, None, None, follow_ups[:2]) is None
    closed = Case(id=1, reference="MB-2026-000001", status=cases.CLOSED)
    assert next_deadline(closed, None, None, follow_ups) is None
