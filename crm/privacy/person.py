"""The person a subject access or erasure request is about: found by address or number,
with every record that was merged into theirs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import constituents
from crm.errors import NotFound
from crm.models import Constituent
from crm.privacy.errors import PrivacyError


def find_person(session: Session, who_or_id: str) -> Constituent:
    """An email address, or a constituent number (`#12` or `12`); merges are followed."""
    text = who_or_id.strip().lstrip("#")
    if text.isdigit():
        person = session.get(Constituent, int(text))
        if person is None:
            raise NotFound(f"no constituent {text}")
        while person.merged_into_id is not None:
            survivor = session.get(Constituent, person.merged_into_id)
            if survivor is None or survivor.id == person.id:
                break
            person = survivor
        return person
    if "@" not in text:
        raise PrivacyError(f"expected an email address or a constituent number, got {text[:60]!r}")
    found = constituents.find_by_email(session, text)
    if found is None:
        raise NotFound("no constituent with that email address")
    return found


def person_ids(session: Session, person: Constituent) -> set[int]:
    """The record and every record merged into it, however many merges deep."""
    ids = {person.id}
    frontier = {person.id}
    while frontier:
        frontier = (
            set(
                session.scalars(
                    select(Constituent.id).where(Constituent.merged_into_id.in_(frontier))
                )
            )
            - ids
        )
        ids |= frontier
    return ids
