"""One case as a person reads it: important things first, then the whole timeline.

Access is checked here, with the same rule as the lists, and a view of a restricted case is
audited here, so the page and the API cannot differ.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session, joinedload

from crm import access, attachments, audit, notes
from crm.db import AnySelect, plain_rows
from crm.errors import NotFound
from crm.followups.status import Waiting, waiting_for, waits
from crm.informing.deadlines import CaseDeadline, next_deadline
from crm.informing.models import CouncillorRequest
from crm.informing.status_emails import opted_out
from crm.models import Case, Constituent, ConstituentEmail, Message, TimelineEntry
from crm.settings import Settings
from crm.tags.deadlines import Deadline, response_deadline
from crm.tags.models import CaseTag
from crm.tags.service import case_tags
from crm.users.models import User

# Newest entries first, a page at a time: a long case's whole story would make a page of
# hundreds of kilobytes (and as many sanitised bodies) that nobody reads to the end.
TIMELINE_LIMIT = 50
# The newest notes, for pinning and unpinning; pinned ones are all shown above, and every
# note is on the timeline too. A long case has hundreds, each with its own form.
NOTES_LIMIT = 20


@dataclass(frozen=True)
class CaseFile:
    case: Case
    constituent: Constituent | None
    emails: list[str]
    restricted: bool
    sensitivity: str
    owner: User | None
    pinned: list[notes.ShownNote]
    notes: list[notes.ShownNote]
    tags: list[CaseTag]
    deadline: Deadline | None
    timeline: list[Entry]
    kinds: list[str]
    next_deadline: CaseDeadline | None = None  # the soonest of all its deadlines
    request: CouncillorRequest | None = None  # when a councillor raised it
    status_emails_on: bool = False  # the office sends status emails (MAILBAG_STATUS_EMAILS)
    status_emails_stopped: bool = False  # ... but not on this case
    older: int | None = None  # the last entry shown, when there are older ones (`before=`)
    attachments: dict[int, list[attachments.Listed]] = field(default_factory=dict)  # by message
    waiting: list[Waiting] = field(default_factory=list)  # its follow-ups, escalated ones too


def open_case_file(
    session: Session,
    settings: Settings,
    viewer: access.Viewer,
    reference: str,
    *,
    kind: str = "",
    limit: int = TIMELINE_LIMIT,
    before: int | None = None,
) -> CaseFile:
    """The case if the viewer may see it; otherwise NotFound, as if it did not exist.
    The timeline holds `limit` entries, those older than entry `before` when it is given."""
    # The case, its person, its owner, whether it is restricted, the councillor's request
    # that opened it, whether it stopped status emails and whether it waits for anyone, in
    # one round trip.
    values = {"reference": reference.strip().upper(), **access.viewer_values(viewer)}
    found = session.execute(_case_query(viewer.role, viewer.wards), values).first()
    if found is None:
        raise NotFound(f"no case {reference.strip().upper()[:40]}")
    case, restricted, owner, request, stopped, waiting = found
    if restricted:
        audit.record(
            session, "view_sensitive_case", who=viewer.email, case_id=case.id, detail=case.reference
        )
    constituent = case.constituent
    tags = case_tags(session, case.id)
    timeline = _timeline(session, case.id, kind, limit + 1, before)
    shown = [entry.message_pk for entry in timeline[:limit] if entry.message_pk is not None]
    deadline = response_deadline(tags, settings)
    case_notes = notes.notes_of(session, case.id, NOTES_LIMIT)
    waits_on = waiting_for(session, [case.id], escalated=True).get(case.id, []) if waiting else []
    return CaseFile(
        case=case,
        constituent=constituent,
        emails=_emails(session, constituent),
        restricted=bool(restricted),
        sensitivity=next((t.tag.name for t in tags if t.slot == "sensitivity"), ""),
        owner=owner,
        pinned=case_notes.pinned,
        notes=case_notes.recent,
        tags=tags,
        deadline=deadline,
        timeline=timeline[:limit],
        kinds=_kinds(session, case.id),
        next_deadline=next_deadline(case, deadline, request, waits_on),
        request=request,
        status_emails_on=settings.status_emails,
        status_emails_stopped=bool(stopped),
        older=timeline[limit - 1].id if len(timeline) > limit else None,
        attachments=attachments.of_messages(session, shown),
        waiting=waits_on,
    )


@functools.cache  # one statement for each role and set of wards: see crm.db.built_once
def _case_query(role: str, wards: tuple[str, ...]) -> AnySelect:
    return (
        select(
            Case,
            access.is_restricted().label("restricted"),
            User,
            CouncillorRequest,
            opted_out(Case.id).label("opted_out"),
            waits(Case.id).label("waits"),
        )
        .outerjoin(User, User.id == Case.owner_id)
        .outerjoin(CouncillorRequest, CouncillorRequest.case_id == Case.id)
        .where(Case.reference == bindparam("reference"), access.visible_cases_given(role, wards))
        .options(joinedload(Case.constituent))
    )


def _emails(session: Session, constituent: Constituent | None) -> list[str]:
    if constituent is None:
        return []
    return list(plain_rows(session, _emails_of(), {"id": constituent.id}).scalars())


@functools.cache  # one statement object, reused: see crm.db.built_once
def _emails_of() -> AnySelect:
    email = ConstituentEmail
    return select(email.email).where(email.constituent_id == bindparam("id")).order_by(email.id)


@dataclass(frozen=True, slots=True)
class ShownMessage:
    """What the page and the API show of a letter on the timeline (its headers and JSON
    lists stay in the database)."""

    id: int
    from_name: str
    from_address: str
    to_addresses: list[str]
    subject: str
    body_text: str
    body_html: str | None


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the timeline as shown: plain values, read as plain columns (50 ORM
    entries with their letters cost a quarter of the case page's crm call)."""

    id: int
    kind: str
    occurred_at: datetime
    summary: str
    message_pk: int | None
    message: ShownMessage | None


