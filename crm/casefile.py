"""One case as a person reads it: important things first, then the whole timeline.

Access is checked here, with the same rule as the lists, and a view of a restricted case is
audited here, so the page and the API cannot differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from crm import access, audit, notes
from crm.errors import NotFound
from crm.models import Case, Constituent, ConstituentEmail, TimelineEntry
from crm.settings import Settings
from crm.tags.deadlines import Deadline, response_deadline
from crm.tags.models import CaseTag
from crm.tags.service import case_tags
from crm.users.models import User

TIMELINE_LIMIT = 300


@dataclass(frozen=True)
class CaseFile:
    case: Case
    constituent: Constituent | None
    emails: list[str]
    restricted: bool
    sensitivity: str
    owner: User | None
    pinned: list[notes.CaseNote]
    notes: list[notes.CaseNote]
    tags: list[CaseTag]
    deadline: Deadline | None
    timeline: list[TimelineEntry]
    kinds: list[str]


def open_case_file(
    session: Session,
    settings: Settings,
    viewer: access.Viewer,
    reference: str,
    *,
    kind: str = "",
    limit: int = TIMELINE_LIMIT,
) -> CaseFile:
    """The case if the viewer may see it; otherwise NotFound, as if it did not exist."""
    case = session.scalar(
        select(Case).where(
            Case.reference == reference.strip().upper(), access.visible_cases(viewer)
        )
    )
    if case is None:
        raise NotFound(f"no case {reference.strip().upper()[:40]}")
    restricted = access.restricted(session, case.id)
    if restricted:
        audit.record(
            session, "view_sensitive_case", who=viewer.email, case_id=case.id, detail=case.reference
        )
    constituent = session.get(Constituent, case.constituent_id) if case.constituent_id else None
    tags = case_tags(session, case.id)
    return CaseFile(
        case=case,
        constituent=constituent,
        emails=_emails(session, constituent),
        restricted=restricted,
        sensitivity=next((t.tag.name for t in tags if t.slot == "sensitivity"), ""),
        owner=session.get(User, case.owner_id) if case.owner_id else None,
        pinned=notes.pinned_notes(session, case.id),
        notes=notes.all_notes(session, case.id),
        tags=tags,
        deadline=response_deadline(session, case, settings),
        timeline=_timeline(session, case.id, kind, limit),
        kinds=_kinds(session, case.id),
    )


def _emails(session: Session, constituent: Constituent | None) -> list[str]:
    if constituent is None:
        return []
    return list(
        session.scalars(
            select(ConstituentEmail.email)
            .where(ConstituentEmail.constituent_id == constituent.id)
            .order_by(ConstituentEmail.id)
        )
    )


def _timeline(session: Session, case_id: int, kind: str, limit: int) -> list[TimelineEntry]:
    """Newest first, with each entry's message loaded in the same round trip."""
    query = (
        select(TimelineEntry)
        .where(TimelineEntry.case_id == case_id)
        .options(selectinload(TimelineEntry.message))
        .order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc())
        .limit(limit)
    )
    if kind:
        query = query.where(TimelineEntry.kind == kind)
    return list(session.scalars(query))


def _kinds(session: Session, case_id: int) -> list[str]:
    return sorted(
        session.scalars(
            select(TimelineEntry.kind).where(TimelineEntry.case_id == case_id).distinct()
        )
    )
