"""Finding what an import of .eml files made, by the file it came from."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import Message, MessageSource


def by_file(session: Session, prefix: str) -> Message:
    """The message imported from the file whose name starts with `prefix`."""
    message = session.scalar(
        select(Message)
        .join(MessageSource, MessageSource.message_pk == Message.id)
        .where(MessageSource.path.like(f"%/{prefix}%"))
    )
    assert message is not None, prefix
    return message
