"""The weekly review, on SQLite and PostgreSQL: the workbook opened again with openpyxl and
checked against a known office, sheet by sheet; restricted cases counted but not described;
the email that reaches a real SMTP server with the workbook attached."""

from __future__ import annotations

import hashlib
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner
from litestar.testing import TestClient
from openpyxl import Workbook as OpenpyxlWorkbook
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.audit import AuditEntry
from crm.campaigns.models import Campaign, CampaignMember, CampaignSignature
from crm.db import Database
from crm.errors import SettingsError
from crm.followups.models import CHASED, ESCALATED, OPEN, SATISFIED, SENT, ChaseAttempt, FollowUp
from crm.models import Blob, Case, Constituent, ConstituentEmail, Message
from crm.outgoing.models import Organisation
from crm.reports import cells
from crm.reports.errors import ReportError
from crm.reports.make import make_workbook
from crm.reports.sensitivity import WITHHELD
from crm.reports.weekly import week_for
from crm.settings import Settings
from crm.tags.models import CaseTag
from crm.tags.names import require_active
from crm.tags.seed import ensure_seeded
from crm.users.models import CASEWORKER, OFFICE_MANAGER, User
from crm.users.service import create_user
from mailbag.cli import main
from tagging.axes import Axis
from tests.support.smtp import SmtpServer
from tests.support.smtp_fixtures import OFFICE, office_settings
from tests.support.web import PASSWORD, sign_in
from tests.support.workers import (
    Process,
    RedisSpace,
    redis_space,  # noqa: F401 - a fixture
    settings_env,
    wait_until,
)
from web.app import create_app

WEEK_ENDING = date(2026, 7, 12)  # a Sunday: the week is Mon 6 to Sun 12 July (BST)
DWP = "Department for Work and Pensions"
UKVI = "UK Visas and Immigration"
COUNCIL = "council.example.gov.uk"
CAMPAIGN = "=Save our library"  # named from subjects: hostile text too
HOSTILE = {
    "damp": '=HYPERLINK("http://x","y")',
    "uc": "+cmd|' /C calc'!A0",
    "pip": "@SUM(1)",
    "visa": "-2+3",
}
_numbers = itertools.count(1)


