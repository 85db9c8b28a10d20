"""What changed on cases between two moments, read from the records the changes left.

Nothing here is written when a case changes: a referral is a follow-up opened, a reply is a
follow-up satisfied, a chase is an attempt sent, a status change is its timeline line. So
status emails and digests need no hook in the services that make the changes, and a run
that was missed finds the same changes later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from crm.cases import CLOSED as CASE_CLOSED
from crm.followups.models import SATISFIED, SENT, ChaseAttempt, FollowUp
from crm.followups.parties import party_name
from crm.letters.dates import uk_long_date
from crm.models import Case, TimelineEntry

NEW_CASE, REFERRED, REPLY_RECEIVED, CHASED, ESCALATED, STATUS, CLOSED = (
    "new_case",
    "referred",
    "reply_received",
    "chased",
    "escalated",
    "status",
    "closed",
)
# What a constituent is told about: the changes that matter to them.
FOR_CONSTITUENTS = (REFERRED, REPLY_RECEIVED, CLOSED)
# What a councillor's digest lists.
FOR_COUNCILLORS = (NEW_CASE, STATUS, REFERRED, REPLY_RECEIVED, CHASED, ESCALATED)


@dataclass(frozen=True)
class Change:
    """One change on one case: `at` is when Mailbag learnt of it, `on` the day it happened."""

    case_id: int
    kind: str
    at: datetime
    on: datetime
    party: str = ""  # the organisation referred to, replying, chased
    detail: str = ""  # a status change as the timeline words it, without the reason

    def describe(self) -> str:
        """One line in plain English, safe to send: no notes, no one else's details."""
        day = uk_long_date(self.on)
        text = {
            NEW_CASE: f"new case opened on {day}",
            REFERRED: f"referred to {self.party} on {day}",
            REPLY_RECEIVED: f"reply received from {self.party} on {day}",
            CHASED: f"{self.party} chased on {day}",
            ESCALATED: f"no reply from {self.party} after two chases: escalated on {day}",
            STATUS: f"{self.detail} on {day}",
            CLOSED: f"case closed on {day}",
        }[self.kind]
        return text[:1].upper() + text[1:]


def changes_between(
    session: Session,
    since: datetime,
    until: datetime,
    kinds: Sequence[str],
    case_ids: ColumnElement[bool] | None = None,
) -> dict[int, list[Change]]:
    """Changes Mailbag learnt of in (since, until], per case, oldest first.

    `case_ids` narrows the cases with a condition on `Case` (e.g. what a councillor may see).
    """
    where = case_ids if case_ids is not None else Case.id.is_not(None)
    found: list[Change] = []
    for kind in kinds:
        found.extend(_READERS[kind](session, since, until, where))
    by_case: dict[int, list[Change]] = {}
    for change in sorted(found, key=lambda c: (c.at, c.on, c.kind)):
        by_case.setdefault(change.case_id, []).append(change)
    return by_case


def _new_cases(
    session: Session, since: datetime, until: datetime, where: ColumnElement[bool]
) -> list[Change]:
    rows = session.execute(
        select(Case.id, Case.opened_at).where(
            where, Case.opened_at > since, Case.opened_at <= until
        )
    ).all()
    return [Change(case_id, NEW_CASE, opened, opened) for case_id, opened in rows]


def _referred(
    session: Session, since: datetime, until: datetime, where: ColumnElement[bool]
) -> list[Change]:
    """A follow-up opened: the office wrote to a third party and waits for its answer."""
    rows = session.scalars(
        select(FollowUp)
        .join(Case, Case.id == FollowUp.case_id)
        .where(where, FollowUp.recorded_at > since, FollowUp.recorded_at <= until)
    ).all()
    return [
        Change(f.case_id, REFERRED, f.recorded_at, f.opened_at, party_name(session, f.party_key))
        for f in rows
    ]


def _replies(
    session: Session, since: datetime, until: datetime, where: ColumnElement[bool]
) -> list[Change]:
    """A follow-up satisfied (by the party's reply, or by staff who got it another way).

    `updated_at` is when Mailbag learnt of it; a satisfied follow-up does not change again.
    """
    rows = session.scalars(
        select(FollowUp)
        .join(Case, Case.id == FollowUp.case_id)
        .where(
            where,
            FollowUp.status == SATISFIED,
            FollowUp.updated_at > since,
            FollowUp.updated_at <= until,
        )
    ).all()
    return [
        Change(
            f.case_id,
            REPLY_RECEIVED,
            f.updated_at,
            f.satisfied_at or f.updated_at,
            party_name(session, f.party_key),
        )
        for f in rows
    ]


def _chases(
    session: Session, since: datetime, until: datetime, where: ColumnElement[bool]
) -> list[Change]:
    rows = session.execute(
        select(ChaseAttempt.sent_at, FollowUp.case_id, FollowUp.party_key)
        .join(FollowUp, FollowUp.id == ChaseAttempt.follow_up_id)
        .join(Case, Case.id == FollowUp.case_id)
        .where(
            where,
            ChaseAttempt.state == SENT,
            ChaseAttempt.sent_at > since,
            ChaseAttempt.sent_at <= until,
        )
    ).all()
    return [
        Change(case_id, CHASED, sent or until, sent or until, party_name(session, key))
        for sent, case_id, key in rows
    ]


def _escalations(
    session: Session, since: datetime, until: datetime, where: ColumnElement[bool]
) -> list[Change]:
    rows = session.scalars(
        select(FollowUp)
        .join(Case, Case.id == FollowUp.case_id)
        .where(where, FollowUp.escalated_at > since, FollowUp.escalated_at <= until)
    ).all()
    return [
        Change(
            f.case_id,
            ESCALATED,
            f.escalated_at or until,
            f.escalated_at or until,
            party_name(session, f.party_key),
        )
        for f in rows
    ]


def _status_changes(
    session: Session, since: datetime, until: datetime, where: ColumnElement[bool]
) -> list[Change]:
    """Closed or reopened, as the timeline says it, without the reason (it may be private)."""
    rows = session.execute(
        select(TimelineEntry.case_id, TimelineEntry.occurred_at, TimelineEntry.summary)
        .join(Case, Case.id == TimelineEntry.case_id)
        .where(
            where,
            TimelineEntry.kind == "status",
            TimelineEntry.occurred_at > since,
            TimelineEntry.occurred_at <= until,
        )
    ).all()
    return [
        Change(case_id, STATUS, at, at, detail=_headline(summary)) for case_id, at, summary in rows
    ]


def _closed(
    session: Session, since: datetime, until: datetime, where: ColumnElement[bool]
) -> list[Change]:
    """Cases closed in the window and still closed: a case reopened since is not "closed"."""
    rows = session.execute(
        select(Case.id, Case.closed_at).where(
            where,
            Case.status == CASE_CLOSED,
            Case.closed_at > since,
            Case.closed_at <= until,
        )
    ).all()
    return [Change(case_id, CLOSED, closed or until, closed or until) for case_id, closed in rows]


def _headline(summary: str) -> str:
    """ "Closed by Cara Worker: moved away" -> "Closed by Cara Worker"."""
    head = summary.split(":", 1)[0].strip()[:80]
    return head[:1].upper() + head[1:] if head else "Status changed"


_READERS = {
    NEW_CASE: _new_cases,
    REFERRED: _referred,
    REPLY_RECEIVED: _replies,
    CHASED: _chases,
    ESCALATED: _escalations,
    STATUS: _status_changes,
    CLOSED: _closed,
}
