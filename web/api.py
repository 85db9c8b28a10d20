"""The same data as JSON under /api/, with the same access rules (OpenAPI at /api/schema)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from litestar import Router, get
from litestar.exceptions import NotFoundException

from crm.casefile import open_case_file
from crm.caselist import case_page
from crm.errors import NotFound
from web.cases import filters_from
from web.pages import AnyRequest, services


@dataclass
class TagOut:
    axis: str
    value: str
    primary: bool
    source: str
    reason: str


@dataclass
class CaseRowOut:
    reference: str
    status: str
    subject: str
    constituent: str
    owner: str
    last_activity_at: datetime
    tags: list[TagOut]


@dataclass
class CaseListOut:
    total: int
    page: int
    pages: int
    cases: list[CaseRowOut]


@dataclass
class EntryOut:
    kind: str
    occurred_at: datetime
    summary: str
    from_address: str | None
    subject: str | None
    body_text: str | None


@dataclass
class CaseOut:
    reference: str
    status: str
    subject: str
    constituent: str
    postcode: str
    emails: list[str]
    restricted: bool
    owner: str
    response_due: date | None
    tags: list[TagOut]
    pinned_notes: list[str]
    timeline: list[EntryOut]


@get("/cases", sync_to_thread=True)
def api_cases(request: AnyRequest) -> CaseListOut:
    """Cases the signed-in person may see; the list page's filters (status, q, issue...)."""
    filters = filters_from(request.query_params)
    with services(request).database.session() as session:
        listing = case_page(session, request.user.viewer, filters)
    return CaseListOut(
        total=listing.total,
        page=listing.page,
        pages=listing.pages,
        cases=[
            CaseRowOut(
                row.reference,
                row.status,
                row.subject,
                row.constituent,
                row.owner,
                row.last_activity_at,
                [TagOut(t.axis, t.name, True, "", "") for t in row.tags],
            )
            for row in listing.rows
        ],
    )


@get("/cases/{reference:str}", sync_to_thread=True)
def api_case(request: AnyRequest, reference: str, kind: str = "") -> CaseOut:
    """One case with its tags (and why), pinned notes and timeline, newest first."""
    app = services(request)
    with app.database.session() as session:
        try:
            file = open_case_file(session, app.settings, request.user.viewer, reference, kind=kind)
        except NotFound:
            raise NotFoundException("no such case") from None
        person = file.constituent
        return CaseOut(
            reference=file.case.reference,
            status=file.case.status,
            subject=file.case.subject,
            constituent=person.name if person else "",
            postcode=(person.postcode or "") if person else "",
            emails=file.emails,
            restricted=file.restricted,
            owner=file.owner.label if file.owner else "",
            response_due=file.deadline.due if file.deadline else None,
            tags=[
                TagOut(t.axis.value, t.tag.path, t.slot is not None, t.source, t.reason)
                for t in file.tags
            ],
            pinned_notes=[n.body for n in file.pinned],
            timeline=[
                EntryOut(
                    e.kind,
                    e.occurred_at,
                    e.summary,
                    e.message.from_address if e.message else None,
                    e.message.subject if e.message else None,
                    e.message.body_text if e.message else None,
                )
                for e in file.timeline
            ],
        )


router = Router(path="/api", route_handlers=[api_cases, api_case])
