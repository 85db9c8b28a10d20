"""Quarantine: messages a step could not handle, kept with the error for staff to retry."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

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


def resolve(entry: QuarantineEntry) -> None:
    entry.resolved_at = utcnow()
