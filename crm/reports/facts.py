"""The SQL every figure is made of: a case open at an instant, new or closed in a week,
overdue by a day; and a case joined to its value on an axis (one outer join per axis)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Row, Select, and_, case, func, or_
from sqlalchemy.orm import aliased

from crm.cases import OPEN
from crm.models import Case
from crm.reports.overdue import cutoffs, overdue_condition
from crm.reports.period import Week
from crm.settings import Settings
from crm.tags.models import CaseTag, TagValue
from tagging.axes import Axis

Ts = TypeVarTuple("Ts")
AnyRow = Row[*tuple[Any, ...]]
AnySelect = Select[*tuple[Any, ...]]


def open_at(moment: datetime) -> ColumnElement[bool]:
    """Opened before the instant and not closed by then (a case closed with no date stays
    closed: only the timestamps tell history, the status tells today)."""
    still_open = and_(Case.closed_at.is_(None), Case.status == OPEN)
    return and_(Case.opened_at < moment, or_(Case.closed_at >= moment, still_open))


def new_in(week: Week) -> ColumnElement[bool]:
    return and_(Case.opened_at >= week.start, Case.opened_at < week.end)


def closed_in(week: Week) -> ColumnElement[bool]:
    return and_(Case.closed_at >= week.start, Case.closed_at < week.end)


def in_play(week: Week) -> ColumnElement[bool]:
    """The cases a week's review is about: open at its end, or opened or closed within it."""
    return or_(open_at(week.end), new_in(week), closed_in(week))


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(case((condition, 1)))


@dataclass
class AxisJoin:
    """A case's one value on an axis: the case tag and the tag value, outer joined."""

    axis: Axis
    tag: type[CaseTag] = field(init=False)
    value: type[TagValue] = field(init=False)

    def __post_init__(self) -> None:
        self.tag = aliased(CaseTag, name=f"ct_{self.axis.value}")
        self.value = aliased(TagValue, name=f"tv_{self.axis.value}")

    def join(self, query: Select[*Ts]) -> Select[*Ts]:
        on_case = and_(self.tag.case_id == Case.id, self.tag.slot == self.axis)
        return query.outerjoin(self.tag, on_case).outerjoin(
            self.value, self.value.id == self.tag.tag_id
        )


class Facts:
    """Aliases for the axes the figures need, and the overdue test for any week."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.urgency = AxisJoin(Axis.URGENCY)

    def overdue_by_end_of(self, week: Week) -> ColumnElement[bool]:
        """Open at the week's end with its response deadline before the day after it."""
        late = overdue_condition(
            self.urgency.value.name,
            self.urgency.tag.tagged_at,
            cutoffs(self.settings, week.as_of),
        )
        return and_(open_at(week.end), late)

    def week_counts(self, week: Week) -> list[ColumnElement[int]]:
        """New, closed, open at the end and overdue by the end: four counts in one scan."""
        return [
            count_if(new_in(week)),
            count_if(closed_in(week)),
            count_if(open_at(week.end)),
            count_if(self.overdue_by_end_of(week)),
        ]
