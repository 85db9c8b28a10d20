"""Quarantine: messages a step could not handle, kept with the error for staff to retry."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import audit
from crm.blobs import load_blob
from crm.errors import NotFound
from crm.models import QuarantineEntry
from crm.types import utcnow


@dataclass(frozen=True)
class Failure:
    """Which step failed and why, in words a person can act on."""

    step: str
    error: str


def hold(
    session: Session,
    *,
    blob_sha256: str,
    failure: Failure,
    source: str,
    folder: str | None = None,
    uidvalidity: int | None = None,
    uid: int | None = None,
) -> QuarantineEntry:
    """Put a message in quarantine once; failing again counts another attempt."""
    entry = session.scalar(
        select(QuarantineEntry).where(QuarantineEntry.blob_sha256 == blob_sha256)
    )
    if entry is None:
        entry = QuarantineEntry(
            blob_sha256=blob_sha256,
            source=source,
            folder=folder,
            uidvalidity=uidvalidity,
            uid=uid,
            step=failure.step,
            error=failure.error[:4000],
        )
        session.add(entry)
        session.flush()
        return entry
    entry.attempts += 1
    entry.step, entry.error, entry.resolved_at = failure.step, failure.error[:4000], None
    return entry


def pending(session: Session) -> list[QuarantineEntry]:
    return list(
        session.scalars(
            select(QuarantineEntry)
            .where(QuarantineEntry.resolved_at.is_(None))
            .order_by(QuarantineEntry.id)
        )
    )


def raw_message(session: Session, entry_id: int, *, who: str) -> bytes:
    """The bytes of a message waiting in quarantine, exactly as they came, for an office
    manager to look into (or send to whoever supports Mailbag); audited as an export."""
    entry = session.get(QuarantineEntry, entry_id)
    if entry is None or entry.resolved_at is not None:
        raise NotFound(f"no quarantined message with id {entry_id}")
    audit.record(session, "export", who=who, detail=f"quarantined message {entry_id}")
    return load_blob(session, entry.blob_sha256)


def resolve(entry: QuarantineEntry) -> None:
    entry.resolved_at = utcnow()
