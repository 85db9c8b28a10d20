"""The weekly reviews emailed so far: one row per week, so a week is never emailed twice."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.models import Base
from crm.types import utcnow

SENDING, SENT, FAILED = "sending", "sent", "failed"
STATES = (SENDING, SENT, FAILED)


class WeeklyReportSent(Base):
    """A week's review claimed for sending, then sent (or failed, to be claimed again).

    The unique week is what stops a restarted scheduler, a second scheduler or a retried
    job from emailing a week that has gone already.
    """

    __tablename__ = "weekly_reports_sent"

    id: Mapped[int] = mapped_column(primary_key=True)
    week_ending: Mapped[date] = mapped_column(Date, unique=True)
    state: Mapped[str] = mapped_column(String(10), default=SENDING)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        CheckConstraint(f"state IN ('{SENDING}', '{SENT}', '{FAILED}')", name="state"),
    )