def at(day: int, month: int = 7, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@dataclass
class CaseSpec:
    """One case of the sample office, told the way a caseworker would tell it."""

    key: str
    subject: str
    constituent: str
    opened: datetime
    issue: str
    urgency: str
    urgency_set: datetime | None = None
    sensitivity: str = "standard"
    transferability: str = "office can resolve"
    owner: str | None = None
    closed: datetime | None = None
    messages: int = 1
    secondary: list[str] = field(default_factory=list)


OFFICE_CASES = [
    # Opened this week, open, due after the week: not overdue. Waits on the council.
    CaseSpec(
        "damp",
        HOSTILE["damp"],
        "Mary Jones",
        at(8),
        "Housing › Damp and mould",
        "high",
        owner="sam",
        messages=2,
        secondary=["Social care › Adult social care"],
    ),
    # Opened and closed this week.
    CaseSpec(
        "uc",
        HOSTILE["uc"],
        "Kyle Robertson",
        at(7),
        "Benefits and Universal Credit › Universal Credit",
        "normal",
        owner="priya",
        closed=at(10),
    ),
    # Old, open, overdue; the DWP was chased once and answered an earlier letter in 10 days.
    CaseSpec(
        "pip",
        HOSTILE["pip"],
        "Lukasz Wojcik",
        at(1, 6),
        "Benefits and Universal Credit › PIP",
        "normal",
        owner="sam",
        messages=3,
        transferability="refer to a government department",
    ),
    # Special category (immigration status), unassigned, overdue; UKVI escalated.
    CaseSpec(
        "visa",
        HOSTILE["visa"],
        "Tendai Moyo",
        at(20, 5),
        "Immigration and visas › Visa applications and delays",
        "low",
        sensitivity="special category",
    ),
    # Safeguarding, opened this week, immediate: overdue by the end of the week.
    CaseSpec(
        "crisis",
        "Daniel is at risk tonight",
        "Daniel Reid",
        at(9),
        "Housing › Homelessness",
        "immediate",
        sensitivity="safeguarding",
    ),
    # Long closed: in the trend's history, not in this week's review.
    CaseSpec(
        "repairs",
        "Broken boiler",
        "Chloe Bennett",
        at(1, 4),
        "Housing › Repairs",
        "normal",
        closed=at(22, 4),
    ),
    # Opened and closed inside the trend, before this week; the DWP answered in 6 days.
    CaseSpec(
        "tax",
        "Tax code wrong",
        "Gillian Marsh",
        at(22, 6),
        "HMRC and tax › Tax codes",
        "normal",
        owner="priya",
        closed=at(30, 6),
    ),
    # Opened after the week: in no figure of it.
    CaseSpec(
        "later",
        "Potholes again",
        "Dennis Okoro",
        at(14),
        "Roads and transport › Potholes and road repairs",
        "low",
    ),
]


@dataclass
class Office:
    ids: dict[str, int]
    references: dict[str, str]
    emails: dict[str, str]


def build_office(database: Database) -> Office:
    """The sample office: users, cases with tags and messages, follow-ups with chases."""
    with database.session() as session:
        ensure_seeded(session)
        users = {
            "sam": User(
                email="sam@office.example.org.uk",
                name="Sam Patel",
                role=CASEWORKER,
                password_hash="x",
            ),
            "priya": User(
                email="priya@office.example.org.uk",
                name="Priya Shah",
                role=OFFICE_MANAGER,
                password_hash="x",
            ),
        }
        session.add_all(users.values())
        session.flush()
        office = Office({}, {}, {})
        for spec in OFFICE_CASES:
            case = _case(session, spec, users)
            office.ids[spec.key], office.references[spec.key] = case.id, case.reference
            office.emails[spec.key] = _email(spec)
        _follow_ups(session, office.ids)
        _campaign(session)
    return office


def _case(session: Session, spec: CaseSpec, users: dict[str, User]) -> Case:
    number = next(_numbers)
    person = Constituent(name=spec.constituent)
    session.add(person)
    session.flush()
    email = _email(spec)
    session.add(ConstituentEmail(email=email, constituent_id=person.id))
    case = Case(
        reference=f"MB-2026-{number:06d}",
        subject=spec.subject,
        subject_key=spec.subject.lower(),
        status="closed" if spec.closed else "open",
        constituent_id=person.id,
        opened_at=spec.opened,
        last_activity_at=spec.closed or spec.opened + timedelta(days=1),
        closed_at=spec.closed,
        owner_id=users[spec.owner].id if spec.owner else None,
    )
    session.add(case)
    session.flush()
    values = {
        Axis.ISSUE: spec.issue,
        Axis.URGENCY: spec.urgency,
        Axis.SENSITIVITY: spec.sensitivity,
        Axis.TRANSFERABILITY: spec.transferability,
    }
    for axis, value in values.items():
        when = spec.urgency_set or spec.opened
        _tag(session, case, axis, value, when, primary=True)
    for value in spec.secondary:
        _tag(session, case, Axis.ISSUE, value, spec.opened, primary=False)
    for n in range(spec.messages):
        _message(session, case, person, email, spec.opened + timedelta(hours=n))
    return case


def _email(spec: CaseSpec) -> str:
    return f"{spec.constituent.lower().replace(' ', '.')}@example.com"


def _tag(
    session: Session, case: Case, axis: Axis, value: str, when: datetime, *, primary: bool
) -> None:
    tag = require_active(session, axis, value)
    session.add(
        CaseTag(
            case_id=case.id,
            tag_id=tag.id,
            axis=axis,
            slot=axis if primary else None,
            source="manual",
            who="test",
            tagged_at=when,
        )
    )


def _message(session: Session, case: Case, person: Constituent, email: str, when: datetime) -> None:
    data = f"message {case.reference} {when.isoformat()}".encode()
    sha = hashlib.sha256(data).hexdigest()
    session.add(Blob(sha256=sha, size=len(data), data=data))
    session.add(
        Message(
            dedupe_key=sha,
            blob_sha256=sha,
            direction="in",
            kind="constituent",
            case_id=case.id,
            constituent_id=person.id,
            from_address=email,
            subject=case.subject,
            received_at=when,
        )
    )


def _follow_ups(session: Session, ids: dict[str, int]) -> None:
    dwp, ukvi = Organisation(name=DWP), Organisation(name=UKVI)
    session.add_all([dwp, ukvi])
    session.flush()

    def follow_up(
        key: str, org: Organisation | None, party: str, opened: datetime, status: str, **extra: Any
    ) -> FollowUp:
        row = FollowUp(
            case_id=ids[key],
            organisation_id=org.id if org else None,
            party_key=party,
            party_address=f"casework@{party}",
            opened_at=opened,
            due_at=opened + timedelta(days=21),
            grace_days=21,
            status=status,
            **extra,
        )
        session.add(row)
        session.flush()
        return row

    # The DWP: one chased and still waiting; two answered inside the twelve weeks (10, 6 days).
    chased = follow_up("pip", dwp, "org:dwp", at(5, 6), CHASED)
    session.add(
        ChaseAttempt(
            follow_up_id=chased.id,
            attempt_number=1,
            state=SENT,
            template="chase_first",
            reserved_at=at(26, 6),
            sent_at=at(26, 6),
        )
    )
    follow_up("pip", dwp, "org:dwp", at(1, 6), SATISFIED, satisfied_at=at(11, 6))
    follow_up("tax", dwp, "org:dwp", at(23, 6), SATISFIED, satisfied_at=at(29, 6))
    # UKVI: chased twice, then escalated to the representative.
    escalated = follow_up("visa", ukvi, "org:ukvi", at(21, 5), ESCALATED, escalated_at=at(25, 6))
    for n in (1, 2):
        session.add(
            ChaseAttempt(
                follow_up_id=escalated.id,
                attempt_number=n,
                state=SENT,
                template="chase",
                reserved_at=at(10 + 7 * n, 6),
                sent_at=at(10 + 7 * n, 6),
            )
        )
    # A council with no directory entry: known by its domain; due after the week.
    follow_up("damp", None, f"domain:{COUNCIL}", at(9), OPEN)


def _campaign(session: Session) -> None:
    """A campaign: three letters this week (two from constituents), one the week before."""
    campaign = Campaign(name=CAMPAIGN, template_text="Please save our library.", members=4)
    session.add(campaign)
    session.flush()
    letters = [(at(6, 7), True), (at(8, 7), True), (at(11, 7), False), (at(1, 7), None)]
    for n, (written, inside) in enumerate(letters):
        person = Constituent(name=f"Library supporter {n}")
        session.add(person)
        session.flush()
        signature = CampaignSignature(
            message_key=f"campaign-{n}",
            constituent_id=person.id,
            campaign_id=campaign.id,
            minhash=b"\0" * 8,
            words=40,
            written_at=written,
        )
        session.add(signature)
        session.flush()
        session.add(
            CampaignMember(
                campaign_id=campaign.id,
                signature_id=signature.id,
                constituent_id=person.id,
                is_constituent=inside,
                written_at=written,
            )
        )


def make(database: Database, settings: Settings, tmp_path: Path, audience: str) -> Workbook:
    path = tmp_path / f"review-{audience}.xlsx"
    made = make_workbook(database, settings, path, week_ending=WEEK_ENDING, audience=audience)
    assert made.review.week.ending == WEEK_ENDING
    return load_workbook(path)


def table(ws: Worksheet, title: str) -> dict[str, list[Any]]:
    """A Summary table by its section title: first column -> the other columns."""
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row[0] == title) + 2
    found: dict[str, list[Any]] = {}
    for row in rows[start:]:
        if row[0] is None:
            break
        found[row[0] if isinstance(row[0], str) else row[0].date().isoformat()] = list(row[1:5])
    return found


