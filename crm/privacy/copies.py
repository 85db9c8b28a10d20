"""Stray copies: raw bytes of a second copy of a message (the same Message-ID seen again with
different bytes, e.g. a sent letter found later in the Sent folder) are stored but used by
no row. When the message they copy is erased, or is no longer held at all, they go too."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser
from typing import Any

from sqlalchemy import Select, and_, exists, func, not_, select
from sqlalchemy.orm import Session

from crm.models import Blob, Message
from crm.privacy.graph import links_to

HEAD_BYTES = 32 * 1024
_ID_RE = re.compile(r"<\s*([^<>\s]{1,998}?)\s*>")  # as the parser reads them


@dataclass
class StrayCopies:
    """Unused blobs by the Message-ID they carry, read once per erasure run."""

    by_message_id: dict[str, set[str]] = field(default_factory=dict)
    unheld: set[str] = field(default_factory=set)  # copies of mail no message holds now
    taken: set[str] = field(default_factory=set)

    @classmethod
    def read(cls, session: Session) -> StrayCopies:
        index = cls()
        for sha256, head in session.execute(_unreferenced()):
            ids = message_ids(_whole_header(session, sha256, bytes(head or b"")))
            for message_id in ids:
                index.by_message_id.setdefault(message_id, set()).add(sha256)
            if ids and not _held(session, ids):
                index.unheld.add(sha256)
        return index

    def take(self, gone_message_ids: set[str]) -> set[str]:
        """Copies of these messages, and of mail no longer held, not taken before."""
        found = set(self.unheld)
        for message_id in gone_message_ids:
            found |= self.by_message_id.get(message_id, set())
        found -= self.taken
        self.taken |= found
        return found


def message_ids(head: bytes) -> set[str]:
    """The Message-ID(s) a raw message's header names, without angle brackets."""
    header = BytesHeaderParser(policy=policy.compat32).parsebytes(head)
    found: set[str] = set()
    for value in header.get_all("Message-ID") or []:
        text = str(value)
        found |= set(_ID_RE.findall(text)) or {text.strip().strip("<>")} - {""}
    return found


def _whole_header(session: Session, sha256: str, head: bytes) -> bytes:
    """The start of the bytes, or all of them when the header runs on past it."""
    if len(head) < HEAD_BYTES or b"\n\n" in head or b"\r\n\r\n" in head:
        return head
    blob = session.get(Blob, sha256)
    return blob.data if blob is not None else head


def _unreferenced() -> Select[Any]:
    """Blobs no row of any table points at, with the start of their bytes."""
    conditions = [
        not_(exists(select(link.column).where(link.column == Blob.sha256)))
        for link in links_to("blobs")
    ]
    return select(Blob.sha256, func.substr(Blob.data, 1, HEAD_BYTES)).where(and_(*conditions))


def _held(session: Session, ids: set[str]) -> bool:
    found = session.scalar(select(Message.id).where(Message.message_id.in_(list(ids))).limit(1))
    return found is not None
