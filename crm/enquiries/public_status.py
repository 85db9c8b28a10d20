"""A case's status as the constituent may see it: milestones only, never notes, tags or names.

Received, with a caseworker, referred to a named organisation on a date, reply received,
closed. Organisations are named (they are public bodies); staff and other people are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.cases import CLOSED
from crm.followups.models import CANCELLED, FollowUp
from crm.followups.parties import party_name
from crm.letters.dates import uk_long_date
from crm.models import Case, TimelineEntry

RECEIVED, WITH_CASEWORKER, REFERRED, REPLIED, CLOSED_STEP = (
    "received",
    "with_caseworker",
    "referred",
    "reply_received",
    "closed",
)


@dataclass(frozen=True)
class Milestone:
    """One step of the case, in words for the constituent, with its date."""

    kind: str
    text: str
    at: datetime

    @property
    def on(self) -> str:
        return uk_long_date(self.at)


@dataclass(frozen=True)
class PublicStatus:
    reference: str
    milestones: tuple[Milestone, ...]

    @property
    def current(self) -> Milestone:
        """Where the case is now: the latest milestone."""
        return self.milestones[-1]


def public_status(session: Session, case: Case) -> PublicStatus:
    """The milestones of the case, oldest first; the last is where it stands now."""
    steps = [Milestone(RECEIVED, "Received", case.opened_at)]
    assigned = _assigned_at(session, case)
    if assigned is not None:
        steps.append(Milestone(WITH_CASEWORKER, "With a caseworker", assigned))
    for follow_up in _follow_ups(session, case):
        name = party_name(session, follow_up.party_key)
        steps.append(Milestone(REFERRED, f"Referred to {name}", follow_up.opened_at))
        if follow_up.satisfied_by_message_pk is not None and follow_up.satisfied_at is not None:
            steps.append(Milestone(REPLIED, f"Reply received from {name}", follow_up.satisfied_at))
    steps.sort(key=lambda m: m.at)
    if case.status == CLOSED and case.closed_at is not None:
        steps.append(Milestone(CLOSED_STEP, "Closed", case.closed_at))
    return PublicStatus(case.reference, tuple(steps))


def _assigned_at(session: Session, case: Case) -> datetime | None:
    """When the case was first given to a caseworker, if it has one now."""
    if case.owner_id is None:
        return None
    first = session.scalar(
        select(TimelineEntry.occurred_at)
        .where(TimelineEntry.case_id == case.id, TimelineEntry.kind == "assigned")
        .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
        .limit(1)
    )
    return first or case.opened_at


def _follow_ups(session: Session, case: Case) -> list[FollowUp]:
    """Referrals that stand (a cancelled one was a mistake, not news for the constituent)."""
    return list(
        session.scalars(
            select(FollowUp)
            .where(FollowUp.case_id == case.id, FollowUp.status != CANCELLED)
            .order_by(FollowUp.opened_at, FollowUp.id)
        )
    )
