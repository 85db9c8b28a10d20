"""SQLAlchemy models: the tables every part of Mailbag shares."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy import column as column_
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from crm.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


class Blob(Base):
    """Raw bytes stored by their sha256: a message or attachment is kept before anything else."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def _trigram_indexes(table: str, *columns: str) -> tuple[Index, ...]:
    """Search's `lower(column) LIKE '%…%'` indexes on PostgreSQL (migration 0012)."""
    return tuple(
        Index(
            f"ix_{table}_{column}_trgm",
            func.lower(column_(column)).label(f"lower_{column}"),
            postgresql_using="gin",
            postgresql_ops={f"lower_{column}": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql")
        for column in columns
    )


class Constituent(Base):
    """A person who writes to the office; several addresses can belong to one person."""

    __tablename__ = "constituents"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    postcode: Mapped[str | None] = mapped_column(String(10), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("constituents.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    emails: Mapped[list[ConstituentEmail]] = relationship(back_populates="constituent")

    __table_args__ = (
        *_trigram_indexes("constituents", "name", "postcode"),
        # Wards: upper(postcode) LIKE 'EX4 %', read from the index alone (migrations 0012, 0016).
        Index(
            "ix_constituents_postcode_upper",
            func.upper(column_("postcode")).label("upper_postcode"),
            postgresql_ops={"upper_postcode": "text_pattern_ops"},
            postgresql_include=["id", "postcode"],
        ).ddl_if(dialect="postgresql"),
    )


class ConstituentEmail(Base):
    __tablename__ = "constituent_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    constituent_id: Mapped[int] = mapped_column(ForeignKey("constituents.id"), index=True)

    constituent: Mapped[Constituent] = relationship(back_populates="emails")

    __table_args__ = _trigram_indexes("constituent_emails", "email")


class CaseCounter(Base):
    """The last reference number issued per prefix and year (MB-2026-000123)."""

    __tablename__ = "case_counters"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    subject_key: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    constituent_id: Mapped[int | None] = mapped_column(ForeignKey("constituents.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # A copy of the case's sensitivity tag (case_tags holds the record), kept by triggers on
    # case_tags (migrations 0019, 0020) for the lists' access check; nothing here writes it.
    sensitivity_id: Mapped[int | None] = mapped_column()

    constituent: Mapped[Constituent | None] = relationship()

    __table_args__ = (
        Index("ix_cases_constituent_status", "constituent_id", "status"),
        # The case list's sort orders and common narrowings (migration 0012). On PostgreSQL
        # the default order's and a caseworker's also carry what access and the other
        # filters read, the tag ids included (`tag_ids`: PostgreSQL's alone, outside this
        # model, crm.tags.carried), and the default order's the constituent's postcode for
        # the wards (`constituent_postcode`, outside it too, crm.access), so the walk to a
        # page reads no table rows (0017, 0019, 0020, 0021). Each carries what it must only:
        # every message rewrites its case's entries.
        Index(
            "ix_cases_last_activity",
            "last_activity_at",
            "id",
            postgresql_include=[
                "owner_id",
                "constituent_id",
                "sensitivity_id",
                "tag_ids",
                "status",
                "constituent_postcode",
            ],
        ),
        Index("ix_cases_opened", "opened_at", "id"),
        Index("ix_cases_status_activity", "status", "last_activity_at"),
        Index(
            "ix_cases_owner_status_activity",
            "owner_id",
            "status",
            "last_activity_at",
            "id",
            postgresql_include=["sensitivity_id", "tag_ids"],
        ),
        *_trigram_indexes("cases", "reference", "subject"),
    )


class Message(Base):
    """One email, in or out, whichever folder or file it came from."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(400), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(400), index=True)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    direction: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    kind_reasons: Mapped[list[str]] = mapped_column(default=list)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    constituent_id: Mapped[int | None] = mapped_column(ForeignKey("constituents.id"), index=True)
    from_address: Mapped[str] = mapped_column(String(320), default="", index=True)
    from_name: Mapped[str] = mapped_column(String(200), default="")
    to_addresses: Mapped[list[str]] = mapped_column(default=list)
    subject: Mapped[str] = mapped_column(Text, default="")
    in_reply_to: Mapped[list[str]] = mapped_column(default=list)
    references: Mapped[list[str]] = mapped_column(default=list)
    sent_at: Mapped[datetime | None] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    defects: Mapped[list[str]] = mapped_column(default=list)
    thread_reason: Mapped[str] = mapped_column(Text, default="")

    case: Mapped[Case | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(back_populates="message")

    # On PostgreSQL a column of the letter's words for search, generated by the database and
    # indexed, lives outside the model (crm.words, migration 0018).
    __table_args__ = _trigram_indexes("messages", "subject")


class MessageSource(Base):
    """Each place a message was seen: an IMAP folder/UID or an imported file."""

    __tablename__ = "message_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    folder: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    path: Mapped[str | None] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("folder", "uidvalidity", "uid", name="uq_source_uid"),)


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))

    message: Mapped[Message] = relationship(back_populates="attachments")


class TimelineEntry(Base):
    """One line in a case's story: a message in or out, an auto-reply, a note, a change."""

    __tablename__ = "timeline_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(30))
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    occurred_at: Mapped[datetime] = mapped_column()
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[Message | None] = relationship()

    __table_args__ = (
        UniqueConstraint("case_id", "message_pk", name="uq_timeline_case_message"),
        Index("ix_timeline_case_occurred", "case_id", "occurred_at"),
    )


class QuarantineEntry(Base):
    """A message a step could not handle: kept with the error, visible, retryable."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(primary_key=True)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), unique=True)
    source: Mapped[str] = mapped_column(Text, default="")
    folder: Mapped[str | None] = mapped_column(String(200))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    step: Mapped[str] = mapped_column(String(40))
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()


class UnreadableMessage(Base):
    """A message the mail server would not hand over (a corrupt item, an internal error):
    remembered so the checkpoint can pass it, shown beside the quarantine, and asked for
    again on every run until the server gives it."""

    __tablename__ = "unreadable_messages"
    __table_args__ = (UniqueConstraint("mailbox", "folder", "uidvalidity", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(320))
    folder: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_tried_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()


class ImapCheckpoint(Base):
    """How far each folder of each mailbox has been read; advanced only after a commit."""

    __tablename__ = "imap_checkpoints"

    mailbox: Mapped[str] = mapped_column(String(320), primary_key=True)
    folder: Mapped[str] = mapped_column(String(200), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
