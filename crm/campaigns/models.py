"""Tables of campaign mail: campaigns, their members, and the MinHash signatures and LSH bands.

A member's message is found through its dedupe key (`messages.dedupe_key`, unique): the
campaign step runs before the message row exists, and the key is known from the start.
Its case, when it has one, is the message's own case.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm.models import Base
from crm.types import utcnow

ACTIVE, REPLIED, CLOSED = "active", "replied", "closed"
STATUSES = (ACTIVE, REPLIED, CLOSED)


class Campaign(Base):
    """One template letter sent by many people; answered with one reply template."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    template_text: Mapped[str] = mapped_column(Text, default="")
    template_from: Mapped[int] = mapped_column(Integer, default=0)  # members it was derived from
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE)
    members: Mapped[int] = mapped_column(Integer, default=0)
    banded: Mapped[int] = mapped_column(Integer, default=0)  # members whose bands are indexed
    reply_template: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    replied_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint(f"status IN ('{ACTIVE}', '{REPLIED}', '{CLOSED}')", name="status"),
    )


class CampaignSignature(Base):
    """The MinHash of one constituent letter (uint32 values), kept so later mail can match it."""

    __tablename__ = "campaign_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_key: Mapped[str] = mapped_column(String(400), unique=True)
    constituent_id: Mapped[int] = mapped_column(ForeignKey("constituents.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    minhash: Mapped[bytes] = mapped_column(LargeBinary)
    words: Mapped[int] = mapped_column(Integer)
    written_at: Mapped[datetime] = mapped_column()


class CampaignBand(Base):
    """One LSH band of one signature: (band number, band hash) folded into one 64-bit key.

    Letters that share any key are candidates; the primary key (key first) is the index the
    `key IN (...)` lookup uses, so the cost stays flat as the mailbox grows.
    """

    __tablename__ = "campaign_bands"

    band_key: Mapped[int] = mapped_column(BigInteger)
    signature_id: Mapped[int] = mapped_column(ForeignKey("campaign_signatures.id"))

    __table_args__ = (PrimaryKeyConstraint("band_key", "signature_id"),)


class CampaignMember(Base):
    """One letter of a campaign: who sent it, what they added, and whether it stays a case."""

    __tablename__ = "campaign_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    signature_id: Mapped[int] = mapped_column(ForeignKey("campaign_signatures.id"), unique=True)
    constituent_id: Mapped[int] = mapped_column(ForeignKey("constituents.id"), index=True)
    personal_text: Mapped[str] = mapped_column(Text, default="")
    personal_words: Mapped[int] = mapped_column(Integer, default=0)
    is_constituent: Mapped[bool | None] = mapped_column(Boolean)  # None: postcode or list unknown
    kept_as_case: Mapped[bool] = mapped_column(Boolean, default=False)
    kept_reason: Mapped[str] = mapped_column(Text, default="")
    folded_in: Mapped[bool] = mapped_column(Boolean, default=False)  # came before recognition
    written_at: Mapped[datetime] = mapped_column(index=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
