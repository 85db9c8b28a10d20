"""The case list: filters, search, sort and paging over the cases a viewer may see."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    String,
    and_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.util import ClauseAdapter

from crm import casefilters
from crm.access import Viewer, in_wards, restricted_values, visible_cases
from crm.db import (
    AnySelect,
    built_once,
    dialect_of,
    one_of_ids_given,
    one_of_listed_ids,
    plain_rows,
)
from crm.followups import status as follow_up_status
from crm.followups.models import ESCALATED
from crm.followups.status import Waiting
from crm.models import Case, Constituent, ConstituentEmail, Message
from crm.tags.carried import tagged_with_any
from crm.tags.models import CaseTag, TagValue
from crm.types import OFFICE_ZONE, utcnow
from crm.users.models import COUNCILLOR, User
from crm.words import holds_words, words_of, words_query
from tagging.axes import Axis

SORTS = {
    "activity": (Case.last_activity_at.desc(), Case.id.desc()),
    "oldest": (Case.last_activity_at.asc(), Case.id.asc()),
    "opened": (Case.opened_at.desc(), Case.id.desc()),
    "reference": (Case.reference.asc(),),
}
MAX_PER_PAGE = 200
UNASSIGNED = "none"
# Counting stops this far past the page ("1,000+"): an exact count of a long list costs
# more than the page itself, and tells someone paging through fifty at a time nothing more.
# The weekly review and /review give exact figures. A councillor's cases are spread over
# the whole office's, so counting them walks every case (a ward with a twelfth of 100,000
# cases: 12,600 read to count 1,000, 3 of the list's 5 ms in PostgreSQL); a councillor
# reading on a phone learns nothing more from "1,000+" than from "500+", so theirs stops
# at 500 (3.4 ms).
COUNT_CAP = 1_000
COUNCILLOR_COUNT_CAP = 500
SEARCH_FIRST_MAX = 2_000  # cases a search may find and still be passed on as a list of ids


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
    waiting: str = ""  # "any", or an organisation's name, short name or domain
    overdue: bool = False  # a follow-up past due, or escalated
    opened_from: date | None = None  # London days, both inclusive
    opened_to: date | None = None
    campaign: int | None = None
    as_of: datetime | None = None  # "now" for overdue; None: when the list is made


class ListedTag(NamedTuple):  # a page holds hundreds: a tuple is cheaper to make
    axis: str
    name: str


@dataclass(frozen=True)
class RowWait:
    """What a listed case waits for: "Waiting on DWP since 3 Nov, due 24 Nov"."""

    waiting: Waiting
    overdue: bool

    def describe(self) -> str:
        w = self.waiting
        text = f"Waiting on {w.party} since {_short_date(w.since)}"
        if w.status == ESCALATED:
            return f"{text}, escalated to the representative"
        if w.held_for:
            return f"{text}, due {_short_date(w.due_at)}: {w.held_for}"
        return f"{text}, due {_short_date(w.due_at)}"

    @property
    def title(self) -> str:
        """The longer line (full dates, chases sent, next step) for a tooltip."""
        return self.waiting.describe()


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
    waiting: list[RowWait] = field(default_factory=list)


@dataclass(frozen=True)
class CasePage:
    rows: list[ListedCase]
    total: int
    page: int
    per_page: int
    more: bool = False  # the count stopped at COUNT_CAP: there are more than `total`

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def total_label(self) -> str:
        """ "1,234", or "1,000+" when the count stopped at the cap."""
        return f"{self.total:,}+" if self.more else f"{self.total:,}"


def search_condition(text: str) -> ColumnElement[bool]:
    """Reference, constituent name, email or postcode, or words in the correspondence."""
    return Case.id.in_(search_matches(text))


def search_matches(text: str) -> CompoundSelect[Any]:
    """The ids of the cases a search finds, whoever may see them."""
    terms = _terms(text)
    return _matches(words="search_words" in terms).params(**terms)


def _terms(text: str) -> dict[str, str]:
    """The values a search binds: a fragment for the short fields (reference, subject, name,
    email, postcode), and the words for the letters, when it holds any (crm.words)."""
    terms = {"search_pattern": f"%{casefilters.escape_like(text.strip().lower())}%"}
    if found := words_of(text):
        terms["search_words"] = words_query(found)
    return terms


@functools.cache
def _matches(*, words: bool) -> CompoundSelect[Any]:
    """One narrow query per table, united: each finds its rows through its own index
    (trigram indexes on PostgreSQL, migration 0012, and the letters' words, migration 0018)
    rather than reading every letter of every case. The values are bound when it runs."""
    pattern = bindparam("search_pattern", type_=String)

    def like(column: Any) -> ColumnElement[bool]:
        return func.lower(column).like(pattern, escape="\\")

    case = aliased(Case)  # not correlated with the list's own `cases`
    people = union(
        select(Constituent.id).where(or_(like(Constituent.name), like(Constituent.postcode))),
        select(ConstituentEmail.constituent_id).where(like(ConstituentEmail.email)),
    )
    found = [
        select(case.id).where(or_(like(case.reference), like(case.subject))),
        select(case.id).where(case.constituent_id.in_(people)),
        select(Message.case_id).where(like(Message.subject)),
    ]
    if words:
        letters = holds_words(Message.body_text, bindparam("search_words", type_=String))
        found.append(select(Message.case_id).where(letters))
    return union(*found)


def filtered(
    viewer: Viewer,
    filters: CaseFilters,
    tagged: dict[Axis, ColumnElement[bool]],
    *,
    found: ColumnElement[bool] | None = None,
) -> Select[Any]:
    """The ids of the matching cases the viewer may see (access first, always); `tagged`,
    each tag filter's condition (`tag_conditions`); `found`, when given, stands for the
    search, its cases already found (see `case_page`)."""
    # Access reads each case's copy of its sensitivity against the restricted values, a
    # subquery PostgreSQL runs once and hashes (a statement of its own had cost a round trip
    # and half a millisecond of Python for each list).
    query = select(Case.id).where(visible_cases(viewer, restricted_values()))
    if filters.status:
        query = query.where(Case.status == filters.status)
    for axis in filters.tags:
        query = query.where(tagged[axis])
    if filters.owner == UNASSIGNED:
        query = query.where(Case.owner_id.is_(None))
    elif filters.owner.isascii() and filters.owner.isdigit() and len(filters.owner) <= 9:
        query = query.where(Case.owner_id == int(filters.owner))
    if filters.ward.strip():
        query = query.where(in_wards((filters.ward.strip().upper(),)))
    if filters.search.strip():
        query = query.where(found if found is not None else search_condition(filters.search))
    if filters.waiting.strip():
        query = query.where(casefilters.waiting_on(filters.waiting))
    if filters.overdue:
        query = query.where(casefilters.overdue(filters.as_of or utcnow()))
    if filters.opened_from is not None or filters.opened_to is not None:
        query = query.where(casefilters.opened_between(filters.opened_from, filters.opened_to))
    if filters.campaign is not None:
        query = query.where(casefilters.in_campaign(filters.campaign))
    return query


def tag_conditions(session: Session, filters: CaseFilters) -> dict[Axis, ColumnElement[bool]]:
    """Each tag filter's condition on the case: the value with everything under it, looked
    up in one small query for the whole list instead of a join per case."""
    if not filters.tags:
        return {}
    wanted = [
        select(TagValue.id, literal(axis.value).label("axis")).where(_values_named(axis, value))
        for axis, value in filters.tags.items()
    ]
    found: dict[str, list[int]] = defaultdict(list)
    for tag_id, axis in plain_rows(session, union_all(*wanted)):
        found[axis].append(tag_id)
    return {axis: tagged_with_any(session, found[axis.value]) for axis in filters.tags}


def visible_ids(session: Session, viewer: Viewer, case_ids: Sequence[int]) -> set[int]:
    """Which of these cases the viewer may see (for pages that list follow-ups or kept cases)."""
    return _visible(session, viewer, Case.id, case_ids)


def visible_references(session: Session, viewer: Viewer, references: Sequence[str]) -> set[str]:
    """Which of these case references the viewer may see."""
    return _visible(session, viewer, Case.reference, references)


def _visible(session: Session, viewer: Viewer, column: Any, values: Sequence[Any]) -> set[Any]:
    if not values:
        return set()
    query = select(column).where(column.in_(list(set(values))), visible_cases(viewer))
    return set(session.scalars(query))


def case_page(
    session: Session, viewer: Viewer, filters: CaseFilters, *, count_cap: int | None = None
) -> CasePage:
    """One page of the list, with each row's tags fetched in one more query; the total is
    counted up to `count_cap` past the page's start only (by default by role), and not at
    all on the last page."""
    if count_cap is None:
        count_cap = COUNCILLOR_COUNT_CAP if viewer.role == COUNCILLOR else COUNT_CAP
    per_page = max(1, min(filters.per_page, MAX_PER_PAGE))
    page = max(1, filters.page)
    offset = (page - 1) * per_page
    count_cap += offset  # paging on past the cap still finds the next page
    found = _search_first(session, filters.search)
    condition = found.condition if found else None
    matching = filtered(viewer, filters, tag_conditions(session, filters), found=condition)
    # One statement finds the page and counts: a narrow search's cases (at most
    # SEARCH_FIRST_MAX, all sorted anyway) all of them; any other list the first
    # `count_cap` + 1 in the page's order, which the walk down the sort's index passes on
    # its way to the page.
    cap = None if found and found.exact else count_cap + 1
    rows = _page_rows(session, matching, filters.sort, per_page, offset, cap=cap)
    if rows:
        total = rows[0].total
    elif page == 1:
        total = 0
    else:  # past the end: how far the list goes, for the pager
        capped = matching.limit(count_cap + 1).subquery()
        total = plain_rows(session, select(func.count()).select_from(capped)).scalar() or 0
    ids = [row.id for row in rows]
    tags = _tags_of(session, ids)
    waits = waits_of(session, ids, filters.as_of or utcnow())
    listed = [
        ListedCase(
            id=row.id,
            reference=row.reference,
            status=row.status,
            subject=row.subject,
            constituent=row.person_name or "",
            postcode=row.postcode or "",
            owner=row.owner_name or row.owner_email or "",
            last_activity_at=row.last_activity_at,
            tags=tags.get(row.id, []),
            waiting=waits.get(row.id, []),
        )
        for row in rows
    ]
    return CasePage(listed, min(total, count_cap), page, per_page, more=total > count_cap)


def _page_rows(
    session: Session,
    matching: Select[Any],
    sort: str,
    per_page: int,
    offset: int,
    *,
    cap: int | None,
) -> Sequence[Any]:
    """The page's cases, each with the count of the list (all of it, or the first `cap` in
    the page's order), then their people and owners.

    The conditions, the sort and the count read only ids and sort keys, which the sort's
    index carries with the columns the conditions ask about most (migration 0017): the walk
    to the page reads no table rows. Only the page's rows are then read and joined. Plain
    columns of plain tables: no ORM objects to build, no ORM aliases to adapt."""
    order = SORTS.get(sort, SORTS["activity"])
    keys = matching.with_only_columns(*_keys(order)).order_by(*order)
    counted = (keys if cap is None else keys.limit(cap)).subquery("counted")
    in_counted = ClauseAdapter(counted)
    listed_page = (
        select(counted.c.id, func.count().over().label("total"))
        .order_by(*(in_counted.traverse(o) for o in order))
        .limit(per_page)
        .offset(offset)
        .subquery("listed")
    )
    return plain_rows(
        session,
        select(
            *_LISTED,
            listed_page.c.total,
            _PERSON.c.name.label("person_name"),
            _PERSON.c.postcode.label("postcode"),
            _OWNER.c.name.label("owner_name"),
            _OWNER.c.email.label("owner_email"),
        )
        .select_from(listed_page)
        .join(Case, Case.id == listed_page.c.id)
        .outerjoin(_PERSON, _PERSON.c.id == Case.constituent_id)
        .outerjoin(_OWNER, _OWNER.c.id == Case.owner_id)
        .order_by(*order),
    ).all()


def _keys(order: Sequence[Any]) -> list[Any]:
    """The id and the columns a sort reads: all the walk to a page needs."""
    columns = {"id": Case.id}
    for clause in order:
        column = getattr(clause, "element", clause)
        columns[column.key] = column
    return list(columns.values())


_PERSON = Constituent.__table__.alias("person")
_OWNER = User.__table__.alias("owner")
_LISTED = (
    Case.id,
    Case.reference,
    Case.status,
    Case.subject,
    Case.constituent_id,
    Case.owner_id,
    Case.last_activity_at,
    Case.opened_at,
)


class Found(NamedTuple):
    """A search's cases, found before the list: `condition` stands for the search in the
    list's query; `exact`, when they are few enough to be sorted and counted apart."""

    condition: ColumnElement[bool]
    exact: bool


def _search_first(session: Session, text: str) -> Found | None:
    """What a search finds, fetched before the list and given to it as a list of ids: the
    planner knows how few they are and checks who may see them once for all, not case by
    case (from a subquery it cannot tell, and probed a thousand cases one by one).

    A broad search (a common word: "council" is in 40,000 cases' letters) is counted only
    up to the cap, like the whole list: its ids, hashed, are checked on the walk down the
    sort's index. From a subquery PostgreSQL read through them all again for each case it
    passed (2 s, where this takes 0.3). SQLite takes the subquery: it binds at most 32,766
    values, and an embedded office is small. None when there is no search."""
    if not text.strip():
        return None
    terms = _terms(text)
    words = "search_words" in terms
    # The limit keeps the planner to plans that start fast, which the narrow searches want.
    count, listed = plain_rows(session, _listed_matches(words, limited=True), terms).one()
    exact = count <= SEARCH_FIRST_MAX
    if not exact:
        if dialect_of(session) == "sqlite":
            return Found(search_condition(text), exact)
        _, listed = plain_rows(session, _listed_matches(words, limited=False), terms).one()
    return Found(one_of_listed_ids(session, Case.id, listed or ""), exact)


@functools.cache  # one statement object, reused: see crm.db.built_once
def _listed_matches(words: bool, *, limited: bool) -> AnySelect:
    """How many cases a search finds and their ids, as one line of text: a search's 1,300
    ids cost no Python objects on their way back into the list's query."""
    matches = _matches(words=words)
    found = (matches.limit(SEARCH_FIRST_MAX + 1) if limited else matches).subquery("found")
    case_id = found.c[0]
    return select(func.count(case_id), func.aggregate_strings(cast(case_id, String), ","))


def _values_named(axis: Axis, value: str) -> ColumnElement[bool]:
    """The axis's value with this path, and for issues everything under it."""
    name = value.strip().lower()
    return and_(
        TagValue.axis == axis,
        or_(func.lower(TagValue.path) == name, func.lower(TagValue.path).like(f"{name} ›%")),
    )


def _tags_of(session: Session, case_ids: list[int]) -> dict[int, list[ListedTag]]:
    found: dict[int, list[ListedTag]] = defaultdict(list)
    if not case_ids:
        return found
    rows = plain_rows(session, _tags_statement(session), {"ids": case_ids}).all()
    for case_id, axis, _secondary, path in sorted(rows, key=_listed_order):
        found[case_id].append(ListedTag(axis, path))
    return found


_AXIS_ORDER = {axis.value: i for i, axis in enumerate(Axis)}


def _listed_order(row: Any) -> tuple[int, bool, int, str]:
    """By case; the one-per-axis values first, in axis order; then by name."""
    case_id, axis, secondary, path = row
    return case_id, secondary, _AXIS_ORDER[axis], path


@built_once
def _tags_statement(dialect: str) -> AnySelect:
    """The axis as its plain name and the slot as "secondary or not": a page's 200 tags
    made into Axis members and back cost a tenth of the list's crm call (5.1 → 4.6 ms)."""
    return (
        select(
            CaseTag.case_id,
            type_coerce(CaseTag.axis, String),
            CaseTag.slot.is_(None),
            TagValue.path,
        )
        .join(TagValue, TagValue.id == CaseTag.tag_id)
        .where(one_of_ids_given(dialect, CaseTag.case_id))
    )


def waits_of(session: Session, case_ids: list[int], now: datetime) -> dict[int, list[RowWait]]:
    """For a page of cases: live follow-ups, then escalated ones, in one query."""
    found: dict[int, list[RowWait]] = defaultdict(list)
    if not case_ids:
        return found
    waiting = follow_up_status.waiting_for(session, case_ids, escalated=True)
    for case_id, waits in waiting.items():
        live = [RowWait(w, w.due_at < now) for w in waits if w.status != ESCALATED]
        left = [RowWait(w, True) for w in waits if w.status == ESCALATED]  # overdue by then
        found[case_id] += live + left
    return found


def _short_date(moment: datetime) -> str:
    """ "3 Nov" in the office's time; with the year when it is not this year."""
    day = moment.astimezone(OFFICE_ZONE)
    text = f"{day.day} {day:%b}"
    return text if day.year == utcnow().astimezone(OFFICE_ZONE).year else f"{text} {day.year}"
