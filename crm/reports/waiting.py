"""Waiting on third parties: outstanding follow-ups by organisation, and how fast each one
answers (the median days from our letter to its reply over the last twelve weeks): which
departments reply on time is itself evidence a representative can use."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from crm.followups.models import (
    ACTIVE,
    ESCALATED,
    SATISFIED,
    SENT,
    ChaseAttempt,
    FollowUp,
)
from crm.outgoing.models import Organisation
from crm.reports.facts import AnySelect, count_if
from crm.reports.period import Week

DOMAIN_PREFIX = "domain:"
SECONDS_PER_DAY = 86_400
# Still waiting: the letter has not been answered, whether or not chasing has ended.
OUTSTANDING = (*ACTIVE, ESCALATED)


@dataclass(frozen=True)
class OrganisationWait:
    """One third party: what we wait for now, and how it has answered lately."""

    organisation: str
    open_follow_ups: int
    past_due: int
    oldest_days: int
    chases_sent: int
    escalations: int
    median_reply_days: float | None
    replies: int


def party_label() -> ColumnElement[str]:
    """The directory's name for the party, or the domain we wrote to when it has none."""
    return func.coalesce(Organisation.name, FollowUp.party_key)


def outstanding_at(moment: datetime) -> ColumnElement[bool]:
    """Written before the instant and not answered by then (cancelled ones never count)."""
    answered_later = and_(FollowUp.status == SATISFIED, FollowUp.satisfied_at >= moment)
    return and_(FollowUp.opened_at < moment, or_(FollowUp.status.in_(OUTSTANDING), answered_later))


def waiting_on(session: Session, week: Week) -> list[OrganisationWait]:
    """Every party with an outstanding follow-up or a reply in the last twelve weeks."""
    outstanding = {row[0]: row for row in session.execute(_outstanding(week))}
    replies = _reply_days(session, week)
    labels = sorted(set(outstanding) | set(replies), key=lambda label: label.casefold())
    waits = []
    for label in labels:
        _, open_count, past_due, oldest, chases, escalations = outstanding.get(
            label, (label, 0, 0, None, 0, 0)
        )
        days = replies.get(label, [])
        waits.append(
            OrganisationWait(
                organisation=_readable(label),
                open_follow_ups=int(open_count),
                past_due=int(past_due),
                oldest_days=_days_between(oldest, week.end),
                chases_sent=int(chases or 0),
                escalations=int(escalations),
                median_reply_days=round(median(days), 1) if days else None,
                replies=len(days),
            )
        )
    return sorted(waits, key=lambda w: (-w.open_follow_ups, -w.past_due, w.organisation))


def _outstanding(week: Week) -> AnySelect:
    label = party_label()
    # Chases counted in one grouped pass: correlated per follow-up, a planner without
    # fresh statistics walks the attempts by state for every row.
    chases = (
        select(ChaseAttempt.follow_up_id, func.count(ChaseAttempt.id).label("sent"))
        .where(ChaseAttempt.state == SENT, ChaseAttempt.sent_at < week.end)
        .group_by(ChaseAttempt.follow_up_id)
        .subquery("chases")
    )
    return (
        select(
            label,
            func.count(FollowUp.id),
            count_if(FollowUp.due_at < week.end),
            func.min(FollowUp.opened_at),
            func.coalesce(func.sum(chases.c.sent), 0),
            count_if(and_(FollowUp.escalated_at.is_not(None), FollowUp.escalated_at < week.end)),
        )
        .select_from(FollowUp)
        .outerjoin(Organisation, Organisation.id == FollowUp.organisation_id)
        .outerjoin(chases, chases.c.follow_up_id == FollowUp.id)
        .where(outstanding_at(week.end))
        .group_by(label)
    )


def _reply_days(session: Session, week: Week) -> dict[str, list[float]]:
    """Days from letter to reply for follow-ups answered in the twelve weeks (a bounded set)."""
    since = week.trend()[0].start
    query = (
        select(party_label(), FollowUp.opened_at, FollowUp.satisfied_at)
        .select_from(FollowUp)
        .outerjoin(Organisation, Organisation.id == FollowUp.organisation_id)
        .where(
            FollowUp.status == SATISFIED,
            FollowUp.satisfied_at >= since,
            FollowUp.satisfied_at < week.end,
        )
    )
    found: dict[str, list[float]] = defaultdict(list)
    for label, opened_at, satisfied_at in session.execute(query):
        if satisfied_at is None:
            continue
        seconds = max(0.0, (satisfied_at - opened_at).total_seconds())
        found[label].append(seconds / SECONDS_PER_DAY)
    return found


def _days_between(start: datetime | None, end: datetime) -> int:
    return max(0, (end - start).days) if start is not None else 0


def _readable(label: str) -> str:
    return label.removeprefix(DOMAIN_PREFIX)