def records(ws: Worksheet) -> list[dict[str, Any]]:
    header, *rows = ws.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def everything(book: Workbook) -> str:
    return "\n".join(
        str(value)
        for ws in book.worksheets
        for row in ws.iter_rows(values_only=True)
        for value in row
        if value is not None
    )


def test_the_summary_counts_the_week_and_its_trend(database, settings, tmp_path):
    # Given the sample office
    build_office(database)
    # When the office manager's review of the week ending Sunday 12 July is made
    book = make(database, settings, tmp_path, OFFICE_MANAGER)
    # Then the sheets are there, in order
    assert book.sheetnames == ["Summary", "Cases", "Waiting on third parties", "Tags", "Campaigns"]
    summary = book["Summary"]
    # New: damp, uc, crisis; closed: uc; open at the end: damp, pip, visa, crisis;
    # overdue: pip and visa (long past), crisis (immediate: one working day)
    assert table(summary, "This week") == {"Cases": [3, 1, 4, 3]}
    trend = table(summary, "Last 12 weeks")
    assert len(trend) == 12 and list(trend)[-1] == "2026-07-12"
    assert trend["2026-07-12"] == [3, 1, 4, 3]
    assert trend["2026-07-05"] == [0, 1, 2, 2]  # tax closed on 30 June
    assert trend["2026-06-28"] == [1, 0, 3, 2]  # tax opened on 22 June
    assert trend["2026-04-26"] == [0, 1, 0, 0]  # the boiler, closed 22 April
    assert table(summary, "By primary issue") == {
        "Housing": [2, 0, 2, 1],
        "Benefits and Universal Credit": [1, 1, 1, 1],
        "Immigration and visas": [0, 0, 1, 1],
    }
    assert table(summary, "By caseworker") == {
        "(unassigned)": [1, 0, 2, 2],
        "Sam Patel": [1, 0, 2, 1],
        "Priya Shah": [1, 1, 0, 0],
    }
    assert table(summary, "By urgency") == {
        "immediate": [1, 0, 1, 1],
        "high": [1, 0, 1, 0],
        "normal": [1, 1, 1, 1],
        "low": [0, 0, 1, 1],
    }
    # And the trend and the issues are charts too; the title rows stay in view
    assert len(summary._charts) == 2
    assert summary.freeze_panes == "A4"
    week_cell = next(r[0] for r in summary.iter_rows() if r[0].value == "Week ending")
    first_week = summary.cell(row=week_cell.row + 1, column=1)
    assert isinstance(first_week.value, datetime) and first_week.number_format == "dd/mm/yyyy"
    assert "2 safeguarding or special-category case(s)" in everything(book)


