"""What a caseworker does to a case from the web view: assign, close, reopen."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm import cases
from crm.errors import MailbagError
from crm.models import Case, TimelineEntry
from crm.types import utcnow
from crm.users.models import COUNCILLOR, User


class CaseworkError(MailbagError):
    """An action on a case that cannot be done as asked."""


def assign(session: Session, case: Case, owner_id: int | None, *, who: User) -> None:
    """Give the case to a member of staff (or to nobody), with a line on the timeline."""
    if owner_id == case.owner_id:
        return
    owner = session.get(User, owner_id) if owner_id is not None else None
    if owner_id is not None and (owner is None or owner.role == COUNCILLOR or not owner.active):
        raise CaseworkError("a case can only be assigned to an active member of staff")
    case.owner_id = owner_id
    to = owner.label if owner else "nobody"
    session.add(
        TimelineEntry(
            case_id=case.id, kind="assigned", occurred_at=utcnow(), summary=f"Assigned to {to}"
        )
    )


def close(session: Session, case: Case, *, who: User, reason: str = "") -> None:
    why = f"Closed by {who.label}" + (f": {reason.strip()}" if reason.strip() else "")
    cases.set_status(session, case, cases.CLOSED, why[:500])


def reopen(session: Session, case: Case, *, who: User, reason: str = "") -> None:
    why = f"Reopened by {who.label}" + (f": {reason.strip()}" if reason.strip() else "")
    cases.set_status(session, case, cases.OPEN, why[:500])
