"""`mailbag quarantine retry`: run quarantined messages through the pipeline again."""

from __future__ import annotations

from crm import quarantine
from crm.blobs import load_blob
from crm.db import Database
from crm.errors import NotFound
from crm.models import QuarantineEntry
from inbox.batches import Counts
from inbox.message import Source
from inbox.pipeline import Pipeline


def retry(database: Database, pipeline: Pipeline, entry_ids: list[int] | None = None) -> Counts:
    """Each entry in its own transaction: one that fails again stays, with attempts counted."""
    counts = Counts()
    for entry_id in _entry_ids(database, entry_ids):
        with database.session() as session:
            entry = session.get(QuarantineEntry, entry_id)
            if entry is None or entry.resolved_at is not None:
                continue
            outcome = pipeline.process(
                session, load_blob(session, entry.blob_sha256), _source(entry)
            )
            counts.add(outcome)
            if outcome.status != "quarantined":
                quarantine.resolve(entry)
    return counts


def _entry_ids(database: Database, wanted: list[int] | None) -> list[int]:
    with database.session() as session:
        pending = [entry.id for entry in quarantine.pending(session)]
    if wanted is None:
        return pending
    missing = sorted(set(wanted) - set(pending))
    if missing:
        raise NotFound(f"no quarantined message with id {missing[0]} waiting for a retry")
    return wanted


def _source(entry: QuarantineEntry) -> Source:
    folder = entry.folder or "import"
    if entry.uid is not None:
        return Source(folder=folder, uidvalidity=entry.uidvalidity, uid=entry.uid)
    return Source(folder=folder, path=entry.source)
