"""Messages go through the pipeline in batches: one transaction, one commit, one checkpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from crm.db import Database
from inbox.message import Source
from inbox.pipeline import Outcome, Pipeline


@dataclass
class Counts:
    """What a run did, for the command line and the logs (no personal data)."""

    stored: int = 0
    duplicate: int = 0
    quarantined: int = 0

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)

    def __iadd__(self, other: Counts) -> Counts:
        self.stored += other.stored
        self.duplicate += other.duplicate
        self.quarantined += other.quarantined
        return self

    @property
    def total(self) -> int:
        return self.stored + self.duplicate + self.quarantined

    def describe(self) -> str:
        return (
            f"{self.total} messages: {self.stored} new, {self.duplicate} already held, "
            f"{self.quarantined} quarantined"
        )


def run_batch(
    database: Database,
    pipeline: Pipeline,
    items: Iterable[tuple[bytes, Source]],
    before_commit: Callable[[Session], None] | None = None,
) -> Counts:
    """Process the batch and commit it together with whatever `before_commit` records."""
    counts = Counts()
    with database.session() as session:
        for raw, source in items:
            counts.add(pipeline.process(session, raw, source))
        if before_commit is not None:
            before_commit(session)
    return counts
