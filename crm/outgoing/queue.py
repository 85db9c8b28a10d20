"""Queue a letter: render it for a case and a recipient now, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from crm.letters.dates import uk_today
from crm.letters.gather import gather
from crm.letters.overrides import office_letters
from crm.letters.templates import Letters
from crm.models import Case, Message
from crm.outgoing import directory
from crm.outgoing.compose import new_message_id, thread_headers, with_reference
from crm.outgoing.models import QUEUED, Organisation, OutboxLetter
from crm.settings import Settings
from crm.types import utcnow

RECENT_MESSAGES = 200


def queue_letter(
    session: Session,
    settings: Settings,
    case: Case,
    template: str,
    *,
    to: str | Organisation | None = None,
    note: str = "",
    auto_submitted: str = "",
    once_key: str | None = None,
    tags: Sequence[str] = (),
    extra: Mapping[str, object] | None = None,
    now: datetime | None = None,
    letters: Letters | None = None,
) -> OutboxLetter | None:
    """Render template for the case and recipient, and queue it; None if `once_key` was used.

    Nothing is sent here: `crm.outgoing.send.deliver` sends after this transaction commits.
    """
    settings.require("from_address")
    if once_key is not None and _key_used(session, once_key):
        return None
    letters = letters or office_letters(session, settings)  # the office's wording first
    info = letters.info(template)
    now = now or utcnow()
    context, recipient = gather(
        session,
        settings,
        case,
        info,
        to=to.name if isinstance(to, Organisation) else to,
        today=uk_today(now),
        note=note,
        tags=tags,
        extra=extra,
    )
    rendered = letters.render_email(template, context.as_mapping())
    last = last_exchange(session, case, recipient.email, recipient.organisation_id)
    in_reply_to, references = thread_headers(
        last.message_id if last else None, last.references if last else []
    )
    values: dict[str, Any] = {
        "case_id": case.id,
        "template": template,
        "kind": info.kind,
        "auto_submitted": auto_submitted,
        "once_key": once_key,
        "recipient": recipient.email,
        "recipient_name": recipient.name[:200],
        "organisation_id": recipient.organisation_id,
        "subject": with_reference(rendered.subject, case.reference),
        "body_text": rendered.text,
        "body_html": rendered.html,
        "message_id": new_message_id(settings.from_address),
        "in_reply_to": in_reply_to,
        "references": references,
        "status": QUEUED,
        "created_at": now,
    }
    letter_id = _insert(session, values)
    return session.get(OutboxLetter, letter_id) if letter_id is not None else None


def last_exchange(
    session: Session, case: Case, email: str, organisation_id: int | None
) -> Message | None:
    """The newest message on the case from or to this correspondent: what a reply answers."""
    messages = session.scalars(
        select(Message)
        .where(Message.case_id == case.id, Message.message_id.is_not(None))
        .order_by(Message.id.desc())
        .limit(RECENT_MESSAGES)
    ).all()
    ordered = sorted(messages, key=lambda m: (m.sent_at or m.received_at, m.id), reverse=True)
    for message in ordered:
        addresses = [message.from_address, *message.to_addresses]
        if any(_same_correspondent(session, a, email, organisation_id) for a in addresses):
            return message
    return None


def _same_correspondent(
    session: Session, address: str, email: str, organisation_id: int | None
) -> bool:
    if address.lower() == email.lower():
        return True
    if organisation_id is None:
        return False
    org = directory.find_by_address(session, address)
    return org is not None and org.id == organisation_id


def _key_used(session: Session, once_key: str) -> bool:
    used = session.scalar(select(OutboxLetter.id).where(OutboxLetter.once_key == once_key))
    return used is not None


def _insert(session: Session, values: dict[str, Any]) -> int | None:
    """Insert the letter; with a once-key, a concurrent twin makes this a no-op (both DBs)."""
    if values["once_key"] is None:
        letter = OutboxLetter(**values)
        session.add(letter)
        session.flush()
        return letter.id
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(OutboxLetter)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[OutboxLetter.once_key])
        .returning(OutboxLetter.id)
    )
    return session.execute(statement).scalar_one_or_none()
