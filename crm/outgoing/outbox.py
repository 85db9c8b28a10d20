"""The outbox as staff read it: newest first, with each letter's case and last error."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import Case
from crm.outgoing.models import OutboxLetter


def recent(
    session: Session, *, status: str | None = None, limit: int = 50
) -> list[tuple[OutboxLetter, str]]:
    """(letter, case reference) pairs, newest first, optionally of one status."""
    query = select(OutboxLetter, Case.reference).join(Case, Case.id == OutboxLetter.case_id)
    if status:
        query = query.where(OutboxLetter.status == status)
    rows = session.execute(query.order_by(OutboxLetter.id.desc()).limit(limit)).all()
    return [(letter, reference) for letter, reference in rows]