def _timeline(
    session: Session, case_id: int, kind: str, limit: int, before: int | None
) -> list[Entry]:
    """Newest first, with each entry's message joined in the same query; after `before`,
    the entries older than that one (by time, then id), as the page shows them."""
    values: dict[str, Any] = {"case_id": case_id, "limit": limit, "kind": kind}
    if before is not None:
        anchor = plain_rows(session, _anchor(), {"id": before, "case_id": case_id}).first()
        if anchor is not None:
            values |= {"anchor_at": anchor.occurred_at, "anchor_id": before}
    rows = plain_rows(session, _timeline_query(bool(kind), "anchor_id" in values), values)
    return [_entry(row) for row in rows]


def _entry(row: Any) -> Entry:
    message = None
    if row.message_pk is not None:
        message = ShownMessage(
            row.message_pk,
            row.from_name,
            row.from_address,
            row.to_addresses,
            row.subject,
            row.body_text,
            row.body_html,
        )
    return Entry(row.id, row.kind, row.occurred_at, row.summary, row.message_pk, message)


@functools.cache  # one statement object, reused: see crm.db.built_once
def _anchor() -> AnySelect:
    entry = TimelineEntry
    return select(entry.occurred_at).where(
        entry.id == bindparam("id"), entry.case_id == bindparam("case_id")
    )


@functools.cache  # one statement object for each shape, reused: see crm.db.built_once
def _timeline_query(of_kind: bool, older: bool) -> AnySelect:
    entry = TimelineEntry
    query = (
        select(*_ENTRY_COLUMNS, *_SHOWN)
        .outerjoin(Message, Message.id == entry.message_pk)
        .where(entry.case_id == bindparam("case_id"))
        .order_by(entry.occurred_at.desc(), entry.id.desc())
        .limit(bindparam("limit"))
    )
    if of_kind:
        query = query.where(entry.kind == bindparam("kind"))
    if older:
        at: Any = bindparam("anchor_at", type_=entry.occurred_at.type)
        anchor_id: Any = bindparam("anchor_id")
        query = query.where(
            or_(entry.occurred_at < at, and_(entry.occurred_at == at, entry.id < anchor_id))
        )
    return query


_ENTRY_COLUMNS = (
    TimelineEntry.id,
    TimelineEntry.kind,
    TimelineEntry.occurred_at,
    TimelineEntry.summary,
    TimelineEntry.message_pk,
)
# What the page and the API show of a message (ShownMessage).
_SHOWN = (
    Message.from_name,
    Message.from_address,
    Message.to_addresses,
    Message.subject,
    Message.body_text,
    Message.body_html,
)


def _kinds(session: Session, case_id: int) -> list[str]:
    return sorted(plain_rows(session, _kinds_of(), {"case_id": case_id}).scalars())


@functools.cache  # one statement object, reused: see crm.db.built_once
def _kinds_of() -> AnySelect:
    entry = TimelineEntry
    return select(entry.kind).where(entry.case_id == bindparam("case_id")).distinct()