def test_the_cases_sheet_lists_the_cases_in_play_with_real_dates(database, settings, tmp_path):
    office = build_office(database)
    book = make(database, settings, tmp_path, OFFICE_MANAGER)
    cases = book["Cases"]
    assert [c.value for c in cases[1]] == [
        "Reference",
        "Status",
        "Constituent",
        "Constituent email",
        "Subject",
        "Opened",
        "Last activity",
        "Issue",
        "Urgency",
        "Sensitivity",
        "Transferability",
        "Owner",
        "Messages",
        "Waiting on",
        "Chase due",
    ]
    assert cases.freeze_panes == "B2"
    assert cases.auto_filter.ref == "A1:O6"
    rows = {row["Reference"]: row for row in records(cases)}
    # Oldest first; the long-closed case and the one opened after the week are not listed
    order = ["visa", "pip", "uc", "damp", "crisis"]
    assert list(rows) == [office.references[key] for key in order]
    pip = rows[office.references["pip"]]
    assert pip["Constituent"] == "Lukasz Wojcik"
    assert pip["Issue"] == "Benefits and Universal Credit › PIP"
    assert (pip["Urgency"], pip["Sensitivity"]) == ("normal", "standard")
    assert pip["Owner"] == "Sam Patel" and pip["Messages"] == 3
    assert pip["Waiting on"] == DWP
    # Dates are Excel dates in the office's time (10:00 UTC is 11:00 BST)
    assert pip["Opened"] == datetime(2026, 6, 1, 11, 0)
    assert pip["Chase due"] == datetime(2026, 6, 26, 11, 0)
    damp = rows[office.references["damp"]]
    assert damp["Waiting on"] == COUNCIL and damp["Status"] == "open"
    visa = rows[office.references["visa"]]
    assert visa["Waiting on"] == UKVI and visa["Chase due"] is None  # escalated: no more chases
    row = next(r for r in cases.iter_rows(min_row=2) if r[0].value == office.references["pip"])
    opened, activity = row[5], row[6]
    assert opened.is_date and activity.is_date and opened.number_format == "dd/mm/yyyy hh:mm"


