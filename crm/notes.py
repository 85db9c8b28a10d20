"""Notes on a case: staff notes (pinned ones shown on top) and councillors' requests."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, bindparam, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from crm.db import AnySelect, plain_rows
from crm.errors import MailbagError, NotFound
from crm.models import Base, Case, TimelineEntry
from crm.types import utcnow
from crm.users.models import User

NOTE, REQUEST = "note", "request"
MAX_NOTE = 20_000


class NoteError(MailbagError):
    """A note cannot be added as asked (empty, too long)."""


class CaseNote(Base):
    """A note written on a case by a person; a councillor's note is a request to the office."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(10), default=NOTE)
    body: Mapped[str] = mapped_column(Text)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()

    __table_args__ = (
        Index("ix_case_notes_case_pinned", "case_id", "pinned"),
        Index("ix_case_notes_case_id", "case_id", "id"),  # a case's newest notes (0012)
    )


def add_note(
    session: Session, case: Case, author: User, body: str, *, pinned: bool = False
) -> CaseNote:
    """A note (or a councillor's request) with its line on the timeline."""
    text = body.strip()
    if not text:
        raise NoteError("the note is empty")
    if len(text) > MAX_NOTE:
        raise NoteError(f"the note is longer than {MAX_NOTE} characters")
    kind = NOTE if author.is_staff else REQUEST
    now = utcnow()
    note = CaseNote(
        case_id=case.id,
        author_id=author.id,
        kind=kind,
        body=text,
        pinned=pinned and author.is_staff,
        created_at=now,
    )
    session.add(note)
    who = author.label
    summary = f"{'Request' if kind == REQUEST else 'Note'} from {who}: {text}"
    session.add(TimelineEntry(case_id=case.id, kind=kind, occurred_at=now, summary=summary[:500]))
    return note


def set_pinned(session: Session, case: Case, note_id: int, pinned: bool) -> CaseNote:
    note = session.get(CaseNote, note_id)
    if note is None or note.case_id != case.id:
        raise NotFound(f"no note {note_id} on {case.reference}")
    note.pinned = pinned
    return note


@dataclass(frozen=True, slots=True)
class ShownNote:
    """A note as the case page shows it: plain values, its author as a name."""

    id: int
    body: str
    pinned: bool
    created_at: datetime
    author: str  # the author's name, or email; "" if the account has gone


@dataclass(frozen=True)
class CaseNotes:
    pinned: list[ShownNote]  # every pinned note, newest first
    recent: list[ShownNote]  # the newest notes, pinned or not


def notes_of(session: Session, case_id: int, limit: int) -> CaseNotes:
    """The pinned notes and the newest `limit`, each with its author, in one query: the
    newest notes and any older pinned ones, newest first. Plain columns: a long case's
    twenty notes as ORM objects with their authors were some 860 of its page's 15,600
    Python calls."""
    rows = plain_rows(session, _notes_of(), {"case_id": case_id, "limit": limit})
    shown = [
        ShownNote(row.id, row.body, row.pinned, row.created_at, row.name or row.email or "")
        for row in rows
    ]
    pinned = sorted((n for n in shown if n.pinned), key=lambda n: n.created_at, reverse=True)
    return CaseNotes(pinned, shown[:limit])


@functools.cache  # one statement object, reused: see crm.db.built_once
def _notes_of() -> AnySelect:
    case_id = CaseNote.case_id == bindparam("case_id")
    newest = (
        select(CaseNote.id).where(case_id).order_by(CaseNote.id.desc()).limit(bindparam("limit"))
    )
    return (
        select(
            CaseNote.id, CaseNote.body, CaseNote.pinned, CaseNote.created_at, User.name, User.email
        )
        .outerjoin(User, User.id == CaseNote.author_id)
        .where(case_id, or_(CaseNote.pinned.is_(True), CaseNote.id.in_(newest)))
        .order_by(CaseNote.id.desc())
    )
