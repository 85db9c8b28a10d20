"""The case list as CSV: the list's own filters and access rule, every export audited.

Spreadsheets run text that starts like a formula (`=HYPERLINK(...)` in an email subject), so
such cells get Excel's quote prefix, as the weekly review's cells do.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import audit
from crm.access import Viewer
from crm.caselist import SORTS, CaseFilters, filtered, tag_conditions
from crm.db import Database
from crm.models import Case, Constituent
from crm.reports.cells import safe_text
from crm.tags.models import CaseTag, TagValue
from crm.types import OFFICE_ZONE
from crm.users.models import User
from tagging.axes import AXES, Axis

COLUMNS = (
    "reference",
    "status",
    "opened",
    "last activity",
    "subject",
    "constituent",
    "postcode",
    "owner",
    *(axis.value for axis in AXES),
)
BATCH = 500


def matching_ids(session: Session, viewer: Viewer, filters: CaseFilters) -> list[int]:
    """Every case of the filtered list this viewer may see, in the list's order (no paging)."""
    order = SORTS.get(filters.sort, SORTS["activity"])
    ids = filtered(viewer, filters, tag_conditions(session, filters)).subquery()
    query = select(Case.id).where(Case.id.in_(select(ids.c.id))).order_by(*order)
    return list(session.scalars(query))


def record_export(session: Session, who: str, filters: CaseFilters, rows: int) -> None:
    """One audit line per download: who, how many cases, narrowed by what."""
    audit.record(
        session, "export", who=who, detail=f"case list CSV, {rows} cases; {_said(filters)}"
    )


def csv_chunks(database: Database, ids: Sequence[int]) -> Iterator[str]:
    """The header, then the rows a batch at a time (a short session each, so it can stream)."""
    yield _line(COLUMNS)
    for start in range(0, len(ids), BATCH):
        batch = list(ids[start : start + BATCH])
        with database.session() as session:
            rows = _rows(session, batch)
        yield "".join(_line(row) for row in rows)


def _rows(session: Session, ids: list[int]) -> list[list[str]]:
    found = session.execute(
        select(Case, Constituent.name, Constituent.postcode, User.name, User.email)
        .where(Case.id.in_(ids))
        .outerjoin(Constituent, Constituent.id == Case.constituent_id)
        .outerjoin(User, User.id == Case.owner_id)
    ).all()
    tags = _tags(session, ids)
    by_id = {row[0].id: row for row in found}
    rows = []
    for case_id in ids:
        if case_id not in by_id:  # deleted or merged away since the list was made
            continue
        case, name, postcode, owner_name, owner_email = by_id[case_id]
        rows.append(
            [
                case.reference,
                case.status,
                _when(case.opened_at),
                _when(case.last_activity_at),
                case.subject or "",
                name or "",
                postcode or "",
                owner_name or owner_email or "",
                *(tags.get((case_id, axis), "") for axis in AXES),
            ]
        )
    return rows


def _tags(session: Session, ids: list[int]) -> dict[tuple[int, Axis], str]:
    """Each case's one value per axis (secondary issues are left out)."""
    rows = session.execute(
        select(CaseTag.case_id, CaseTag.axis, TagValue.path)
        .join(TagValue, TagValue.id == CaseTag.tag_id)
        .where(CaseTag.case_id.in_(ids), CaseTag.slot.is_not(None))
    )
    return {(case_id, axis): path for case_id, axis, path in rows}


def _line(cells: Sequence[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([safe_text(cell) for cell in cells])
    return out.getvalue()


def _when(moment: datetime | None) -> str:
    """London wall-clock time, as the office reads it."""
    return moment.astimezone(OFFICE_ZONE).strftime("%Y-%m-%d %H:%M") if moment else ""


def _said(filters: CaseFilters) -> str:
    """The filters in a line, without search words (they can be a constituent's name)."""
    parts = [f"{axis.value}={value}" for axis, value in filters.tags.items()]
    named = {
        "status": filters.status,
        "owner": filters.owner,
        "ward": filters.ward,
        "waiting": filters.waiting,
        "campaign": filters.campaign,
    }
    parts += [f"{name}={value}" for name, value in named.items() if value]
    if filters.overdue:
        parts.append("overdue")
    if filters.search.strip():
        parts.append("with a search")
    return ", ".join(parts) or "no filters"
