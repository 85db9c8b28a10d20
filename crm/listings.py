"""Read-only views over cases and messages, shaped for lists (CLI now, web later)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from crm.models import Case, Constituent, Message


@dataclass(frozen=True)
class CaseRow:
    reference: str
    status: str
    subject: str
    constituent: str
    messages: int
    last_activity_at: datetime


def case_rows(session: Session, limit: int = 100) -> list[CaseRow]:
    """Newest activity first, with the constituent's name and the message count (counted
    for the listed cases only, not grouped over every message first)."""
    count = select(func.count(Message.id)).where(Message.case_id == Case.id).scalar_subquery()
    rows = session.execute(
        select(Case, Constituent.name, count)
        .outerjoin(Constituent, Case.constituent_id == Constituent.id)
        .order_by(Case.last_activity_at.desc(), Case.id.desc())
        .limit(limit)
    )
    return [
        CaseRow(case.reference, case.status, case.subject, name or "", n, case.last_activity_at)
        for case, name, n in rows
    ]


def not_casework(session: Session, limit: int = 100) -> list[Message]:
    """Auto-replies, bounces and third-party mail that found no case, for staff to look at.

    Also constituent mail from no one a case could be opened for (no sender address, a no-reply
    box): the thread step says it is kept here, and it was listed nowhere. Campaign letters
    without a case of their own always have their constituent, so they stay out.
    """
    return list(
        session.scalars(
            select(Message)
            .where(
                Message.case_id.is_(None),
                or_(Message.kind != "constituent", Message.constituent_id.is_(None)),
            )
            .order_by(Message.received_at.desc(), Message.id.desc())
            .limit(limit)
        )
    )
