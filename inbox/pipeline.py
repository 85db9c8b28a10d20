"""The pipeline: named steps in order, and the one boundary that never loses a message."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from crm import quarantine
from crm.quarantine import Failure
from crm.settings import Settings
from crm.types import utcnow
from inbox.acknowledge import acknowledge
from inbox.adopt import adopt, await_parents
from inbox.campaign import campaign
from inbox.classify import ClassifyContext, classify
from inbox.constituents import match_constituent
from inbox.context import BatchMemo, StepEnv
from inbox.dedupe import deduplicate, note_source
from inbox.followups import follow_ups
from inbox.message import MessageContext, Source
from inbox.outcomes import Duplicate, describe_error
from inbox.parse import parse
from inbox.parse_pool import Parsed, ParseFailure
from inbox.record import record
from inbox.store import store_raw
from inbox.tag import tag
from inbox.threading import thread

log = logging.getLogger(__name__)

Step = Callable[[MessageContext, StepEnv], None]


def parse_step(ctx: MessageContext, env: StepEnv) -> None:
    """Parse, unless a parse pool already did it for this message."""
    if ctx.parsed is None:
        ctx.parsed = parse(ctx.raw, max_attachment_bytes=env.settings.max_attachment_bytes)


def classify_step(ctx: MessageContext, env: StepEnv) -> None:
    assert ctx.parsed is not None
    rules_context = env.memo.get(
        ("classify context", ctx.source.folder),
        lambda: _with_directory(_for_source(env.classify, ctx.source, env), env),
    )
    ctx.classification = classify(ctx.parsed, rules_context)


STEPS: tuple[tuple[str, Step], ...] = (
    ("parse", parse_step),
    ("deduplicate", deduplicate),
    ("classify", classify_step),
    ("constituent", match_constituent),
    ("campaign", campaign),
    ("thread", thread),
    ("record", record),
    ("await_parents", await_parents),
    ("adopt", adopt),
    ("tag", tag),
    ("follow_ups", follow_ups),
    ("acknowledge", acknowledge),
)


# Steps before the first database write: their failures need no rollback.
WRITES_NOTHING = frozenset({"parse"})


class NeedsIsolation(Exception):
    """A step failed after writing in a batch without savepoints: redo the batch isolated."""


@dataclass(frozen=True)
class Outcome:
    """How one message ended: stored, duplicate or quarantined (with its failure)."""

    status: str
    ctx: MessageContext
    failure: Failure | None = None


class Pipeline:
    """Runs the steps for each message inside a savepoint of the caller's transaction."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.classify_context = ClassifyContext(
            folder_is_sent=False,
            office_addresses=settings.office_addresses,
            third_party_domains=settings.third_party_domains,
            staff_addresses=settings.staff_addresses,
        )

    def process(
        self,
        session: Session,
        raw: bytes,
        source: Source,
        *,
        isolated: bool = True,
        parsed: Parsed | None = None,
        memo: BatchMemo | None = None,
    ) -> Outcome:
        """Store raw first; a failing step rolls back only this message, then quarantines it.

        With `isolated=False` there is no savepoint: a failure after parsing raises
        NeedsIsolation and the caller redoes the batch isolated (the fast path is common).
        `memo` carries lookups from one message of a batch to the next.
        """
        memo = memo if memo is not None else BatchMemo()
        env = StepEnv(session, self.settings, self.classify_context, utcnow(), memo)
        ctx = MessageContext(raw=raw, source=source)
        store_raw(ctx, env)
        if isinstance(parsed, ParseFailure):
            failure = Failure("parse", f"{parsed.error_type}: {parsed.message}")
            self._quarantine(session, ctx, failure)
            return Outcome("quarantined", ctx, failure)
        ctx.parsed = parsed
        step_name = "start"
        written_later = memo.written_later()
        try:
            with session.begin_nested() if isolated else nullcontext():
                for name, step in STEPS:
                    step_name = name
                    step(ctx, env)
        except Duplicate:
            note_source(ctx, env)
            return Outcome("duplicate", ctx)
        except (OperationalError, InterfaceError):
            raise  # the database itself is gone: the whole batch must be retried
        except Exception as error:  # the shunt boundary: any bug or bad input is quarantined
            if not isolated and step_name not in WRITES_NOTHING:
                raise NeedsIsolation(step_name) from error
            memo.values.clear()  # the savepoint's rollback may have undone what it remembers
            if isolated:
                _forget_rolled_back(session, memo, written_later)
            failure = Failure(step_name, describe_error(error))
            self._quarantine(session, ctx, failure)
            return Outcome("quarantined", ctx, failure)
        return Outcome("stored", ctx)

    def _quarantine(self, session: Session, ctx: MessageContext, failure: Failure) -> None:
        log.warning("quarantined %s at step %s", ctx.sha256[:12], failure.step)
        quarantine.hold(
            session,
            blob_sha256=ctx.sha256,
            failure=failure,
            source=ctx.source.describe(),
            folder=ctx.source.folder,
            uidvalidity=ctx.source.uidvalidity,
            uid=ctx.source.uid,
        )


def _forget_rolled_back(session: Session, memo: BatchMemo, before: tuple[int, ...]) -> None:
    """After a savepoint's rollback, let the session load afresh whatever it needs next.

    Rows written straight to the connection (crm.db.insert_loaded, crm.cases.touch) were
    never part of a flush, so the rollback leaves them in the session as if they were still
    stored: a case's last activity would stay moved, and a new row that SQLite gives the
    same rowid would clash with the ghost of the rolled-back one. The savepoint began with a
    flush, so nothing unwritten is lost.
    """
    memo.held.clear()
    session.expunge_all()
    memo.forget_since(before)  # and what it gave to be written later goes too


def _with_directory(base: ClassifyContext, env: StepEnv) -> ClassifyContext:
    """The directory's addresses and domains, read once per batch."""
    addresses, domains = env.directory()
    return replace(base, directory_addresses=addresses, directory_domains=domains)


def _for_source(base: ClassifyContext, source: Source, env: StepEnv) -> ClassifyContext:
    """Mail found in a Sent folder is outgoing whoever the From header names."""
    is_sent = source.folder in env.settings.imap_sent_folders or source.imported_from_sent
    if is_sent == base.folder_is_sent:
        return base
    return ClassifyContext(
        folder_is_sent=is_sent,
        office_addresses=base.office_addresses,
        third_party_domains=base.third_party_domains,
        staff_addresses=base.staff_addresses,
    )
