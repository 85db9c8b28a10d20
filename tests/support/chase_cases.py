"""A constituent's case referred to the DWP: the story the follow-up and chasing tests share."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy import select

from crm import cases
from crm.db import Database
from crm.followups.models import ChaseAttempt, FollowUp
from crm.models import Case, Message
from crm.outgoing import directory
from crm.outgoing.models import SENT
from crm.outgoing.send import send_letter
from crm.settings import Settings
from crm.types import utcnow
from inbox.message import Source
from inbox.pipeline import Outcome, Pipeline
from tests.support.mail import make_message

_uids = itertools.count(1)
DWP = "mp.enquiries@dwp.gov.uk"
DWP_NAME = "Department for Work and Pensions"


def feed(database: Database, pipeline: Pipeline, raw: bytes, folder: str = "INBOX") -> Outcome:
    with database.session() as session:
        return pipeline.process(session, raw, Source(folder, uidvalidity=7, uid=next(_uids)))


def constituent_writes(database: Database, pipeline: Pipeline, who: str = "zoe") -> str:
    """A constituent's first email opens a case; the directory knows the DWP's MP address."""
    raw = make_message(
        sender=f"Zoë Ní Bhriain <{who}@example.ie>",
        subject=f"Universal Credit stopped ({who})",
        body="Dear Jane,\n\nMy Universal Credit has been stopped.\n\nZoë Ní Bhriain\n",
        date=utcnow() - timedelta(hours=2),
    )
    outcome = feed(database, pipeline, raw)
    assert outcome.status == "stored", outcome.failure
    with database.session() as session:
        directory.seed_directory(session)
        directory.add_organisation(session, DWP_NAME, emails=[DWP])
        case = session.get(Case, outcome.ctx.case_id)
        assert case is not None
        return case.reference


def refer(database: Database, settings: Settings, reference: str) -> str:
    """The office refers the case to the DWP; the Message-ID of the referral."""
    delivery = send_letter(
        database, settings, reference=reference, template="referral_department", to=DWP
    )
    assert delivery.status == SENT, delivery.error
    follow_up = follow_up_of(database, reference)
    with database.session() as session:
        message = session.get(Message, follow_up.opened_by_message_pk)
        assert message is not None and message.message_id is not None
        return message.message_id


def follow_up_of(database: Database, reference: str) -> FollowUp:
    with database.session() as session:
        case = cases.get(session, reference)
        found = session.scalars(
            select(FollowUp).where(FollowUp.case_id == case.id).order_by(FollowUp.id)
        ).all()
        assert len(found) == 1, f"{len(found)} follow-ups on {reference}"
        return found[0]


def attempts_of(database: Database, follow_up_id: int) -> list[ChaseAttempt]:
    with database.session() as session:
        return list(
            session.scalars(
                select(ChaseAttempt)
                .where(ChaseAttempt.follow_up_id == follow_up_id)
                .order_by(ChaseAttempt.attempt_number)
            )
        )


def timeline(database: Database, reference: str) -> list[str]:
    """Oldest first: "kind: summary"."""
    with database.session() as session:
        case = cases.get(session, reference)
        return [f"{e.kind}: {e.summary}" for e in reversed(cases.timeline(session, case.id))]


def dwp_replies(
    database: Database,
    pipeline: Pipeline,
    *,
    in_reply_to: str | None,
    body: str = "Dear Ms Doe,\n\nThank you for your letter. We have reinstated the claim.\n",
    sender: str = "Claims Team <uc.claims@dwp.gov.uk>",
    subject: str = "Your enquiry",
    headers: dict[str, str] | None = None,
    when: datetime | None = None,
) -> Outcome:
    raw = make_message(
        sender=sender,
        subject=subject,
        body=body,
        in_reply_to=f"<{in_reply_to}>" if in_reply_to else None,
        headers=headers,
        date=when or utcnow(),
    )
    return feed(database, pipeline, raw)