def test_formula_like_subjects_arrive_as_text(database, settings, tmp_path):
    office = build_office(database)
    book = make(database, settings, tmp_path, OFFICE_MANAGER)
    cells = {row[0].value: row[4] for row in book["Cases"].iter_rows(min_row=2)}
    for key, subject in HOSTILE.items():
        cell = cells[office.references[key]]
        assert cell.value == subject
        assert cell.data_type == "s", f"{subject!r} was stored as {cell.data_type}"
        assert cell.quotePrefix


def test_waiting_on_third_parties_by_organisation(database, settings, tmp_path):
    build_office(database)
    book = make(database, settings, tmp_path, OFFICE_MANAGER)
    ws = book["Waiting on third parties"]
    assert ws.freeze_panes == "B2" and ws.auto_filter.ref == "A1:H4"
    found = {row["Organisation"]: row for row in records(ws)}
    assert set(found) == {DWP, UKVI, COUNCIL}
    dwp = found[DWP]
    # One outstanding (since 5 June, 37 days at the week's end), past due, chased once;
    # replies in 10 and 6 days: a median of 8
    assert (dwp["Open follow-ups"], dwp["Past due"], dwp["Oldest (days)"]) == (1, 1, 37)
    assert (dwp["Chases sent"], dwp["Escalated"]) == (1, 0)
    assert dwp["Median reply (days, 12 weeks)"] == 8.0 and dwp["Replies (12 weeks)"] == 2
    ukvi = found[UKVI]
    assert (ukvi["Open follow-ups"], ukvi["Chases sent"], ukvi["Escalated"]) == (1, 2, 1)
    assert ukvi["Median reply (days, 12 weeks)"] is None and ukvi["Replies (12 weeks)"] == 0
    council = found[COUNCIL]
    assert (council["Open follow-ups"], council["Past due"], council["Oldest (days)"]) == (1, 0, 3)


def test_tags_sheet_shows_usage_of_every_value(database, settings, tmp_path):
    build_office(database)
    book = make(database, settings, tmp_path, OFFICE_MANAGER)
    ws = book["Tags"]
    assert ws.freeze_panes == "C2" and ws.auto_filter.ref.startswith("A1:I")
    usage = {(row["Axis"], row["Tag"]): row for row in records(ws)}
    damp = usage[("issue", "Housing › Damp and mould")]
    assert (damp["Cases"], damp["Primary"], damp["Open at week end"], damp["New this week"]) == (
        1,
        1,
        1,
        1,
    )
    assert isinstance(damp["Last applied"], datetime)
    social = usage[("issue", "Social care › Adult social care")]
    assert (social["Cases"], social["Primary"], social["Secondary issue"]) == (1, 0, 1)
    normal = usage[("urgency", "normal")]
    assert (normal["Cases"], normal["Open at week end"], normal["New this week"]) == (4, 1, 1)
    # Unused values are listed too, to prune the taxonomy
    unused = usage[("issue", "Planning › Planning enforcement")]
    assert (unused["Cases"], unused["Primary"], unused["Secondary issue"]) == (0, 0, 0)
    assert unused["Last applied"] is None
    axes = [row["Axis"] for row in records(ws)]
    assert axes == sorted(axes, key=["issue", "urgency", "sensitivity", "transferability"].index)


@pytest.mark.parametrize("audience", [CASEWORKER, "councillor"])
def test_restricted_cases_are_counted_but_not_described(database, settings, tmp_path, audience):
    office = build_office(database)
    book = make(database, settings, tmp_path, audience)
    text = everything(book)
    # The safeguarding and special-category cases: no subject, no name, no email, no issue
    secrets = (
        "Daniel Reid",
        "Daniel is at risk",
        "Tendai Moyo",
        HOSTILE["visa"],
        office.emails["crisis"],
        office.emails["visa"],
    )
    for secret in secrets:
        assert secret not in text, f"{secret!r} is in the {audience}'s workbook"
    # ...but counted in every figure, and listed by reference
    assert table(book["Summary"], "This week") == {"Cases": [3, 1, 4, 3]}
    rows = {row["Reference"]: row for row in records(book["Cases"])}
    crisis = rows[office.references["crisis"]]
    assert crisis["Subject"] == WITHHELD and crisis["Constituent"] is None
    assert crisis["Issue"] is None and crisis["Owner"] is None
    assert crisis["Sensitivity"] == "safeguarding" and crisis["Messages"] == 1
    assert rows[office.references["visa"]]["Waiting on"] is None
    # Everyone else's cases are described as usual
    assert rows[office.references["pip"]]["Constituent"] == "Lukasz Wojcik"
    assert "counted in every figure but not described" in text


