"""Cases: opened with a reference, found by reference, thread or subject, closed, reopened."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from crm.casenumbers import NumberBlock, next_reference
from crm.db import chunks, insert_loaded, new_row, plain_rows
from crm.errors import NotFound
from crm.models import Case, Message, TimelineEntry
from crm.types import utcnow

OPEN, CLOSED = "open", "closed"
SUBJECT_KEY_LENGTH = 300  # characters of a normalised subject kept to match cases by
NAMED_LOOKED_AT = 100  # of the Message-IDs a reply names, the newest; a thread's last few


def open_case(
    session: Session,
    *,
    prefix: str,
    subject: str,
    subject_key: str,
    constituent_id: int | None,
    opened_at: datetime,
    numbers: NumberBlock | None = None,
) -> Case:
    """A new open case with the next reference (from `numbers` when the caller took some)."""
    case = new_row(
        Case,
        reference=next_reference(session, prefix, opened_at.year, numbers),
        subject=subject,
        subject_key=subject_key[:SUBJECT_KEY_LENGTH],
        constituent_id=constituent_id,
        opened_at=opened_at,
        last_activity_at=opened_at,
        status=OPEN,
    )
    return insert_loaded(session, case)


def by_reference(session: Session, reference: str) -> Case | None:
    wanted = reference.replace("\x00", "").upper()  # PostgreSQL refuses NUL in text
    return session.scalar(select(Case).where(Case.reference == wanted))


def get(session: Session, reference: str) -> Case:
    case = by_reference(session, reference)
    if case is None:
        raise NotFound(f"no case {reference}")
    return case


def by_message_ids(session: Session, message_ids: Sequence[str]) -> Case | None:
    """The case of the newest known message among these ids (In-Reply-To, References)."""
    if not message_ids:
        return None
    named = list(message_ids)[-NAMED_LOOKED_AT:]
    case_id = _first(session, _case_of_messages(), {"ids": named})
    return session.get(Case, case_id) if case_id is not None else None


def newest_with_case(session: Session, message_ids: Collection[str]) -> dict[str, tuple[int, int]]:
    """For each of these Message-IDs held on a case: the newest such message's row id and
    its case (what `by_message_ids` would pick among them), a whole batch's in one go."""
    messages = cast(Table, Message.__table__)
    newest: dict[str, tuple[int, int]] = {}
    for chunk in chunks(message_ids):
        rows = session.execute(
            select(messages.c.message_id, messages.c.id, messages.c.case_id).where(
                messages.c.message_id.in_(chunk), messages.c.case_id.is_not(None)
            )
        )
        for message_id, pk, case_id in rows:
            newest[message_id] = max((pk, case_id), newest.get(message_id, (pk, case_id)))
    return newest


def by_ids(session: Session, ids: Collection[int]) -> list[Case]:
    """These cases, in one query."""
    found: list[Case] = []
    for chunk in chunks(ids):
        found.extend(session.scalars(select(Case).where(Case.id.in_(chunk))))
    return found


def open_by_subject(
    session: Session, constituent_ids: Collection[int]
) -> dict[tuple[int, str], int]:
    """Each of these people's open cases by subject key, the newest where several share one
    (what `open_case_on_subject` would find), a whole batch's in one go."""
    table = cast(Table, Case.__table__)
    newest: dict[tuple[int, str], int] = {}
    for chunk in chunks(constituent_ids):
        rows = session.execute(
            select(table.c.constituent_id, table.c.subject_key, table.c.id).where(
                table.c.constituent_id.in_(chunk), table.c.status == OPEN
            )
        )
        for constituent_id, subject_key, case_id in rows:
            key = (constituent_id, subject_key)
            newest[key] = max(case_id, newest.get(key, case_id))
    return newest


def open_case_on_subject(session: Session, constituent_id: int, subject_key: str) -> Case | None:
    """The constituent's newest open case about the same (normalised) subject."""
    if not subject_key:
        return None
    wanted = {
        "constituent_id": constituent_id,
        "status": OPEN,
        "subject_key": subject_key[:SUBJECT_KEY_LENGTH],
    }
    case_id = _first(session, _open_case_on_subject(), wanted)
    return session.get(Case, case_id) if case_id is not None else None


def _first(session: Session, statement: Any, values: dict[str, Any]) -> Any:
    """The first value of a statement built once: threading asks these for most messages."""
    return plain_rows(session, statement, values).scalar()


@functools.cache
def _case_of_messages() -> Any:
    messages = cast(Table, Message.__table__)
    return (
        select(messages.c.case_id)
        .where(
            messages.c.message_id.in_(bindparam("ids", expanding=True)),
            messages.c.case_id.is_not(None),
        )
        .order_by(messages.c.id.desc())
        .limit(1)
    )


@functools.cache
def _open_case_on_subject() -> Any:
    table = cast(Table, Case.__table__)
    return (
        select(table.c.id)
        .where(
            table.c.constituent_id == bindparam("constituent_id"),
            table.c.status == bindparam("status"),
            table.c.subject_key == bindparam("subject_key"),
        )
        .order_by(table.c.id.desc())
        .limit(1)
    )


def touch(
    session: Session, case: Case, when: datetime, later: list[tuple[int, datetime]] | None = None
) -> None:
    """Last activity only moves forward, whatever order old mail is imported in.

    A stored case gets one plain UPDATE, at once or with the batch's others (`later`, the
    moves crm.later writes at the batch's end): ingest touches a case with nearly every
    message, and the unit of work's flush for it cost several times the statement. (A
    savepoint's rollback does not undo the value in memory: see inbox.pipeline.)
    """
    if when <= case.last_activity_at:
        return
    if not inspect(case).persistent:
        case.last_activity_at = when
        return
    if later is not None:
        later.append((case.id, when))
    else:
        session.connection().execute(_touch_statement(), {"case_id": case.id, "when": when})
    set_committed_value(case, "last_activity_at", when)


@functools.cache
def _touch_statement() -> Any:
    table = cast(Table, Case.__table__)
    return (
        update(table)
        .where(table.c.id == bindparam("case_id"))
        .values(last_activity_at=bindparam("when"))
    )


def set_status(session: Session, case: Case, status: str, reason: str) -> None:
    """Close or reopen, leaving a line in the timeline that says why."""
    if case.status == status:
        return
    now = utcnow()
    case.status = status
    case.closed_at = now if status == CLOSED else None
    session.add(TimelineEntry(case_id=case.id, kind="status", occurred_at=now, summary=reason))


def timeline(session: Session, case_id: int) -> list[TimelineEntry]:
    """Newest first, as a caseworker reads a case."""
    return list(
        session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.case_id == case_id)
            .order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc())
        )
    )
