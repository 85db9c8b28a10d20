"""Tables of online enquiries: each submission's answers and consent, status links, throttles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.models import Base
from crm.types import utcnow


class Enquiry(Base):
    """One form submission that became a case: what the screener was told, and the consent.

    Both keys cascade, so erasing the case (or its message) erases this record with it.
    """

    __tablename__ = "enquiries"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    message_pk: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    answers: Mapped[dict[str, str]] = mapped_column(JSON)  # question id -> answer id
    route: Mapped[str] = mapped_column(String(20), default="")
    passed_on: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_text: Mapped[str] = mapped_column(Text)
    consented_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatusLink(Base):
    """The nonce every status link of a case is signed with: a new one voids the old links."""

    __tablename__ = "case_status_links"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    nonce: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)


class Throttle(Base):
    """One attempt counted against a limit; `key` is a hash, never an address in clear."""

    __tablename__ = "public_throttle"

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_public_throttle_bucket_key_at", "bucket", "key", "at"),
        Index("ix_public_throttle_at", "at"),
    )
