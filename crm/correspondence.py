"""Messages in and out: recorded once, wherever they were seen, and put on a case's timeline."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.blobs import store_blob
from crm.cases import touch
from crm.db import insert_ignore, insert_loaded, insert_rows, new_row, present
from crm.later import WrittenLater
from crm.models import Attachment, Case, Message, MessageSource, TimelineEntry

TIMELINE_KIND = {
    "constituent": "email_in",
    "third_party": "third_party_reply",
    "auto_reply": "auto_reply",
    "bounce": "bounce",
    "outgoing": "email_out",
}


@dataclass(frozen=True)
class StoredAttachment:
    filename: str
    content_type: str
    payload: bytes


@dataclass
class NewMessage:
    """What crm needs to keep of a message; built by whoever read it (inbox, or a sender)."""

    dedupe_key: str
    blob_sha256: str
    message_id: str | None
    direction: str  # "in" or "out"
    kind: str
    kind_reasons: list[str]
    from_address: str
    from_name: str
    to_addresses: list[str]
    subject: str
    in_reply_to: list[str]
    references: list[str]
    sent_at: datetime | None
    body_text: str
    body_html: str | None
    defects: list[str] = field(default_factory=list)
    attachments: list[StoredAttachment] = field(default_factory=list)


def dedupe_key(message_id: str | None, sha256: str) -> str:
    """Duplicates are recognised by Message-ID, or by content hash when there is none."""
    return f"mid:{message_id}"[:400] if message_id else f"sha256:{sha256}"


def collision_key(message_id: str, sha256: str) -> str:
    """For a different message that reuses a Message-ID already held (broken mailers do)."""
    return f"mid:{message_id}"[:380] + f"#sha256:{sha256[:16]}"


def held_keys(session: Session, keys: Collection[str]) -> set[str]:
    """Which of these dedupe keys are stored already, in one query per few hundred."""
    return present(session, Message.dedupe_key, keys)


def find_duplicate(session: Session, key: str) -> Message | None:
    return session.scalar(select(Message).where(Message.dedupe_key == key))


SourceRow = dict[str, object]


def source_values(
    message_pk: int,
    *,
    folder: str,
    uidvalidity: int | None = None,
    uid: int | None = None,
    path: str | None = None,
) -> SourceRow:
    """One place a message was seen (a folder and UID, or a file's path), as a row."""
    return {
        "message_pk": message_pk,
        "folder": folder,
        "uidvalidity": uidvalidity,
        "uid": uid,
        "path": path,
    }


def record_source(session: Session, row: SourceRow) -> None:
    """Remember where a message was seen; seeing it again in the same place changes nothing."""
    if row["uid"] is None and _seen_at(session, row):
        return
    record_first_source(session, row)


def record_first_source(session: Session, row: SourceRow) -> None:
    """Where a message recorded just now was seen: it was seen nowhere before, so a file's
    path needs no look-up first (an import of old mail records one for every message)."""
    if row["uid"] is None:  # files: no UID to clash on
        insert_rows(session, MessageSource, [row])
    else:
        record_sources(session, [row])


def record_sources(session: Session, rows: list[SourceRow]) -> None:
    """Places messages were seen by folder and UID, in one statement; a folder and UID
    already held stay with the message they name (IMAP ingest writes a batch's at its end)."""
    insert_ignore(session, MessageSource, rows)


def _seen_at(session: Session, row: SourceRow) -> bool:
    found = session.scalar(
        select(MessageSource.id).where(
            MessageSource.message_pk == row["message_pk"],
            MessageSource.folder == row["folder"],
            MessageSource.path == row["path"],
        )
    )
    return found is not None


def record_message(
    session: Session,
    new: NewMessage,
    *,
    case: Case | None,
    constituent_id: int | None,
    thread_reason: str,
    received_at: datetime,
    occurred_at: datetime,
    later: WrittenLater | None = None,
) -> Message:
    """Insert the message and its attachments, and its timeline entry when it has a case
    (that with the batch's others when `later` is given)."""
    message = new_row(
        Message,
        dedupe_key=new.dedupe_key,
        message_id=new.message_id,
        blob_sha256=new.blob_sha256,
        direction=new.direction,
        kind=new.kind,
        kind_reasons=new.kind_reasons,
        case_id=case.id if case else None,
        constituent_id=constituent_id,
        from_address=new.from_address[:320],
        from_name=new.from_name[:200],
        to_addresses=new.to_addresses,
        subject=new.subject,
        in_reply_to=new.in_reply_to,
        references=new.references,
        sent_at=new.sent_at,
        received_at=received_at,
        body_text=new.body_text,
        body_html=new.body_html,
        defects=new.defects,
        thread_reason=thread_reason,
    )
    insert_loaded(session, message)
    for attachment in new.attachments:
        _store_attachment(session, message, attachment)
    if case is not None:
        add_to_timeline(session, case, message, occurred_at, later)
    return message


def add_to_timeline(
    session: Session,
    case: Case,
    message: Message,
    occurred: datetime,
    later: WrittenLater | None = None,
) -> None:
    """Every message on a case becomes one timeline entry, dated when it was written."""
    summary = message.subject or "(no subject)"
    entry = {
        "case_id": case.id,
        "kind": TIMELINE_KIND.get(message.kind, "email_in"),
        "message_pk": message.id,
        "occurred_at": occurred,
        "summary": summary[:500],
    }
    if later is not None:
        later.timeline.append(entry)
    else:
        insert_rows(session, TimelineEntry, [entry])
    touch(session, case, occurred, later.touches if later is not None else None)


def _store_attachment(session: Session, message: Message, attachment: StoredAttachment) -> None:
    sha = store_blob(session, attachment.payload)
    row = {
        "message_pk": message.id,
        "filename": attachment.filename[:255],
        "content_type": attachment.content_type[:255],
        "size": len(attachment.payload),
        "blob_sha256": sha,
    }
    insert_rows(session, Attachment, [row])