def test_the_office_manager_sees_restricted_cases(database, settings, tmp_path):
    office = build_office(database)
    book = make(database, settings, tmp_path, OFFICE_MANAGER)
    rows = {row["Reference"]: row for row in records(book["Cases"])}
    crisis = rows[office.references["crisis"]]
    assert (crisis["Subject"], crisis["Constituent"]) == (
        "Daniel is at risk tonight",
        "Daniel Reid",
    )


def test_campaigns_this_week(database, settings, tmp_path):
    build_office(database)
    ws = make(database, settings, tmp_path, OFFICE_MANAGER)["Campaigns"]
    assert ws.freeze_panes == "B2" and ws.auto_filter.ref == "A1:H2"
    (campaign,) = records(ws)
    assert campaign["Campaign"] == CAMPAIGN and ws["A2"].data_type == "s"
    assert (campaign["Letters this week"], campaign["Senders this week"]) == (3, 3)
    assert (campaign["Senders in all"], campaign["Constituents in all"]) == (4, 2)


def test_an_empty_office_still_makes_a_workbook(database, settings, tmp_path):
    book = make(database, settings, tmp_path, OFFICE_MANAGER)
    assert "Campaigns" not in book.sheetnames  # only when there are any
    assert table(book["Summary"], "This week") == {"Cases": [0, 0, 0, 0]}
    assert book["Cases"].max_row == 1 and book["Cases"].auto_filter.ref == "A1:O1"
    assert len(book["Summary"]._charts) == 1  # the trend; no issues to chart


def test_a_week_that_has_not_ended_is_refused():
    now = datetime(2026, 7, 13, 8, tzinfo=UTC)  # Monday morning
    assert week_for(None, now).ending == date(2026, 7, 12)
    with pytest.raises(ReportError, match="has not ended yet"):
        week_for(date(2026, 7, 13), now)


def test_report_email_delivers_the_workbook(database, smtp_server: SmtpServer, tmp_path):
    # Given the sample office and two office managers to receive the review
    build_office(database)
    settings = office_settings(tmp_path, smtp_server.port)
    env = {
        "MAILBAG_DATA_DIR": str(settings.data_dir),
        "MAILBAG_DATABASE_URL": database.url,
        "MAILBAG_OFFICE_ADDRESSES": OFFICE,
        "MAILBAG_SMTP_HOST": "127.0.0.1",
        "MAILBAG_SMTP_PORT": str(smtp_server.port),
        "MAILBAG_SMTP_STARTTLS": "off",
        "MAILBAG_FROM_ADDRESS": settings.from_address,
        "MAILBAG_REPORT_RECIPIENTS": "manager@office.example.org.uk, priya@office.example.org.uk",
    }
    # When `mailbag report email` runs for the week
    result = CliRunner().invoke(
        main, ["report", "email", "--week-ending", "2026-07-12"], env=env, catch_exceptions=False
    )
    # Then one message reaches both, with the workbook attached
    assert result.exit_code == 0, result.output
    assert "sent to 2 recipients" in result.output
    assert len(smtp_server.received) == 1
    received = smtp_server.received[0]
    assert sorted(received.rcpt_tos) == [
        "manager@office.example.org.uk",
        "priya@office.example.org.uk",
    ]
    message = received.message()
    assert message["Subject"] == "Weekly review: week ending Sun 12 Jul 2026"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "New cases: 3" in message.get_body(("plain",)).get_content()
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "weekly-review-2026-07-12.xlsx"
    book = load_workbook(io.BytesIO(attachment.get_content()))
    assert table(book["Summary"], "This week") == {"Cases": [3, 1, 4, 3]}
    assert "Daniel Reid" in everything(book)  # the office managers' copy
    # And the export is in the audit log, with whom it went to
    with database.session() as session:
        (entry,) = session.scalars(select(AuditEntry)).all()
    assert (entry.action, entry.who) == (
        "export",
        "weekly email to manager@office.example.org.uk, priya@office.example.org.uk",
    )
    assert entry.detail == (
        "weekly review, week ending 2026-07-12, for office_manager: 5 cases, "
        "restricted ones described"
    )


