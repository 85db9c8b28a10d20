"""Messages go through the pipeline in batches: one transaction, one commit, one checkpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from crm.casenumbers import NumberBlock
from crm.db import Database
from crm.heldback import holding_back
from crm.later import WrittenLater
from inbox.context import BatchMemo
from inbox.message import Source
from inbox.parse_pool import Parsed
from inbox.pipeline import Outcome, Pipeline
from inbox.prefetch import prefetch


@dataclass
class Counts:
    """What a run did, for the command line and the logs (no personal data)."""

    stored: int = 0
    duplicate: int = 0
    quarantined: int = 0
    refused: int = 0  # by the mail server: remembered and asked for again (crm.checkpoints)

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)

    def __iadd__(self, other: Counts) -> Counts:
        self.stored += other.stored
        self.duplicate += other.duplicate
        self.quarantined += other.quarantined
        self.refused += other.refused
        return self

    @property
    def total(self) -> int:
        return self.stored + self.duplicate + self.quarantined + self.refused

    def describe(self) -> str:
        refused = f", {self.refused} not given by the mail server" if self.refused else ""
        return (
            f"{self.total} messages: {self.stored} new, {self.duplicate} already held, "
            f"{self.quarantined} quarantined{refused}"
        )


def run_batch(
    database: Database,
    pipeline: Pipeline,
    items: Iterable[tuple[bytes, Source]],
    before_commit: Callable[[Session], None] | None = None,
    parsed: Sequence[Parsed] | None = None,
) -> Counts:
    """Process the batch and commit it together with whatever `before_commit` records.

    First without savepoints, new rows held back (fast); if a message fails after writing,
    or a held row is refused when written, the whole batch is rolled back and redone with a
    savepoint per message and every row written at once, so only that one is quarantined.
    """
    batch = list(items)
    results: Sequence[Parsed | None] = parsed if parsed is not None else [None] * len(batch)
    try:
        return _run(database, pipeline, batch, results, before_commit, isolated=False)
    except (OperationalError, InterfaceError):
        raise  # the database itself is gone: the whole batch must be retried
    except Exception:  # NeedsIsolation, or a held row refused wherever it was written
        return _run(database, pipeline, batch, results, before_commit, isolated=True)


def _run(
    database: Database,
    pipeline: Pipeline,
    batch: list[tuple[bytes, Source]],
    parsed: Sequence[Parsed | None],
    before_commit: Callable[[Session], None] | None,
    *,
    isolated: bool,
) -> Counts:
    counts = Counts()
    later = WrittenLater()
    # Without savepoints a failure rolls back the whole batch: numbers may be taken ahead.
    numbers = None if isolated else NumberBlock(len(batch))
    memo = BatchMemo(later=later, numbers=numbers)
    with database.session() as session, _holding(session, len(batch), isolated):
        prefetch(
            session, memo, [(raw, result) for (raw, _), result in zip(batch, parsed, strict=True)]
        )
        for (raw, source), result in zip(batch, parsed, strict=True):
            outcome = pipeline.process(
                session, raw, source, isolated=isolated, parsed=result, memo=memo
            )
            counts.add(outcome)
        later.write(session)
        if numbers is not None:
            numbers.settle(session)
        if before_commit is not None:
            before_commit(session)
    return counts


def _holding(session: Session, size: int, isolated: bool) -> AbstractContextManager[object]:
    """New rows are held back and written together (crm.heldback), unless the batch is
    being redone message by message: a message's savepoint must hold its own rows."""
    return nullcontext() if isolated else holding_back(session, size)
