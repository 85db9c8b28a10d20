"""Tables of erasure: what was erased and why (never what it said), and anonymous counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.models import Base
from crm.types import utcnow

POLICY, REQUEST = "policy", "request"


class ErasureLog(Base):
    """One erasure: when, why, which case references and how many rows of each table.

    It names references and numbers only: the point of erasing is that the words are gone.
    """

    __tablename__ = "erasure_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    reason: Mapped[str] = mapped_column(String(10))  # policy or request
    rule: Mapped[str] = mapped_column(String(40))  # closed_cases, campaign_mail, ..., request
    who: Mapped[str] = mapped_column(String(320), default="")
    case_references: Mapped[list[str]] = mapped_column(default=list)
    constituent_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class ErasedCount(Base):
    """How many cases, messages, ... of one month (when they began) were erased: statistics
    about the past stay true after the people in them are gone."""

    __tablename__ = "erased_counts"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM of the case's opening or the mail
    kind: Mapped[str] = mapped_column(String(40))  # case, message/constituent, quarantined, ...
    issue: Mapped[str] = mapped_column(String(210), default="")  # a case's primary issue
    count: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("month", "kind", "issue", name="uq_erased_counts_month_kind_issue"),
    )
