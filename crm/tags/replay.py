"""A case's stored messages as the rules see them, oldest first, for re-tagging."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from crm.models import Case, Constituent, Message
from tagging.features import MessageFeatures


def case_messages(session: Session, case: Case) -> Iterator[tuple[MessageFeatures, datetime]]:
    """(features, when written) for every message on the case, in the order they were written."""
    postcode = _postcode(session, case)
    messages = session.scalars(
        select(Message).where(Message.case_id == case.id).options(selectinload(Message.attachments))
    ).all()
    for message in sorted(messages, key=lambda m: (written(m), m.id)):
        yield features_of(message, postcode), written(message)


def written(message: Message) -> datetime:
    """The Date header when believable, else when it arrived (as the case timeline does)."""
    date = message.sent_at
    if date is None or date > message.received_at + timedelta(days=1) or date.year < 1990:
        return message.received_at
    return date


def features_of(message: Message, postcode: str | None) -> MessageFeatures:
    return MessageFeatures(
        subject=message.subject,
        text=message.body_text,
        sender=message.from_address,
        attachment_types=tuple(a.content_type for a in message.attachments),
        kind=message.kind,
        postcode=postcode,
    )


def _postcode(session: Session, case: Case) -> str | None:
    if case.constituent_id is None:
        return None
    constituent = session.get(Constituent, case.constituent_id)
    return constituent.postcode if constituent else None
