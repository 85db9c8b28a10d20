"""Content-addressed storage of raw bytes (messages and attachments)."""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from crm.db import insert_ignore
from crm.models import Blob


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def store_blob(session: Session, data: bytes, sha256: str | None = None) -> str:
    """Keep the bytes once, whoever stores them how often; return their sha256."""
    digest = sha256 or sha256_of(data)
    insert_ignore(session, Blob, {"sha256": digest, "size": len(data), "data": data})
    return digest


def load_blob(session: Session, sha256: str) -> bytes:
    blob = session.get(Blob, sha256)
    if blob is None:
        raise KeyError(sha256)
    return blob.data
