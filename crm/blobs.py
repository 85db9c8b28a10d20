"""Content-addressed storage of raw bytes (messages and attachments)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

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


def store_blobs(session: Session, datas: Sequence[bytes]) -> list[str]:
    """Many at once, in one round trip: a batch of mail stores its raw bytes together.
    Returns each one's sha256, in the order given."""
    digests = [sha256_of(data) for data in datas]
    rows = {
        sha: {"sha256": sha, "size": len(data), "data": data}
        for sha, data in zip(digests, datas, strict=True)
    }
    insert_ignore(session, Blob, list(rows.values()))
    return digests


def load_blob(session: Session, sha256: str) -> bytes:
    blob = session.get(Blob, sha256)
    if blob is None:
        raise KeyError(sha256)
    return blob.data
