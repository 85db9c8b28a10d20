"""The tag history, and the revision number that moves with every taxonomy or rule change."""

from __future__ import annotations

import functools
import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm.db import AnySelect, insert_ignore, insert_rows, plain_rows
from crm.tags.models import TagEvent, TagRevision, TagValue
from tagging.axes import Axis

REVISION_ROW = 1


def record(
    session: Session,
    action: str,
    *,
    who: str,
    detail: str = "",
    axis: Axis | None = None,
    tag: TagValue | None = None,
    other: TagValue | None = None,
    case_id: int | None = None,
) -> None:
    """One line of history; a change to the taxonomy itself also moves the revision."""
    session.add(
        TagEvent(
            action=action,
            axis=axis or (tag.axis if tag else None),
            tag_id=tag.id if tag else None,
            other_tag_id=other.id if other else None,
            case_id=case_id,
            detail=detail,
            who=who,
        )
    )
    if case_id is None:
        bump(session)


def record_case_changes(
    session: Session,
    case_id: int,
    lines: list[tuple[Axis, str]],
    *,
    who: str,
    later: list[dict[str, object]] | None = None,
) -> None:
    """A case's tag changes as history lines, in one statement; or added to `later`, to be
    written with a whole batch's (crm.later: nothing reads them meanwhile)."""
    rows = [
        {"action": "case tag", "axis": axis, "case_id": case_id, "detail": text, "who": who}
        for axis, text in lines
    ]
    if later is not None:
        later.extend(rows)
    else:
        insert_rows(session, TagEvent, rows)


def revision(session: Session) -> str:
    """A token naming the taxonomy as it is now; "" for a database never seeded."""
    token = plain_rows(session, _revision_token()).scalar()
    return token or ""


@functools.cache  # one statement object, reused: see crm.db.built_once
def _revision_token() -> AnySelect:
    """Every page asks (the tag choices are cached by it): built once."""
    return select(TagRevision.token).where(TagRevision.id == REVISION_ROW)


def claim_first_seed(session: Session) -> bool:
    """True for exactly one transaction, even with several ingesters starting at once."""
    insert_ignore(session, TagRevision, {"id": REVISION_ROW, "token": ""})
    won = session.execute(
        update(TagRevision)
        .where(TagRevision.id == REVISION_ROW, TagRevision.token == "")
        .values(token=uuid.uuid4().hex)
        .returning(TagRevision.token)
    ).first()
    return won is not None


def bump(session: Session) -> None:
    insert_ignore(session, TagRevision, {"id": REVISION_ROW, "token": ""})
    session.execute(
        update(TagRevision).where(TagRevision.id == REVISION_ROW).values(token=uuid.uuid4().hex)
    )
