"""Replies met before the mail they answer join its case when it arrives (SQLite, PostgreSQL)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import func, select

from crm import cases, listings
from crm.db import Database
from crm.followups.models import SATISFIED, FollowUp
from crm.late_parents import AwaitedParent
from crm.models import Case, Message
from crm.types import utcnow
from inbox.batches import run_batch
from inbox.message import Source
from inbox.pipeline import Pipeline
from tests.support.mail import make_message
from tests.test_ingest_imap import imap_settings, run_once

OFFICE = "casework@office.example.org.uk"
COUNCIL = "housing@newtown.gov.uk"
_uids = itertools.count(1)


def feed(database: Database, pipeline: Pipeline, raw: bytes, folder: str = "INBOX") -> None:
    with database.session() as session:
        outcome = pipeline.process(session, raw, Source(folder, uidvalidity=3, uid=next(_uids)))
    assert outcome.status == "stored", outcome.failure


def case_of(database: Database, message_id: str) -> Case | None:
    with database.session() as session:
        message = session.scalar(select(Message).where(Message.message_id == message_id))
        assert message is not None, f"{message_id} was not stored"
        return session.get(Case, message.case_id) if message.case_id else None


def constituent_case(database: Database, pipeline: Pipeline) -> str:
    feed(database, pipeline, make_message(message_id="<c1@example.com>", subject="Mould"))
    case = case_of(database, "c1@example.com")
    assert case is not None
    return case.reference


def referral(reference: str, message_id: str = "<ref1@office.example.org.uk>") -> bytes:
    """The caseworker's email to the council from Outlook, found in Sent."""
    return make_message(
        sender=f"Casework <{OFFICE}>",
        to=f"Housing <{COUNCIL}>",
        subject=f"Mould at 4 Mill Lane [{reference}]",
        body="Please inspect the property.\n",
        message_id=message_id,
        date=utcnow() - timedelta(days=2),
    )


def council_reply(
    message_id: str, answers: str, subject: str = "Re: Mould at 4 Mill Lane"
) -> bytes:
    return make_message(
        sender=f"Housing <{COUNCIL}>",
        subject=subject,
        body="We will inspect on Monday.\n",
        message_id=message_id,
        in_reply_to=answers,
        references=answers,
        date=utcnow() - timedelta(days=1),
    )


def test_a_reply_read_before_its_referral_joins_the_case(database, pipeline):
    reference = constituent_case(database, pipeline)
    # Given the council's reply is read first: it names a message nobody has seen yet
    feed(database, pipeline, council_reply("<r1@newtown.gov.uk>", "<ref1@office.example.org.uk>"))
    assert case_of(database, "r1@newtown.gov.uk") is None
    with database.session() as session:
        assert [m.message_id for m in listings.not_casework(session)] == ["r1@newtown.gov.uk"]
    # When the referral it answers is read from the Sent folder
    feed(database, pipeline, referral(reference), folder="Sent")
    # Then the reply is on the case, in its timeline, and out of the not-casework list
    case = case_of(database, "r1@newtown.gov.uk")
    assert case is not None and case.reference == reference
    with database.session() as session:
        kinds = [entry.kind for entry in cases.timeline(session, case.id)]
        assert sorted(kinds) == ["email_in", "email_out", "third_party_reply"]
        assert listings.not_casework(session) == []
        reason = session.scalar(
            select(Message.thread_reason).where(Message.message_id == "r1@newtown.gov.uk")
        )
        assert reason == "answers ref1@office.example.org.uk, which arrived after it"
        # And the referral waits for no one: the council has already answered
        follow_up = session.scalar(select(FollowUp).where(FollowUp.case_id == case.id))
        assert follow_up is not None and follow_up.status == SATISFIED
        assert session.scalar(select(func.count()).select_from(AwaitedParent)) == 0


def test_a_chain_of_early_replies_joins_in_any_order(database, pipeline):
    reference = constituent_case(database, pipeline)
    # Given a second reply that names only the first, read before both the first and the referral
    second = council_reply("<r2@newtown.gov.uk>", "<r1@newtown.gov.uk>", subject="Re: Re: Mould")
    feed(database, pipeline, second)
    feed(database, pipeline, council_reply("<r1@newtown.gov.uk>", "<ref1@office.example.org.uk>"))
    assert case_of(database, "r1@newtown.gov.uk") is None
    # When the referral arrives, both replies follow it onto the case
    feed(database, pipeline, referral(reference), folder="Sent")
    for message_id in ("r1@newtown.gov.uk", "r2@newtown.gov.uk"):
        case = case_of(database, message_id)
        assert case is not None and case.reference == reference


def test_in_one_batch_the_reply_before_its_parent_is_adopted(database, pipeline):
    reference = constituent_case(database, pipeline)
    batch = [
        council_reply("<r1@newtown.gov.uk>", "<ref1@office.example.org.uk>"),
        make_message(message_id="<unrelated@example.org>", sender="Sam <sam@example.org>"),
        referral(reference),
    ]
    items = [(raw, Source("INBOX", uidvalidity=3, uid=next(_uids))) for raw in batch]
    counts = run_batch(database, pipeline, items)
    assert counts.stored == 3
    case = case_of(database, "r1@newtown.gov.uk")
    assert case is not None and case.reference == reference


def test_a_reply_whose_parent_never_comes_stays_in_not_casework(database, pipeline):
    constituent_case(database, pipeline)
    feed(database, pipeline, council_reply("<r9@newtown.gov.uk>", "<lost@office.example.org.uk>"))
    feed(database, pipeline, make_message(message_id="<c2@example.com>", subject="Other"))
    assert case_of(database, "r9@newtown.gov.uk") is None
    with database.session() as session:
        assert [m.message_id for m in listings.not_casework(session)] == ["r9@newtown.gov.uk"]


def test_first_imap_run_reads_inbox_before_sent_and_still_threads(
    dovecot, imap_account, database, tmp_path
):
    settings = imap_settings(imap_account, database, tmp_path)
    pipeline = Pipeline(settings)
    reference = constituent_case(database, pipeline)
    # Given the council's reply sits in INBOX and the referral it answers in Sent
    answer = council_reply("<r1@newtown.gov.uk>", "<ref1@office.example.org.uk>")
    dovecot.append_many(imap_account.user, "INBOX", [answer])
    dovecot.append_many(imap_account.user, "Sent", [referral(reference)])
    # When Mailbag reads the mailbox for the first time (INBOX first, then Sent)
    counts = run_once(settings, database)
    assert counts.stored == 2, counts.describe()
    # Then the reply is on the referral's case
    case = case_of(database, "r1@newtown.gov.uk")
    assert case is not None and case.reference == reference
