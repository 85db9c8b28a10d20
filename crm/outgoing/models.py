"""Tables for outgoing mail: the directory of third parties and the outbox of letters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models import Base
from crm.types import utcnow

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"


class Organisation(Base):
    """A body the office writes to on constituents' behalf: a department, council, agency."""

    __tablename__ = "third_parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40), default="agency")
    postal_address: Mapped[str] = mapped_column(Text, default="")
    reply_standard_days: Mapped[int] = mapped_column(Integer, default=20)
    auto_chase: Mapped[bool] = mapped_column(Boolean, default=True)
    second_chase_days: Mapped[int | None] = mapped_column(Integer)  # None: the office default
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    addresses: Mapped[list[OrganisationAddress]] = relationship(
        back_populates="organisation", order_by="OrganisationAddress.id"
    )

    @property
    def emails(self) -> list[str]:
        return [a.value for a in self.addresses if not a.is_domain]

    @property
    def domains(self) -> list[str]:
        return [a.value for a in self.addresses if a.is_domain]


class OrganisationAddress(Base):
    """An email address or a whole domain that belongs to one organisation (lower case)."""

    __tablename__ = "third_party_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("third_parties.id"), index=True)
    value: Mapped[str] = mapped_column(String(320), unique=True)
    is_domain: Mapped[bool] = mapped_column(Boolean, default=False)

    organisation: Mapped[Organisation] = relationship(back_populates="addresses")


class OutboxLetter(Base):
    """One letter to send: rendered when queued, composed and sent later, never twice.

    `once_key` makes "at most once" a database promise: the automatic acknowledgement of a
    case carries `acknowledgement:case:<id>`, and a chase can carry its own attempt key.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    template: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    auto_submitted: Mapped[str] = mapped_column(String(20), default="")
    once_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    recipient: Mapped[str] = mapped_column(String(320))
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("third_parties.id"))
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(400), unique=True)
    in_reply_to: Mapped[list[str]] = mapped_column(default=list)
    references: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(10), default=QUEUED, index=True)
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint(
            f"status IN ('{QUEUED}', '{SENDING}', '{SENT}', '{FAILED}')", name="status"
        ),
        Index("ix_outbox_recipient_created", "recipient", "created_at"),
    )
