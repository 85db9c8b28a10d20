"""Tables for keeping people informed: councillors' requests, status emails, digests.

Keys to a case cascade, so erasing a case (crm.privacy) takes these rows with it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm.models import Base
from crm.types import utcnow

NONE, DAILY, WEEKLY = "none", "daily", "weekly"
FREQUENCIES = (NONE, DAILY, WEEKLY)

# How a day's status email or a period's digest ended.
QUEUED, SENDING, SENT, FAILED, EMPTY, NO_ADDRESS = (
    "queued",
    "sending",
    "sent",
    "failed",
    "empty",
    "no_address",
)
OUTCOMES = (QUEUED, SENDING, SENT, FAILED, EMPTY, NO_ADDRESS)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


class CouncillorRequest(Base):
    """A case a councillor raised for a resident: who raised it, what for, and by when.

    One per case: the request is what opened the case. `due_on` is the councillor's date,
    one of the case's deadlines (see crm.informing.deadlines).
    """

    __tablename__ = "councillor_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    raised_by_label: Mapped[str] = mapped_column(String(200))  # "Cllr Ann Smith", as then
    wanted: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    consent_text: Mapped[str] = mapped_column(Text)
    consented_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatusEmailOptOut(Base):
    """The constituent (or staff for them) asked for no status emails on this case."""

    __tablename__ = "status_email_opt_outs"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    who: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class StatusEmail(Base):
    """The day's status email of one case: at most one a day, a database promise.

    Changes up to `covered_until` are told (or were judged not to need telling); the next
    email starts from there.
    """

    __tablename__ = "status_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    sent_on: Mapped[date] = mapped_column(Date)  # the office's day (Europe/London)
    covered_until: Mapped[datetime] = mapped_column()
    latest: Mapped[str] = mapped_column(String(20))  # referred, reply_received, closed
    changes: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(12))
    outbox_letter_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("case_id", "sent_on", name="uq_status_emails_case_day"),
        CheckConstraint(f"outcome IN ({_in(OUTCOMES)})", name="outcome"),
        Index("ix_status_emails_case_covered", "case_id", "covered_until"),
    )


class DigestPreference(Base):
    """How often a councillor wants the digest of their cases: daily, weekly or never."""

    __tablename__ = "digest_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    frequency: Mapped[str] = mapped_column(String(10), default=NONE)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (CheckConstraint(f"frequency IN ({_in(FREQUENCIES)})", name="frequency"),)


class DigestSent(Base):
    """One councillor's digest for one period ("2026-11-20", "2026-W47"): claimed once.

    UNIQUE (user, period) is what keeps two schedulers from sending it twice.
    """

    __tablename__ = "digests_sent"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    period: Mapped[str] = mapped_column(String(12))
    frequency: Mapped[str] = mapped_column(String(10))
    covered_from: Mapped[datetime] = mapped_column()
    covered_until: Mapped[datetime] = mapped_column()
    changes: Mapped[int] = mapped_column(Integer, default=0)
    deadlines: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12))
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        UniqueConstraint("user_id", "period", name="uq_digests_sent_user_period"),
        CheckConstraint(f"status IN ({_in(OUTCOMES)})", name="status"),
        Index("ix_digests_sent_user_covered", "user_id", "covered_until"),
    )
