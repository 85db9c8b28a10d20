"""Tables for follow-ups: what we wait for, each chase attempt, third parties' references."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm.models import Base
from crm.types import utcnow

# Follow-up statuses. Open and chased ones are the sweep's; held ones wait for staff (a chase
# to approve, a send whose fate is unknown, a permanent failure); the rest are finished.
OPEN, CHASED, HELD = "open", "chased", "held"
SATISFIED, ESCALATED, CANCELLED = "satisfied", "escalated", "cancelled"
SWEPT = (OPEN, CHASED)
ACTIVE = (OPEN, CHASED, HELD)
STATUSES = (OPEN, CHASED, HELD, SATISFIED, ESCALATED, CANCELLED)

# Chase attempt states.
AWAITING_APPROVAL, RESERVED = "awaiting_approval", "reserved"
SENT, FAILED, UNKNOWN, WITHDRAWN = "sent", "failed", "unknown", "cancelled"
ATTEMPT_STATES = (AWAITING_APPROVAL, RESERVED, SENT, FAILED, UNKNOWN, WITHDRAWN)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


_ACTIVE_SQL = f"status IN ({_in(ACTIVE)})"


class FollowUp(Base):
    """A reply we are waiting for from one third party on one case, and when it is due.

    `due_at` is the only clock: the sweep finds rows by it, so no deadline lives in a queue.
    """

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("third_parties.id"))
    party_key: Mapped[str] = mapped_column(String(330))  # "org:12" or "domain:x.gov.uk"
    party_address: Mapped[str] = mapped_column(String(320))  # where we wrote; chases go there
    opened_by_message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    opened_at: Mapped[datetime] = mapped_column()  # when our letter was sent
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column()
    grace_days: Mapped[int] = mapped_column(Integer)
    working_days: Mapped[bool] = mapped_column(Boolean, default=False)
    grace_source: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(12), default=OPEN)
    attempts_reserved: Mapped[int] = mapped_column(Integer, default=0)  # numbers attempts
    chases_sent: Mapped[int] = mapped_column(Integer, default=0)
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    satisfied_at: Mapped[datetime | None] = mapped_column()
    satisfied_by_message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    satisfied_reason: Mapped[str] = mapped_column(Text, default="")
    satisfied_by: Mapped[str] = mapped_column(String(200), default="")
    extended_days: Mapped[int] = mapped_column(Integer, default=0)
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    escalated_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(f"status IN ({_in(STATUSES)})", name="status"),
        Index("ix_follow_ups_status_due", "status", "due_at"),
        Index("ix_follow_ups_case", "case_id"),
        # One live follow-up per case and third party: a second letter joins the first.
        Index(
            "uq_follow_ups_active_party",
            "case_id",
            "party_key",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
    )


class ChaseAttempt(Base):
    """One chase (first, second) of one follow-up: reserved once, sent at most once."""

    __tablename__ = "chase_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id"))
    attempt_number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    template: Mapped[str] = mapped_column(String(100))
    outbox_letter_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    reserved_at: Mapped[datetime] = mapped_column()
    approved_at: Mapped[datetime | None] = mapped_column()
    approved_by: Mapped[str] = mapped_column(String(200), default="")
    confirmed_unsent: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str] = mapped_column(Text, default="")
    permanent: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("follow_up_id", "attempt_number", name="uq_chase_attempts_attempt"),
        CheckConstraint(f"state IN ({_in(ATTEMPT_STATES)})", name="state"),
        Index("ix_chase_attempts_state", "state"),
    )


class ThirdPartyReference(Base):
    """A third party's own reference for a case ("Our ref: MPC/123456"), one case each."""

    __tablename__ = "third_party_references"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    party_key: Mapped[str] = mapped_column(String(330))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("third_parties.id"))
    reference: Mapped[str] = mapped_column(String(60))  # upper-cased as found
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("party_key", "reference", name="uq_third_party_references_party_ref"),
    )


class GraceRule(Base):
    """How long to wait, set for one case or one organisation (over the defaults)."""

    __tablename__ = "grace_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), unique=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("third_parties.id"), unique=True)
    days: Mapped[int | None] = mapped_column(Integer)
    working_days: Mapped[bool | None] = mapped_column(Boolean)
    second_chase_days: Mapped[int | None] = mapped_column(Integer)  # a case's only: see grace
    reason: Mapped[str] = mapped_column(Text, default="")
    set_by: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("(case_id IS NULL) <> (organisation_id IS NULL)", name="one_subject"),
    )
