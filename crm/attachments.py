"""A case's attachments: listed on its timeline, handed to those who may see the case.

Constituents send photographs of damp, letters from the DWP, decisions as PDFs: the case file
is not whole without them. Each is kept as a blob (crm.blobs); who may download one is asked
exactly as who may open its case (crm.access), and a download from a safeguarding or
special-category case is audited like a view of it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import access, audit
from crm.db import AnySelect, built_once, one_of_ids_given, plain_rows
from crm.errors import NotFound
from crm.models import Attachment, Blob, Case, Message


@dataclass(frozen=True)
class Listed:
    """What the timeline shows of an attachment: enough to name it and fetch it."""

    id: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Download:
    """An attachment's bytes, with the name and type it came with."""

    filename: str
    content_type: str
    data: bytes


def of_messages(session: Session, message_ids: Sequence[int]) -> dict[int, list[Listed]]:
    """The attachments of these messages, by message, in the order they came."""
    found: dict[int, list[Listed]] = defaultdict(list)
    if message_ids:
        rows = plain_rows(session, _listed(session), {"ids": list(message_ids)})
        for message_id, *listed in rows:
            found[message_id].append(Listed(*listed))
    return found


def download(
    session: Session, viewer: access.Viewer, reference: str, attachment_id: int
) -> Download:
    """The attachment, if it belongs to a message of this case and the viewer may see the
    case; otherwise NotFound, as if it did not exist. Its bytes come in the same query."""
    wanted = reference.strip().upper()
    found = session.execute(
        select(
            Attachment.filename,
            Attachment.content_type,
            Blob.data,
            Case.id,
            access.is_restricted(),
        )
        .join(Blob, Blob.sha256 == Attachment.blob_sha256)
        .join(Message, Message.id == Attachment.message_pk)
        .join(Case, Case.id == Message.case_id)
        .where(Attachment.id == attachment_id, Case.reference == wanted)
        .where(access.visible_cases(viewer))
    ).first()
    if found is None:
        raise NotFound(f"no attachment {attachment_id} on case {wanted[:40]}")
    filename, content_type, data, case_id, restricted = found
    if restricted:
        detail = f"{wanted} attachment {attachment_id}"
        audit.record(
            session, "download_sensitive", who=viewer.email, case_id=case_id, detail=detail
        )
    return Download(filename, content_type, data)


@built_once
def _listed(dialect: str) -> AnySelect:
    return (
        select(
            Attachment.message_pk,
            Attachment.id,
            Attachment.filename,
            Attachment.content_type,
            Attachment.size,
        )
        .where(one_of_ids_given(dialect, Attachment.message_pk))
        .order_by(Attachment.message_pk, Attachment.id)
    )
