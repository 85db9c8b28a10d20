"""IMAP checkpoints: UIDVALIDITY and last UID per folder, written in the batch's transaction;
and the messages behind a checkpoint that the server would not hand over."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from crm.models import ImapCheckpoint, UnreadableMessage
from crm.types import utcnow

MAX_ERROR_CHARS = 4000


def get(session: Session, mailbox: str, folder: str) -> ImapCheckpoint | None:
    return session.get(ImapCheckpoint, (mailbox, folder))


def advance(session: Session, mailbox: str, folder: str, uidvalidity: int, last_uid: int) -> None:
    """Move forward only; a new UIDVALIDITY starts the folder afresh."""
    checkpoint = get(session, mailbox, folder)
    if checkpoint is None:
        session.add(
            ImapCheckpoint(
                mailbox=mailbox, folder=folder, uidvalidity=uidvalidity, last_uid=last_uid
            )
        )
        return
    if checkpoint.uidvalidity != uidvalidity:
        checkpoint.uidvalidity, checkpoint.last_uid = uidvalidity, last_uid
        _settle(session, _in_folder(mailbox, folder), UnreadableMessage.uidvalidity != uidvalidity)
    elif last_uid > checkpoint.last_uid:
        checkpoint.last_uid = last_uid


def hold_unreadable(
    session: Session,
    mailbox: str,
    folder: str,
    uidvalidity: int,
    refused: Sequence[tuple[int, str]],
) -> None:
    """Remember messages the server refused, each as (UID, the server's words); one already
    remembered counts another attempt."""
    now = utcnow()
    held = {row.uid: row for row in _rows(session, mailbox, folder, uidvalidity, refused)}
    for uid, error in refused:
        row = held.get(uid)
        if row is None:
            row = UnreadableMessage(
                mailbox=mailbox, folder=folder, uidvalidity=uidvalidity, uid=uid, attempts=0
            )
            session.add(row)
        row.attempts += 1
        row.error, row.last_tried_at, row.resolved_at = error[:MAX_ERROR_CHARS], now, None


def unreadable_uids(
    session: Session, mailbox: str, folder: str, uidvalidity: int, *, tried_before: datetime
) -> list[int]:
    """The folder's messages to ask for again, by UID: those last tried before the time
    given (a daemon polls at every new letter; a damaged item need not be asked each time)."""
    query = (
        select(UnreadableMessage.uid)
        .where(
            _in_folder(mailbox, folder, uidvalidity),
            UnreadableMessage.resolved_at.is_(None),
            UnreadableMessage.last_tried_at < tried_before,
        )
        .order_by(UnreadableMessage.uid)
    )
    return list(session.scalars(query))


def resolve_unreadable(
    session: Session, mailbox: str, folder: str, uidvalidity: int, uids: Sequence[int]
) -> None:
    """The server has given these after all: they were stored in this transaction."""
    if uids:
        _settle(session, _in_folder(mailbox, folder, uidvalidity), UnreadableMessage.uid.in_(uids))


def pending_unreadable(session: Session) -> list[UnreadableMessage]:
    """Every message still refused, oldest first: for the quarantine's listings."""
    query = (
        select(UnreadableMessage)
        .where(UnreadableMessage.resolved_at.is_(None))
        .order_by(UnreadableMessage.id)
    )
    return list(session.scalars(query))


def _in_folder(mailbox: str, folder: str, uidvalidity: int | None = None) -> ColumnElement[bool]:
    """The folder's refused messages: of this UIDVALIDITY, or (None) of any."""
    same = [UnreadableMessage.mailbox == mailbox, UnreadableMessage.folder == folder]
    if uidvalidity is not None:
        same.append(UnreadableMessage.uidvalidity == uidvalidity)
    return and_(*same)


def _rows(
    session: Session,
    mailbox: str,
    folder: str,
    uidvalidity: int,
    refused: Sequence[tuple[int, str]],
) -> Sequence[UnreadableMessage]:
    uids = [uid for uid, _ in refused]
    query = select(UnreadableMessage).where(
        _in_folder(mailbox, folder, uidvalidity), UnreadableMessage.uid.in_(uids)
    )
    return session.scalars(query).all()


def _settle(session: Session, *which: ColumnElement[bool]) -> None:
    """Mark as resolved; an older UIDVALIDITY's are, since the folder is read afresh."""
    session.execute(
        update(UnreadableMessage)
        .where(UnreadableMessage.resolved_at.is_(None), *which)
        .values(resolved_at=utcnow())
    )
