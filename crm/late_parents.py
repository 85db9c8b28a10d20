"""Replies that arrive before the message they answer join its case when it comes.

On a first run INBOX is read before Sent, so a council's reply to a referral sent from Outlook
is met before the referral itself; mail servers also deliver out of order. Such a reply is
kept without a case, and the ids it names are remembered here until one of them turns up.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm.correspondence import add_to_timeline
from crm.db import insert_rows, present
from crm.followups import service as followups
from crm.models import Base, Case, Message
from crm.settings import Settings

MAX_NAMED = 50  # a References header can list a whole long conversation; the newest matter
ADOPTABLE_KINDS = (
    "third_party",
    "auto_reply",
    "bounce",
    "outgoing",
)  # constituent mail opens cases


class AwaitedParent(Base):
    """One Message-ID a message without a case names as the mail it answers."""

    __tablename__ = "awaited_parents"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(400), index=True)
    message_pk: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )


def await_parents(session: Session, message_pk: int, named: Sequence[str]) -> list[str]:
    """Remember the ids an unthreaded message names (newest last, as References lists them)."""
    wanted = list(dict.fromkeys(i[:400] for i in named if i))[-MAX_NAMED:]
    insert_rows(
        session, AwaitedParent, [{"message_id": i, "message_pk": message_pk} for i in wanted]
    )
    return wanted


def awaited(session: Session, message_ids: Collection[str]) -> set[str]:
    """Which of these Message-IDs some message without a case is waiting for."""
    return present(session, AwaitedParent.message_id, message_ids)


def adopt(session: Session, settings: Settings, case: Case, message_id: str) -> list[Message]:
    """Put every waiting reply to `message_id` (and replies to those) on the case."""
    adopted: list[Message] = []
    pending, seen = [message_id], {message_id}
    while pending:
        parent = pending.pop()
        for child in _waiting_for(session, parent):
            _join(session, settings, case, child, parent)
            adopted.append(child)
            if child.message_id and child.message_id not in seen:
                seen.add(child.message_id)
                pending.append(child.message_id)
    return adopted


def _waiting_for(session: Session, message_id: str) -> list[Message]:
    query = (
        select(Message)
        .join(AwaitedParent, AwaitedParent.message_pk == Message.id)
        .where(
            AwaitedParent.message_id == message_id,
            Message.case_id.is_(None),
            Message.kind.in_(ADOPTABLE_KINDS),
        )
        .order_by(Message.id)
    )
    return list(session.scalars(query).unique())


def _join(session: Session, settings: Settings, case: Case, child: Message, parent: str) -> None:
    """The reply joins the case, its timeline, and counts as the answer it is."""
    written = child.sent_at or child.received_at
    child.case_id = case.id
    child.thread_reason = f"answers {parent}, which arrived after it"
    session.execute(delete(AwaitedParent).where(AwaitedParent.message_pk == child.id))
    add_to_timeline(session, case, child, written)  # moves the case's last activity too
    if child.kind == "third_party" and child.from_address:
        followups.satisfy_by_message(
            session,
            settings,
            case.id,
            sender=child.from_address,
            message_pk=child.id,
            written_at=written,
        )