def test_report_weekly_writes_the_file_and_email_needs_recipients(database, tmp_path):
    build_office(database)
    env = {"MAILBAG_DATA_DIR": str(tmp_path / "data"), "MAILBAG_DATABASE_URL": database.url}
    out = tmp_path / "review.xlsx"
    runner = CliRunner()
    args = [
        "report",
        "weekly",
        "--out",
        str(out),
        "--week-ending",
        "2026-07-12",
        "--audience",
        "councillor",
    ]
    result = runner.invoke(main, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "5 cases, 2 restricted shown by reference only" in result.output
    assert "Daniel Reid" not in everything(load_workbook(out))
    missing = runner.invoke(main, ["report", "email"], env=env)
    assert missing.exit_code == 2
    assert missing.output.strip() == (
        "mailbag: error: MAILBAG_REPORT_RECIPIENTS is not set: it is needed for this"
    )


def test_a_worker_emails_the_review_it_is_sent(
    database,
    smtp_server: SmtpServer,
    redis_space: RedisSpace,  # noqa: F811
    tmp_path,
):
    # Given the sample office and a real worker on its own Redis namespace
    build_office(database)
    settings = office_settings(tmp_path, smtp_server.port)
    env = settings_env(
        settings,
        database.url,
        redis_space,
        MAILBAG_REPORT_RECIPIENTS="manager@office.example.org.uk",
    )
    with Process("worker", env, tmp_path / "worker.log", "--threads", "1") as worker:
        worker.wait_ready()
        # When the scheduler's message for the week arrives
        redis_space.enqueue("send_weekly_report", week_ending="2026-07-12")
        # Then the office manager receives the workbook
        wait_until(lambda: len(smtp_server.received) == 1, "the weekly review to arrive")
    message = smtp_server.received[0].message()
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "weekly-review-2026-07-12.xlsx"


def test_the_scheduler_sends_the_review_on_the_office_day_and_time():
    from crm.reports import periodic  # declares its actor on this process's broker

    settings = Settings.from_env(
        {
            "MAILBAG_REPORT_RECIPIENTS": "manager@office.example.org.uk",
            "MAILBAG_REPORT_DAY": "Tuesday",
            "MAILBAG_REPORT_TIME": "08:15",
        }
    )
    scheduler = BackgroundScheduler(timezone=UTC)
    assert periodic.schedule(scheduler, settings)
    job = scheduler.get_job("weekly_report")
    # On a Monday in winter (GMT) and in summer (BST), the next run is Tuesday 08:15 London
    for monday, expected_utc in (
        (datetime(2026, 1, 5, 12, tzinfo=UTC), datetime(2026, 1, 6, 8, 15, tzinfo=UTC)),
        (datetime(2026, 7, 13, 12, tzinfo=UTC), datetime(2026, 7, 14, 7, 15, tzinfo=UTC)),
    ):
        assert job.trigger.get_next_fire_time(None, monday) == expected_utc
    # Without recipients there is nothing to schedule
    assert not periodic.schedule(BackgroundScheduler(timezone=UTC), Settings())


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAILBAG_REPORT_RECIPIENTS", "manager@office, nobody"),
        ("MAILBAG_REPORT_DAY", "someday"),
        ("MAILBAG_REPORT_TIME", "7.30"),
        ("MAILBAG_REPORT_TIME", "25:00"),
    ],
)
def test_a_wrong_report_setting_names_its_variable(variable, value):
    with pytest.raises(SettingsError, match=f"^{variable}: "):
        Settings.from_env({variable: value})


# --- the review page ---------------------------------------------------------------------------

SECRET = "review-test-secret-" + "x" * 32
MANAGER, CASEWORKER_EMAIL, COUNCILLOR_EMAIL = (
    "max@office.example.org.uk",
    "cara@office.example.org.uk",
    "cllr@council.example.org.uk",
)


