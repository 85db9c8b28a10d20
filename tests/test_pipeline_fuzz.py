"""Mutated and truncated MIME through the whole pipeline: no crash, nothing silently dropped."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from crm.blobs import sha256_of
from crm.db import Database
from crm.models import Blob, Message, QuarantineEntry
from inbox.message import Source
from inbox.pipeline import Pipeline

CORPUS = sorted((Path(__file__).parent / "data" / "corpus").glob("*.eml"))
SEEDS = [path.read_bytes() for path in CORPUS]


@st.composite
def mutated_mail(draw: st.DrawFn) -> bytes:
    """A corpus message cut, spliced, bit-flipped or stuffed with hostile bytes."""
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "splice"]))
        at = draw(st.integers(0, max(len(raw) - 1, 0)))
        if operation == "truncate":
            del raw[at:]
        elif operation == "flip" and raw:
            raw[at] ^= draw(st.integers(1, 255))
        elif operation == "insert":
            raw[at:at] = draw(
                st.sampled_from(
                    [b"\x00", b"\r\n\r\n", b"--", b"=?utf-8?B?", b"\xff\xfe", b"\n\t", b"boundary="]
                )
            )
        elif operation == "delete":
            del raw[at : at + draw(st.integers(1, 64))]
        else:
            raw[at:at] = draw(st.sampled_from(SEEDS))[: draw(st.integers(0, 400))]
    return bytes(raw)


def assert_kept(database: Database, raw: bytes, status: str) -> None:
    """Stored as a message (or already held), or quarantined with its raw bytes: never lost."""
    digest = sha256_of(raw)
    with database.session() as session:
        assert session.get(Blob, digest) is not None
        held = session.scalar(select(Message.id).where(Message.blob_sha256 == digest))
        quarantined = session.scalar(
            select(QuarantineEntry.id).where(QuarantineEntry.blob_sha256 == digest)
        )
    if status == "stored":
        assert held is not None
    elif status == "quarantined":
        assert quarantined is not None


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=mutated_mail())
def test_mutated_mail_is_stored_or_quarantined(database: Database, pipeline: Pipeline, raw: bytes):
    with database.session() as session:
        outcome = pipeline.process(session, raw, Source("INBOX", uidvalidity=1, uid=1))
    assert outcome.status in {"stored", "duplicate", "quarantined"}
    assert_kept(database, raw, outcome.status)
