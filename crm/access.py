"""Who may see which case: one SQL condition used by lists, search, the API, exports and pages.

Sensitivity decides. A safeguarding or special-category case is seen by office managers and
by the caseworker it is assigned to (not by every caseworker: such cases are triaged and
assigned by an office manager). Councillors see the cases they raised (mail from their own
address, or their request form) or whose constituent lives in their wards, never a restricted
case unless it is assigned to them. Other staff see every other case.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from crm.informing.models import CouncillorRequest
from crm.models import Case, Message
from crm.tags.models import CaseTag, TagValue
from crm.users.models import CASEWORKER, COUNCILLOR, OFFICE_MANAGER, User
from tagging.axes import SAFEGUARDING, SPECIAL_CATEGORY, Axis

RESTRICTED = (SAFEGUARDING, SPECIAL_CATEGORY)
# The case's copy of its constituent's postcode, upper-cased, kept by triggers (migration
# 0021) and outside the ORM: nothing in Python writes it.
CARRIED_POSTCODE = "constituent_postcode"
_POSTCODE: ColumnClause[Any] = ColumnClause(CARRIED_POSTCODE, _selectable=Case.__table__)


@dataclass(frozen=True)
class Viewer:
    """The person asking, reduced to what access decisions need."""

    user_id: int
    email: str
    role: str
    wards: tuple[str, ...] = ()

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(user.id, user.email, user.role, tuple(user.wards or ()))


@functools.cache  # one statement object, reused: see crm.db.built_once
def restricted_values() -> Select[int]:
    """The ids of the tag values that restrict a case (safeguarding, special category)."""
    return select(TagValue.id).where(func.lower(TagValue.name).in_(RESTRICTED))


def is_restricted(values: Select[int] | None = None) -> ColumnElement[bool]:
    """The case's sensitivity is safeguarding or special category. Given the query that
    finds those values (`restricted_values()`), each case answers from its own row: the
    copy of its sensitivity that triggers keep (migrations 0019, 0020), with no lookup in
    case_tags; without it, from case_tags, the record (single cases, reports)."""
    if values is not None:
        return and_(Case.sensitivity_id.is_not(None), Case.sensitivity_id.in_(values))
    return exists(
        select(CaseTag.id)
        .join(TagValue, TagValue.id == CaseTag.tag_id)
        .where(
            CaseTag.case_id == Case.id,
            CaseTag.slot == Axis.SENSITIVITY,
            func.lower(TagValue.name).in_(RESTRICTED),
        )
    )


def in_wards(wards: tuple[str, ...]) -> ColumnElement[bool]:
    """The case's constituent has a postcode in one of these districts, sectors or areas.

    Asked of the copy of the postcode the case carries (migration 0021), which the list's
    index holds on PostgreSQL: each case is tested as the walk passes it. Asked of the
    residents, the list had first found and hashed the ward's 8,000 people (3.7 ms)."""
    if not wards:
        return false()
    return or_(*(p for area in wards for p in _postcode_patterns(area)))


def visible_cases(viewer: Viewer, restricted: Select[int] | None = None) -> ColumnElement[bool]:
    """The WHERE condition on `Case` that every listing and lookup applies; lists pass
    `restricted_values()` as `restricted` (the same rule, cheaper per case)."""
    email = viewer.email.lower()
    return _visible(viewer.role, viewer.wards, viewer.user_id, email, restricted)


def visible_cases_given(role: str, wards: tuple[str, ...]) -> ColumnElement[bool]:
    """`visible_cases` for a statement built once for each role and set of wards: who is
    asking is bound when it runs, from `viewer_values` (required: never a stale viewer)."""
    viewer_id = bindparam("viewer_id", type_=Integer, required=True)
    viewer_email = bindparam("viewer_email", type_=String, required=True)
    return _visible(role, wards, viewer_id, viewer_email)


def viewer_values(viewer: Viewer) -> dict[str, Any]:
    """The values `visible_cases_given` binds."""
    return {"viewer_id": viewer.user_id, "viewer_email": viewer.email.lower()}


def _visible(
    role: str,
    wards: tuple[str, ...],
    user_id: Any,
    email: Any,
    restricted: Select[int] | None = None,
) -> ColumnElement[bool]:
    if role == OFFICE_MANAGER:
        return true()
    assigned = Case.owner_id == user_id
    if role == CASEWORKER:
        return or_(assigned, not_(is_restricted(restricted)))
    if role == COUNCILLOR:
        # An IN over the few rows an index finds, hashed once per query (as EXISTS the
        # planner may probe them case by case, and the list counts 100,000 cases).
        raised = Case.id.in_(
            select(Message.case_id).where(
                Message.from_address == email, Message.case_id.is_not(None)
            )
        )
        requested = Case.id.in_(  # raised from the councillor's request form (crm.informing)
            select(CouncillorRequest.case_id).where(
                CouncillorRequest.raised_by_id == user_id,
                CouncillorRequest.case_id.is_not(None),
            )
        )
        mine = or_(raised, requested, in_wards(wards))
        return or_(assigned, and_(mine, not_(is_restricted(restricted))))
    return false()


def can_see(session: Session, viewer: Viewer, case_id: int) -> bool:
    """The same rule as the lists, asked of one case."""
    found = session.scalar(select(Case.id).where(Case.id == case_id, visible_cases(viewer)))
    return found is not None


def restricted(session: Session, case_id: int) -> bool:
    """True for a safeguarding or special-category case: views of it are audited."""
    return session.scalar(select(Case.id).where(Case.id == case_id, is_restricted())) is not None


def _postcode_patterns(area: str) -> list[ColumnElement[bool]]:
    """The case's postcode (upper-cased) in an area, as conditions any one of which is
    enough."""
    postcode = _POSTCODE
    if " " in area:  # a sector "EX4 6" or a full postcode
        return [postcode.like(f"{area}%")]
    if any(ch.isdigit() for ch in area[-1:]):  # a district "EX4"
        return [postcode == area, postcode.like(f"{area} %")]
    # an area "EX": letters then a digit, so "E" does not take in "EX4"
    return [postcode.like(f"{area}{digit}%") for digit in "0123456789"]