@pytest.fixture
def client(database: Database, settings: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    build_office(database)
    with database.session() as session:
        create_user(session, MANAGER, PASSWORD, role=OFFICE_MANAGER, name="Max Manager")
        create_user(session, CASEWORKER_EMAIL, PASSWORD, role=CASEWORKER, name="Cara Worker")
        create_user(session, COUNCILLOR_EMAIL, PASSWORD, role="councillor", wards=["EX1"])
    with TestClient(create_app(settings, database, secret_key=SECRET)) as test_client:
        yield test_client


def test_the_review_page_shows_the_summary_with_charts_and_links(client, database):
    sign_in(client, MANAGER)
    response = client.get("/review?week_ending=2026-07-12")
    assert response.status_code == 200, response.text[:300]
    html = response.text
    # Light: inline SVG drawn on the server, no script of its own, well under 100 KB
    assert html.count('<svg class="chart"') == 2 and len(response.content) < 100_000
    assert "<script" not in html.split("<body>", 1)[1]
    assert "Mon 06 Jul 2026 to Sun 12 Jul 2026" in html
    assert "<td>Cases</td><td>3</td><td>1</td><td>4</td><td>3</td>" in html
    # Links into the case list, filtered as the rows are
    with database.session() as session:
        sam = session.scalar(select(User.id).where(User.name == "Sam Patel"))
    assert '<a href="/?status=open&amp;issue=Housing">Housing</a>' in html
    assert f'<a href="/?status=open&amp;owner={sam}">Sam Patel</a>' in html
    assert '<a href="/?status=open&amp;owner=none">(unassigned)</a>' in html
    assert '<a href="/?status=open&amp;urgency=immediate">immediate</a>' in html
    assert "Department for Work and Pensions" in html
    # Counts only: the restricted cases are not described on the page
    assert "Daniel" not in html and "Tendai" not in html
    assert client.get("/?status=open&issue=Housing").status_code == 200


def test_the_download_is_the_workbook_for_the_person_s_role(client):
    sign_in(client, CASEWORKER_EMAIL)
    response = client.get("/review/weekly.xlsx?week_ending=2026-07-12")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert (
        'filename="weekly-review-2026-07-12-caseworker.xlsx"'
        in (response.headers["content-disposition"])
    )
    book = load_workbook(io.BytesIO(response.content))
    assert table(book["Summary"], "This week") == {"Cases": [3, 1, 4, 3]}
    assert "Daniel Reid" not in everything(book)


def test_councillors_and_weeks_to_come_are_refused(client):
    sign_in(client, COUNCILLOR_EMAIL)
    assert client.get("/review").status_code == 403
    assert client.get("/review/weekly.xlsx").status_code == 403
    client.cookies.clear()
    sign_in(client, MANAGER)
    assert client.get("/review?week_ending=2999-01-03").status_code == 400
    assert client.get("/review?week_ending=soon").status_code == 400
    assert client.get("/review").status_code == 200  # the week that ended yesterday


@pytest.mark.parametrize(
    ("written", "stored", "prefixed"),
    [
        ('=HYPERLINK("http://x","y")', '=HYPERLINK("http://x","y")', True),
        ("+cmd|' /C calc'!A0", "+cmd|' /C calc'!A0", True),
        ("-2+3", "-2+3", True),
        ("@SUM(1)", "@SUM(1)", True),
        ("\t=1+1", "\t=1+1", True),
        ("\r=1+1", "\r=1+1", True),
        ("Rent arrears = £300", "Rent arrears = £300", False),
        ("Bell\x07 and null\x00 removed", "Bell and null removed", False),
        ("x" * 40_000, "x" * 32_767, False),
    ],
)
def test_text_cells_are_text_whatever_they_start_with(written, stored, prefixed, tmp_path):
    book = OpenpyxlWorkbook(write_only=True)
    ws = book.create_sheet("T")
    ws.append([cells.text(ws, written)])
    book.save(tmp_path / "t.xlsx")
    cell = load_workbook(tmp_path / "t.xlsx")["T"]["A1"]
    assert (cell.value, cell.data_type, bool(cell.quotePrefix)) == (stored, "s", prefixed)
