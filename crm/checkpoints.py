"""IMAP checkpoints: UIDVALIDITY and last UID per folder, written in the batch's transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm.models import ImapCheckpoint


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
    elif last_uid > checkpoint.last_uid:
        checkpoint.last_uid = last_uid
