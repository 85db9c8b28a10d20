"""The automatic acknowledgement: one per new constituent case, never to machines, no loops."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm import cases
from crm.db import Database
from crm.models import Case, TimelineEntry
from crm.outgoing.acknowledge import IncomingMail, why_not
from crm.outgoing.models import OutboxLetter
from crm.outgoing.send import deliver_queued, retry_letters
from crm.settings import Settings
from crm.types import utcnow
from inbox.message import Source
from inbox.pipeline import Outcome, Pipeline
from tests.support.mail import make_message
from tests.support.smtp import SmtpServer, free_port
from tests.support.smtp_fixtures import OFFICE, office_settings

_uids = itertools.count(1)
MARY = "mary.jones@example.com"


def feed(database: Database, pipeline: Pipeline, raw: bytes, folder: str = "INBOX") -> Outcome:
    """One message through the pipeline, committed, then the outbox delivered as ingest does."""
    with database.session() as session:
        outcome = pipeline.process(session, raw, Source(folder, uidvalidity=9, uid=next(_uids)))
    deliver_queued(database, pipeline.settings)
    return outcome


def fresh(**fields: object) -> bytes:
    """A message written just now (acknowledgements are for mail that is new)."""
    return make_message(date=utcnow() - timedelta(minutes=5), **fields)  # type: ignore[arg-type]


def outbox_count(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(OutboxLetter)) or 0


@pytest.fixture
def office(tmp_path, smtp_server) -> Settings:
    return office_settings(tmp_path, smtp_server.port)


def test_a_new_constituent_case_gets_exactly_one_acknowledgement(database, smtp_server, office):
    pipeline = Pipeline(office)
    # Given Mary writes for the first time
    outcome = feed(database, pipeline, fresh(message_id="<mary-1@example.com>"))
    # Then one acknowledgement arrived, to her, threaded under her message, marked automatic
    [arrived] = smtp_server.received
    assert arrived.rcpt_tos == (MARY,)
    ack = arrived.message()
    with database.session() as session:
        case = session.get(Case, outcome.ctx.case_id)
        assert case is not None
        reference = case.reference
    assert (
        ack["Subject"] == f"We have received your message: Damp and mould in my flat [{reference}]"
    )
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["X-Auto-Response-Suppress"] == "All"
    assert ack["In-Reply-To"] == "<mary-1@example.com>"
    assert f"Your case reference is {reference}." in ack.get_body(("plain",)).get_content()
    with database.session() as session:
        kinds = [e.kind for e in reversed(cases.timeline(session, case.id))]
        letter = session.scalar(select(OutboxLetter))
    assert kinds == ["email_in", "email_out"]
    assert letter is not None and letter.once_key == f"acknowledgement:case:{case.id}"
    # When she writes again on the same case (a reply, then a follow-up on the same subject)
    feed(database, pipeline, fresh(subject=f"Re: {ack['Subject']}", in_reply_to=ack["Message-ID"]))
    feed(database, pipeline, fresh(subject="Re: Damp and mould in my flat"))
    # Then there is no second acknowledgement
    assert len(smtp_server.received) == 1 and outbox_count(database) == 1


@pytest.mark.parametrize(
    ("description", "fields"),
    [
        ("RFC 3834 auto-reply", {"headers": {"Auto-Submitted": "auto-replied"}}),
        ("out-of-office subject", {"subject": "Out of Office: back on Monday"}),
        ("X-Autoreply", {"headers": {"X-Autoreply": "yes"}}),
        (
            "bounce",
            {
                "sender": "MAILER-DAEMON@mx.example.com",
                "subject": "Undelivered Mail Returned to Sender",
            },
        ),
        ("mailing list", {"headers": {"List-Id": "<residents.lists.example.com>"}}),
        ("bulk precedence", {"headers": {"Precedence": "bulk"}}),
        ("newsletter", {"headers": {"List-Unsubscribe": "<https://news.example.com/u>"}}),
        ("no-reply sender", {"sender": "Parcel Tracker <no-reply@parcels.example.com>"}),
        ("null return path", {"headers": {"Return-Path": "<>"}}),
        ("the office itself", {"sender": f"Sam Patel <{OFFICE}>", "to": MARY}),
        ("a government department", {"sender": "Jo Bloggs <jo.bloggs@dwp.gov.uk>"}),
    ],
)
def test_machines_lists_and_third_parties_get_no_acknowledgement(
    database, smtp_server, office, description, fields
):
    feed(database, Pipeline(office), fresh(**fields))
    assert outbox_count(database) == 0, description
    assert smtp_server.received == []


def test_old_or_imported_mail_is_history_not_a_new_enquiry(database, smtp_server, office):
    pipeline = Pipeline(office)
    feed(database, pipeline, make_message(date=utcnow() - timedelta(days=30)))
    feed(database, pipeline, fresh(sender="Ann <ann@example.com>"), folder="import")
    assert outbox_count(database) == 0 and smtp_server.received == []
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 2


def test_two_auto_responders_cannot_ping_pong(database, smtp_server, office):
    pipeline = Pipeline(office)
    # Given Mary's mailbox has an auto-responder, and her first message gets our acknowledgement
    feed(database, pipeline, fresh(message_id="<mary-loop@example.com>"))
    [ours] = smtp_server.received
    ack = ours.message()
    # When her responder answers it, politely (RFC 3834) or not at all politely, five times
    answers = [
        {
            "headers": {"Auto-Submitted": "auto-replied"},
            "subject": f"Automatic reply: {ack['Subject']}",
        },
        {"subject": f"Re: {ack['Subject']}", "in_reply_to": ack["Message-ID"]},
        {"subject": f"Re: {ack['Subject']}"},
        {"subject": "Thank you for your email"},  # no reference, no threading headers
        {"subject": "Thanks! I will read your message soon"},
    ]
    for answer in answers:
        feed(database, pipeline, fresh(**answer))  # type: ignore[arg-type]
    # Then we never answered back: one message went out, ever
    assert len(smtp_server.received) == 1
    assert outbox_count(database) == 1


def test_the_database_allows_one_acknowledgement_per_case(database, office):
    feed(database, Pipeline(dataclasses.replace(office, smtp_host="")), fresh())
    with database.session() as session:
        case = session.scalar(select(Case))
        assert case is not None
        case_id = case.id
    row = {
        "case_id": case_id,
        "template": "acknowledgement",
        "kind": "acknowledgement",
        "once_key": f"acknowledgement:case:{case_id}",
        "recipient": MARY,
        "subject": "s",
        "body_text": "t",
        "body_html": "h",
    }
    with database.session() as session:
        session.add(OutboxLetter(**row, message_id="a@office.example.org.uk"))
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(OutboxLetter(**row, message_id="b@office.example.org.uk"))


def test_a_broken_acknowledgement_template_never_loses_the_mail(database, tmp_path, smtp_server):
    # Given the office's acknowledgement template uses a field that does not exist
    templates = tmp_path / "letters"
    (templates / "acknowledgement").mkdir(parents=True)
    (templates / "acknowledgement" / "body.txt.j2").write_text("Ref {{ case.mp_reference }}\n")
    settings = office_settings(tmp_path, smtp_server.port, templates_dir=templates)
    # When a constituent writes
    outcome = feed(database, Pipeline(settings), fresh())
    # Then the message is stored on its new case, nothing is sent, and staff can see why
    assert outcome.status == "stored" and smtp_server.received == []
    with database.session() as session:
        entry = session.scalar(select(TimelineEntry).where(TimelineEntry.kind == "send_failed"))
    assert entry is not None
    assert "acknowledgement/body.txt.j2, line 1 uses case.mp_reference" in entry.summary


@pytest.mark.parametrize(
    ("changes", "mail_changes", "reason"),
    [
        ({"auto_acknowledge": False}, {}, "automatic acknowledgements are off"),
        ({"smtp_host": ""}, {}, "sending is not configured"),
        ({}, {"campaign_duplicate": True}, "part of a campaign already acknowledged"),
        ({}, {"kind": "third_party"}, "third_party mail is never acknowledged"),
        ({}, {"sender": "Donotreply@council.example.org"}, "a no-reply address"),
        ({}, {"sender": "CASEWORK@office.example.org.uk"}, "the office's own address"),
    ],
)
def test_reasons_not_to_acknowledge(tmp_path, changes, mail_changes, reason):
    settings = office_settings(tmp_path, 25, **changes)
    now = utcnow()
    mail = IncomingMail(
        **({"sender": MARY, "kind": "constituent", "written_at": now} | mail_changes)
    )
    assert why_not(settings, mail, now) == reason
    assert (
        why_not(office_settings(tmp_path, 25), IncomingMail(MARY, "constituent", now), now) is None
    )


def test_acknowledgements_can_wait_for_the_server(database, tmp_path):
    # Given the SMTP server is down when Mary writes
    settings = office_settings(tmp_path, free_port())
    feed(database, Pipeline(settings), fresh())
    with database.session() as session:
        letter = session.scalar(select(OutboxLetter))
        assert letter is not None and letter.status == "failed"
    # When it is back, a retry sends the acknowledgement once
    with SmtpServer() as server:
        counts = retry_letters(database, office_settings(tmp_path, server.port))
        assert counts.sent == 1 and len(server.received) == 1
