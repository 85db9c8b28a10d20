"""Try a draft wording on a real case before saving it: nothing is saved or sent.

The case is one the person may see; a restricted one is audited as any view of it is, and
when no case is named the most recent unrestricted one is used.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import not_, select
from sqlalchemy.orm import Session

from crm import audit
from crm.access import Viewer, is_restricted, restricted, visible_cases
from crm.errors import NotFound
from crm.letters import overrides
from crm.letters.preview import Preview, preview
from crm.letters.templates import CONSTITUENT, LetterInfo
from crm.models import Case
from crm.outgoing import directory
from crm.settings import Settings


def try_draft(
    session: Session,
    settings: Settings,
    viewer: Viewer,
    name: str,
    sources: Mapping[str, str],
    *,
    reference: str = "",
    to: str = "",
) -> Preview:
    """The draft checked (TemplateRefused), then filled in with the case's real data."""
    overrides.check(session, settings, name, sources)
    letters = overrides.office_letters(session, settings, overrides.draft_of(name, sources))
    info = letters.info(name)
    case = _case(session, viewer, reference)
    if restricted(session, case.id):
        detail = f"{case.reference} (letter template preview)"
        audit.record(
            session, "view_sensitive_case", who=viewer.email, case_id=case.id, detail=detail
        )
    recipient = to.strip() or _default_recipient(session, info)
    return preview(session, settings, name, case.reference, to=recipient, letters=letters)


def _case(session: Session, viewer: Viewer, reference: str) -> Case:
    query = select(Case).where(visible_cases(viewer))
    if reference.strip():
        query = query.where(Case.reference == reference.strip().upper())
    else:
        query = query.where(not_(is_restricted())).order_by(
            Case.last_activity_at.desc(), Case.id.desc()
        )
    case = session.scalar(query.limit(1))
    if case is None:
        raise NotFound(f"no case {reference.strip()}" if reference.strip() else "no case yet")
    return case


def _default_recipient(session: Session, info: LetterInfo) -> str | None:
    """A third-party letter needs someone to go to: the first organisation with an address."""
    if info.audience == CONSTITUENT:
        return None
    return next((org.name for org in directory.organisations(session) if org.emails), None)
