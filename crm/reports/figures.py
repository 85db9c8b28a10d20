"""The Summary's figures: this week, the trend, and breakdowns by issue, caseworker, urgency.

Every figure is a count in SQL (one scan per table of figures), so a review of an office with
a hundred thousand cases reads a few dozen numbers, not a hundred thousand rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from crm.models import Case
from crm.reports.facts import AnySelect, AxisJoin, Facts, in_play, open_at
from crm.reports.period import Week
from crm.reports.sensitivity import is_restricted
from crm.tags.models import TagValue
from crm.users.models import User
from tagging.axes import Axis

NO_ISSUE, NO_URGENCY, UNASSIGNED = "(no issue)", "(no urgency)", "(unassigned)"


@dataclass(frozen=True)
class WeekFigures:
    """One week: cases opened and closed in it, open at its end, overdue by its end."""

    week: Week
    new: int
    closed: int
    open: int
    overdue: int


@dataclass(frozen=True)
class Breakdown:
    """The same four figures for one issue, caseworker or urgency, this week. `key` is what
    a case list filters on: the issue or urgency as tagged, the owner's user id; "" for none."""

    label: str
    new: int
    closed: int
    open: int
    overdue: int
    key: str = ""


def trend(session: Session, facts: Facts, week: Week) -> list[WeekFigures]:
    """The last twelve weeks, oldest first, in one scan of the cases."""
    weeks = week.trend()
    columns = [column for each in weeks for column in facts.week_counts(each)]
    query = facts.urgency.join(select(*columns).select_from(Case))
    row = session.execute(query).one()
    return [
        WeekFigures(each, *(int(n) for n in row[4 * i : 4 * i + 4])) for i, each in enumerate(weeks)
    ]


def by_issue(session: Session, facts: Facts, week: Week) -> list[Breakdown]:
    """By primary issue, at its top level ("Housing" takes in "Housing › Repairs")."""
    issue = AxisJoin(Axis.ISSUE)
    parent = aliased(TagValue, name="tv_issue_parent")
    label = func.coalesce(parent.name, issue.value.name)
    query = issue.join(_grouped(facts, week, label)).outerjoin(
        parent, parent.id == issue.value.parent_id
    )
    return _sorted(_breakdowns(session, query, NO_ISSUE))


def by_caseworker(session: Session, facts: Facts, week: Week) -> list[Breakdown]:
    """By the case's owner; unassigned cases together."""
    grouped = _breakdowns(session, _grouped(facts, week, Case.owner_id), UNASSIGNED)
    ids = [int(b.key) for b in grouped if b.key]
    users = {
        str(user_id): name or email
        for user_id, name, email in session.execute(
            select(User.id, User.name, User.email).where(User.id.in_(ids))
        )
    }
    return _sorted([replace(b, label=users.get(b.key, b.label)) for b in grouped])


def by_urgency(session: Session, facts: Facts, week: Week) -> list[Breakdown]:
    """By urgency, in the scale's own order (immediate first)."""
    value = facts.urgency.value
    query = (
        _grouped(facts, week, value.name)
        .group_by(value.position)
        .order_by(func.coalesce(value.position, 1_000_000))
    )
    return _breakdowns(session, query, NO_URGENCY)


def restricted_open(session: Session, week: Week) -> int:
    """Safeguarding and special-category cases open at the week's end (counted for all)."""
    query = select(func.count()).select_from(Case).where(open_at(week.end), is_restricted())
    return int(session.scalar(query) or 0)


def _grouped(
    facts: Facts,
    week: Week,
    label: ColumnElement[Any] | InstrumentedAttribute[str] | InstrumentedAttribute[int | None],
) -> AnySelect:
    counts = facts.week_counts(week)
    query = select(label, *counts).select_from(Case).where(in_play(week)).group_by(label)
    return facts.urgency.join(query)


def _breakdowns(session: Session, query: AnySelect, missing: str) -> list[Breakdown]:
    """Rows of (key, new, closed, open, overdue); a missing key is labelled `missing`."""
    found: dict[str, list[int]] = {}
    for row in session.execute(query):
        key = str(row[0]) if row[0] is not None else ""
        totals = found.setdefault(key, [0, 0, 0, 0])
        for i in range(4):
            totals[i] += int(row[i + 1])
    return [
        Breakdown(key or missing, new, closed, still_open, overdue, key=key)
        for key, (new, closed, still_open, overdue) in found.items()
    ]


def _sorted(rows: Sequence[Breakdown]) -> list[Breakdown]:
    """Most open cases first; the label breaks ties so the order is the same every week."""
    return sorted(rows, key=lambda b: (-b.open, -b.new, b.label.casefold()))
