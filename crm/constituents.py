"""Constituents: found or created by email address, merged without losing history."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm.db import chunks, insert_loaded, insert_rows
from crm.errors import MailbagError, NotFound
from crm.models import Case, Constituent, ConstituentEmail, Message


@dataclass(frozen=True)
class ContactHints:
    """What a message tells us about its sender; empty fields tell nothing."""

    name: str = ""
    address: str = ""
    postcode: str | None = None
    phone: str | None = None


def find_by_email(session: Session, email: str) -> Constituent | None:
    """The person behind an address, following merges to the surviving record."""
    person = session.scalar(
        select(Constituent)
        .join(ConstituentEmail, ConstituentEmail.constituent_id == Constituent.id)
        .where(ConstituentEmail.email == email.lower())
    )
    if person is None or person.merged_into_id is None:
        return person
    return _surviving(session, person)


def people_by_email(session: Session, emails: Collection[str]) -> dict[str, Constituent]:
    """The person behind each of these (lower-case) addresses that belongs to someone, merges
    followed: ingest asks once for a whole batch instead of once for each message."""
    found: dict[str, Constituent] = {}
    for chunk in chunks(emails):
        rows = session.execute(
            select(ConstituentEmail.email, Constituent)
            .join(Constituent, Constituent.id == ConstituentEmail.constituent_id)
            .where(ConstituentEmail.email.in_(chunk))
        )
        for email, person in rows:
            found[email] = person if person.merged_into_id is None else _surviving(session, person)
    return found


def find_or_create(session: Session, email: str, hints: ContactHints) -> Constituent:
    """One record per address; details fill gaps but never overwrite what staff entered."""
    constituent = find_by_email(session, email)
    if constituent is not None:
        return heard_from(constituent, hints)
    return create(session, email, hints)


def heard_from(constituent: Constituent, hints: ContactHints) -> Constituent:
    """A known person wrote again: what the message tells fills gaps in their record."""
    _fill_gaps(constituent, hints)
    return constituent


def has_gaps(constituent: Constituent) -> bool:
    """Whether a message could still tell us something: a field left empty (see _fill_gaps)."""
    return not (
        constituent.name and constituent.address and constituent.postcode and constituent.phone
    )


def create(session: Session, email: str, hints: ContactHints) -> Constituent:
    """A new person with one address (the caller knows the address is nobody's yet)."""
    constituent = Constituent()
    _fill_gaps(constituent, hints)
    insert_loaded(session, constituent)
    insert_rows(
        session, ConstituentEmail, [{"email": email.lower(), "constituent_id": constituent.id}]
    )
    return constituent


def merge(session: Session, keep_id: int, merge_id: int) -> Constituent:
    """Fold one person's record into another: addresses, cases and messages follow."""
    if keep_id == merge_id:
        raise MailbagError("cannot merge a constituent into itself")
    keep, gone = session.get(Constituent, keep_id), session.get(Constituent, merge_id)
    if keep is None or gone is None:
        raise NotFound(f"no constituent {merge_id if keep else keep_id}")
    for model in (ConstituentEmail, Case, Message):
        session.execute(
            update(model).where(model.constituent_id == merge_id).values(constituent_id=keep_id)
        )
    gone.merged_into_id = keep_id
    _fill_gaps(keep, ContactHints(gone.name, gone.address, gone.postcode, gone.phone))
    return keep


def _surviving(session: Session, constituent: Constituent) -> Constituent:
    seen = {constituent.id}
    while constituent.merged_into_id is not None:
        nxt = session.get(Constituent, constituent.merged_into_id)
        if nxt is None or nxt.id in seen:
            break
        seen.add(nxt.id)
        constituent = nxt
    return constituent


def _fill_gaps(constituent: Constituent, hints: ContactHints) -> None:
    if not constituent.name and hints.name:
        constituent.name = hints.name[:200]
    if not constituent.address and hints.address:
        constituent.address = hints.address
    if not constituent.postcode and hints.postcode:
        constituent.postcode = hints.postcode
    if not constituent.phone and hints.phone:
        constituent.phone = hints.phone[:40]
