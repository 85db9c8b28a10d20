"""The same data as JSON under /api/, with the same access rules (OpenAPI at /api/schema)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any

from litestar import Router, get
from litestar.exceptions import NotFoundException
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, QueryParameter

from crm.casefile import CaseFile, open_case_file
from crm.caselist import case_page
from crm.errors import NotFound
from web.cases import attachment_url, filters_from
from web.pages import AnyRequest, plain, services


@dataclass
class ErrorOut:
    """Why a request was refused, in one line."""

    detail: str


# Documented so that clients (and the schema fuzz test) know every answer they can meet.
SIGNED_OUT = {401: ResponseSpec(ErrorOut, description="Not signed in, or the session ended")}
NOT_FOUND = {404: ResponseSpec(ErrorOut, description="No such case, or not one you may see")}


@dataclass
class TagOut:
    axis: str
    value: str
    primary: bool
    source: str
    reason: str


@dataclass
class WaitingOut:
    """A reply the case waits for: from whom, since when, due when, and whether it is late."""

    party: str
    status: str
    since: datetime
    due_at: datetime
    overdue: bool
    description: str


@dataclass
class CaseRowOut:
    reference: str
    status: str
    subject: str
    constituent: str
    owner: str
    last_activity_at: datetime
    tags: list[TagOut]
    waiting: list[WaitingOut]


@dataclass
class CaseListOut:
    total: int
    page: int
    pages: int
    cases: list[CaseRowOut]


@dataclass
class AttachmentOut:
    filename: str
    content_type: str
    size: int
    url: str  # where the signed-in browser saves it


@dataclass
class EntryOut:
    kind: str
    occurred_at: datetime
    summary: str
    from_address: str | None
    subject: str | None
    body_text: str | None
    attachments: list[AttachmentOut]


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


def _query(description: str) -> Any:
    return QueryParameter(description=description, required=False)


@get("/cases", sync_to_thread=True, responses=SIGNED_OUT)
def api_cases(
    request: AnyRequest,
    q: Annotated[str, _query("Reference, name, email, postcode or words in the mail")] = "",
    status: Annotated[str, _query("open or closed")] = "",
    issue: Annotated[str, _query("An issue, e.g. Housing (takes in Housing › Repairs)")] = "",
    urgency: Annotated[str, _query("immediate, high, normal or low")] = "",
    sensitivity: Annotated[str, _query("A sensitivity value")] = "",
    transferability: Annotated[str, _query("A transferability value")] = "",
    owner: Annotated[str, _query("A user id, or none for unassigned cases")] = "",
    ward: Annotated[str, _query("A postcode area, district or sector, e.g. EX4")] = "",
    waiting: Annotated[str, _query("any, or an organisation (name, short name or domain)")] = "",
    overdue: Annotated[str, _query("1: a follow-up past due, or escalated")] = "",
    opened_from: Annotated[str, _query("Opened on or after this day, YYYY-MM-DD")] = "",
    opened_to: Annotated[str, _query("Opened on or before this day, YYYY-MM-DD")] = "",
    campaign: Annotated[str, _query("A campaign id: cases holding its letters")] = "",
    sort: Annotated[str, _query("activity, oldest, opened or reference")] = "",
    page: Annotated[str, _query("Page number, from 1")] = "",
) -> CaseListOut:
    """Cases the signed-in person may see, narrowed by the list page's filters."""
    given = {
        "q": q,
        "status": status,
        "issue": issue,
        "urgency": urgency,
        "sensitivity": sensitivity,
        "transferability": transferability,
        "owner": owner,
        "ward": ward,
        "waiting": waiting,
        "overdue": overdue,
        "opened_from": opened_from,
        "opened_to": opened_to,
        "campaign": campaign,
        "sort": sort,
        "page": page,
    }
    filters = filters_from({name: value for name, value in given.items() if value})
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
                [
                    WaitingOut(
                        w.waiting.party,
                        w.waiting.status,
                        w.waiting.since,
                        w.waiting.due_at,
                        w.overdue,
                        w.describe(),
                    )
                    for w in row.waiting
                ],
            )
            for row in listing.rows
        ],
    )


@get("/cases/{reference:str}", sync_to_thread=True, responses=SIGNED_OUT | NOT_FOUND)
def api_case(request: AnyRequest, reference: FromPath[str], kind: FromQuery[str] = "") -> CaseOut:
    """One case with its tags (and why), pinned notes and timeline, newest first."""
    app = services(request)
    with app.database.session() as session:
        try:
            file = open_case_file(
                session, app.settings, request.user.viewer, plain(reference), kind=plain(kind)
            )
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
                    _attachments(file, e.message_pk),
                )
                for e in file.timeline
            ],
        )


def _attachments(file: CaseFile, message_pk: int | None) -> list[AttachmentOut]:
    listed = file.attachments.get(message_pk, []) if message_pk is not None else []
    url = partial(attachment_url, file.case.reference)
    return [AttachmentOut(a.filename, a.content_type, a.size, url(a.id)) for a in listed]


router = Router(path="/api", route_handlers=[api_cases, api_case])
