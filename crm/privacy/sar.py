"""Subject access: everything held about one person, gathered for a readable bundle.

Only the person's own cases are included, and in them nothing another constituent wrote
or was sent: mail from or to someone else on the same case, and letters addressed to them,
are left out, as are other people's cases the person is merely mentioned in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, selectinload

from crm import audit
from crm.followups.models import FollowUp
from crm.models import Case, Constituent, ConstituentEmail, Message, TimelineEntry
from crm.notes import CaseNote
from crm.outgoing.models import OutboxLetter
from crm.privacy.person import find_person, person_ids
from crm.tags.models import CaseTag
from crm.types import utcnow


@dataclass(frozen=True)
class CaseRecord:
    """One of the person's cases with what hangs on it, third parties' mail left out."""

    case: Case
    tags: list[CaseTag]
    notes: list[CaseNote]
    follow_ups: list[FollowUp]
    letters: list[OutboxLetter]
    timeline: list[TimelineEntry]
    messages: list[Message]


@dataclass(frozen=True)
class SubjectAccess:
    person: Constituent
    records: list[Constituent]  # the person's record and every record merged into it
    emails: list[str]
    cases: list[CaseRecord]
    loose: list[Message]  # their own letters that are on no case (campaign letters)
    made_at: datetime

    @property
    def messages(self) -> list[Message]:
        return [m for c in self.cases for m in c.messages] + self.loose

    def describe(self) -> str:
        """References and numbers only (for the audit log)."""
        refs = ", ".join(c.case.reference for c in self.cases) or "none"
        attachments = sum(len(m.attachments) for m in self.messages)
        return (
            f"subject access: constituent {self.person.id}; cases {refs}; "
            f"{len(self.messages)} messages, {attachments} attachments"
        )


def gather(session: Session, who_or_id: str) -> SubjectAccess:
    """Everything held about the person an address or constituent number names."""
    person = find_person(session, who_or_id)
    ids = person_ids(session, person)
    emails = list(
        session.scalars(
            select(ConstituentEmail.email)
            .where(ConstituentEmail.constituent_id.in_(ids))
            .order_by(ConstituentEmail.id)
        )
    )
    cases = session.scalars(
        select(Case).where(Case.constituent_id.in_(ids)).order_by(Case.opened_at, Case.id)
    )
    loose = _messages(session, Message.case_id.is_(None), Message.constituent_id.in_(ids))
    return SubjectAccess(
        person=person,
        records=list(
            session.scalars(
                select(Constituent).where(Constituent.id.in_(ids)).order_by(Constituent.id)
            )
        ),
        emails=emails,
        cases=[_case_record(session, case, ids) for case in cases],
        loose=loose,
        made_at=utcnow(),
    )


def record_export(session: Session, access: SubjectAccess, *, who: str) -> None:
    """The audit line for a subject access export: numbers and references, no details."""
    audit.record(session, "export", who=who, detail=access.describe())


def _case_record(session: Session, case: Case, ids: set[int]) -> CaseRecord:
    theirs = or_(Message.constituent_id.is_(None), Message.constituent_id.in_(ids))
    messages = _messages(session, Message.case_id == case.id, theirs)
    kept = {m.id for m in messages}
    timeline = [
        entry
        for entry in session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.case_id == case.id)
            .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
        )
        if entry.message_pk is None or entry.message_pk in kept
    ]
    return CaseRecord(
        case=case,
        tags=list(
            session.scalars(
                select(CaseTag)
                .where(CaseTag.case_id == case.id)
                .options(selectinload(CaseTag.tag))
                .order_by(CaseTag.axis, CaseTag.id)
            )
        ),
        notes=list(
            session.scalars(
                select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.id)
            )
        ),
        follow_ups=list(
            session.scalars(
                select(FollowUp).where(FollowUp.case_id == case.id).order_by(FollowUp.id)
            )
        ),
        letters=_letters(session, case, ids),
        timeline=timeline,
        messages=messages,
    )


def _messages(session: Session, *where: ColumnElement[bool]) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .where(*where)
            .options(selectinload(Message.attachments))
            .order_by(Message.received_at, Message.id)
        )
    )


def _letters(session: Session, case: Case, ids: set[int]) -> list[OutboxLetter]:
    """Letters on the case except those addressed to another constituent."""
    others = select(ConstituentEmail.email).where(ConstituentEmail.constituent_id.not_in(ids))
    return list(
        session.scalars(
            select(OutboxLetter)
            .where(
                OutboxLetter.case_id == case.id, func.lower(OutboxLetter.recipient).not_in(others)
            )
            .order_by(OutboxLetter.id)
        )
    )
