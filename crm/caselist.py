"""The case list: filters, search, sort and paging over the cases a viewer may see."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.orm import Session

from crm.access import Viewer, in_wards, visible_cases
from crm.models import Case, Constituent, ConstituentEmail, Message
from crm.tags.models import CaseTag, TagValue
from crm.users.models import User
from tagging.axes import Axis

SORTS = {
    "activity": (Case.last_activity_at.desc(), Case.id.desc()),
    "oldest": (Case.last_activity_at.asc(), Case.id.asc()),
    "opened": (Case.opened_at.desc(), Case.id.desc()),
    "reference": (Case.reference.asc(),),
}
MAX_PER_PAGE = 200
UNASSIGNED = "none"


@dataclass(frozen=True)
class CaseFilters:
    """What the list is narrowed to; empty fields do not narrow it."""

    status: str = ""
    tags: dict[Axis, str] = field(default_factory=dict)
    owner: str = ""  # a user id, or "none" for unassigned
    ward: str = ""
    search: str = ""
    sort: str = "activity"
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class ListedTag:
    axis: str
    name: str


@dataclass(frozen=True)
class ListedCase:
    id: int
    reference: str
    status: str
    subject: str
    constituent: str
    postcode: str
    owner: str
    last_activity_at: datetime
    tags: list[ListedTag]


@dataclass(frozen=True)
class CasePage:
    rows: list[ListedCase]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search_condition(text: str) -> ColumnElement[bool]:
    """Reference, constituent name, email or postcode, or words in the correspondence."""
    pattern = f"%{_escape_like(text.strip().lower())}%"
    constituent = exists(
        select(Constituent.id)
        .outerjoin(ConstituentEmail, ConstituentEmail.constituent_id == Constituent.id)
        .where(
            Constituent.id == Case.constituent_id,
            or_(
                func.lower(Constituent.name).like(pattern, escape="\\"),
                func.lower(Constituent.postcode).like(pattern, escape="\\"),
                func.lower(ConstituentEmail.email).like(pattern, escape="\\"),
            ),
        )
    )
    correspondence = exists(
        select(Message.id).where(
            Message.case_id == Case.id,
            or_(
                func.lower(Message.subject).like(pattern, escape="\\"),
                func.lower(Message.body_text).like(pattern, escape="\\"),
            ),
        )
    )
    return or_(
        func.lower(Case.reference).like(pattern, escape="\\"),
        func.lower(Case.subject).like(pattern, escape="\\"),
        constituent,
        correspondence,
    )


def filtered(viewer: Viewer, filters: CaseFilters) -> Select[Any]:
    """The ids of the matching cases the viewer may see (access first, always)."""
    query = select(Case.id).where(visible_cases(viewer))
    if filters.status:
        query = query.where(Case.status == filters.status)
    for axis, value in filters.tags.items():
        query = query.where(_tagged(axis, value))
    if filters.owner == UNASSIGNED:
        query = query.where(Case.owner_id.is_(None))
    elif filters.owner.isdigit():
        query = query.where(Case.owner_id == int(filters.owner))
    if filters.ward.strip():
        query = query.where(in_wards((filters.ward.strip().upper(),)))
    if filters.search.strip():
        query = query.where(search_condition(filters.search))
    return query


def case_page(session: Session, viewer: Viewer, filters: CaseFilters) -> CasePage:
    """One page of the list, with each row's tags fetched in one more query."""
    per_page = max(1, min(filters.per_page, MAX_PER_PAGE))
    page = max(1, filters.page)
    ids = filtered(viewer, filters).subquery()
    total = session.scalar(select(func.count()).select_from(ids)) or 0
    order = SORTS.get(filters.sort, SORTS["activity"])
    rows = session.execute(
        select(Case, Constituent.name, Constituent.postcode, User.name, User.email)
        .where(Case.id.in_(select(ids.c.id)))
        .outerjoin(Constituent, Constituent.id == Case.constituent_id)
        .outerjoin(User, User.id == Case.owner_id)
        .order_by(*order)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    tags = _tags_of(session, [case.id for case, *_ in rows])
    listed = [
        ListedCase(
            id=case.id,
            reference=case.reference,
            status=case.status,
            subject=case.subject,
            constituent=name or "",
            postcode=postcode or "",
            owner=owner_name or owner_email or "",
            last_activity_at=case.last_activity_at,
            tags=tags.get(case.id, []),
        )
        for case, name, postcode, owner_name, owner_email in rows
    ]
    return CasePage(listed, total, page, per_page)


def _tagged(axis: Axis, value: str) -> ColumnElement[bool]:
    """Tagged with the value or, for issues, anything under it ("Housing" takes in repairs)."""
    name = value.strip().lower()
    return exists(
        select(CaseTag.id)
        .join(TagValue, TagValue.id == CaseTag.tag_id)
        .where(
            CaseTag.case_id == Case.id,
            CaseTag.axis == axis,
            or_(func.lower(TagValue.path) == name, func.lower(TagValue.path).like(f"{name} ›%")),
        )
    )


def _tags_of(session: Session, case_ids: list[int]) -> dict[int, list[ListedTag]]:
    found: dict[int, list[ListedTag]] = defaultdict(list)
    if not case_ids:
        return found
    order = {axis: i for i, axis in enumerate(Axis)}
    rows = session.execute(
        select(CaseTag.case_id, CaseTag.axis, CaseTag.slot, TagValue.path)
        .join(TagValue, TagValue.id == CaseTag.tag_id)
        .where(CaseTag.case_id.in_(case_ids))
    ).all()
    for case_id, axis, _slot, path in sorted(
        rows, key=lambda r: (r[0], r[2] is None, order[r[1]], r[3])
    ):
        found[case_id].append(ListedTag(axis.value, path))
    return found


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
