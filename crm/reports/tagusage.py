"""The Tags sheet: how much each value on each axis is used, to keep the taxonomy tidy.

Unused values are listed too (an office prunes what nobody uses), as are retired and merged
ones that cases still carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from crm.models import Case
from crm.reports.facts import AnyRow, count_if, new_in, open_at
from crm.reports.period import Week
from crm.tags.models import CaseTag, TagValue
from tagging.axes import AXES


@dataclass(frozen=True)
class TagUsage:
    """One value: cases carrying it at all, as their one value on the axis, or as a
    secondary issue; open at the week's end; new this week; when it was last applied."""

    axis: str
    tag: str
    status: str
    cases: int
    primary: int
    secondary: int
    open: int
    new: int
    last_used: datetime | None


def tag_usage(session: Session, week: Week) -> list[TagUsage]:
    """Every value, in the axes' order and the taxonomy's own order within an axis."""
    merged = aliased(TagValue, name="tv_merged")
    query = (
        select(
            TagValue.axis,
            TagValue.path,
            TagValue.status,
            merged.path.label("merged_path"),
            TagValue.position,
            func.count(CaseTag.id).label("cases"),
            count_if(CaseTag.slot.is_not(None)).label("primary"),
            count_if(and_(CaseTag.id.is_not(None), CaseTag.slot.is_(None))).label("secondary"),
            count_if(and_(CaseTag.id.is_not(None), open_at(week.end))).label("open"),
            count_if(and_(CaseTag.id.is_not(None), new_in(week))).label("new"),
            func.max(CaseTag.tagged_at).label("last_used"),
        )
        .select_from(TagValue)
        .outerjoin(merged, merged.id == TagValue.merged_into_id)
        .outerjoin(CaseTag, CaseTag.tag_id == TagValue.id)
        .outerjoin(Case, Case.id == CaseTag.case_id)
        .group_by(
            TagValue.id,
            TagValue.axis,
            TagValue.path,
            TagValue.status,
            merged.path,
            TagValue.position,
        )
    )
    found = [(row.position, _usage(row)) for row in session.execute(query)]
    order = {axis.value: i for i, axis in enumerate(AXES)}
    found.sort(key=lambda pair: (order.get(pair[1].axis, len(order)), pair[0], pair[1].tag))
    return [usage for _, usage in found]


def _usage(row: AnyRow) -> TagUsage:
    status = f"{row.status} into {row.merged_path}" if row.merged_path else row.status
    return TagUsage(
        axis=row.axis.value,
        tag=row.path,
        status=status,
        cases=int(row.cases),
        primary=int(row.primary),
        secondary=int(row.secondary),
        open=int(row.open),
        new=int(row.new),
        last_used=row.last_used,
    )
