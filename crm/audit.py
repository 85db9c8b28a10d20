"""The audit log: append-only; sign-ins, views of sensitive cases, exports, permission changes.

There is deliberately no function here that updates or deletes a row, and the database
refuses to (triggers of migration 0007); `mailbag audit --csv` and the page export it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm.models import Base
from crm.types import utcnow

ACTIONS = (
    "sign_in",
    "sign_in_failed",
    "sign_out",
    "view_sensitive_case",
    "download_sensitive",  # an attachment of a safeguarding or special-category case
    "export",
    "user_created",
    "permission_change",
    "password_reset",
    "template_change",
    "directory_change",
    "erasure",
)


class AuditEntry(Base):
    """Who did what, when; `detail` names ids and references, never a constituent's words."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(40))
    who: Mapped[str] = mapped_column(String(320), default="")
    # A plain number, not a foreign key: entries outlive the cases they name (erasure).
    case_id: Mapped[int | None] = mapped_column()
    detail: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_audit_log_at", "at"),)


def record(
    session: Session, action: str, *, who: str, case_id: int | None = None, detail: str = ""
) -> None:
    """Append one entry in the caller's transaction."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.add(AuditEntry(action=action, who=who[:320], case_id=case_id, detail=detail[:1000]))


def recent(session: Session, limit: int = 200, offset: int = 0) -> list[AuditEntry]:
    """Newest first, for the office manager's page."""
    return list(
        session.scalars(
            select(AuditEntry)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
