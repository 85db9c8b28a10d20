"""Step: a message already stored (by Message-ID, else by hash) is only noted where seen."""

from __future__ import annotations

from crm import correspondence
from crm.models import Message
from inbox.context import StepEnv
from inbox.message import MessageContext
from inbox.outcomes import Duplicate
from inbox.prefetch import HELD_KEYS


def deduplicate(ctx: MessageContext, env: StepEnv) -> None:
    assert ctx.parsed is not None
    key = correspondence.dedupe_key(ctx.parsed.message_id, ctx.sha256)
    held: set[str] | None = env.memo.values.get(HELD_KEYS)
    if held is not None and key not in held:
        held.add(key)  # a second copy later in the same batch is looked up
        return
    existing = correspondence.find_duplicate(env.session, key)
    if existing is None:
        return
    ctx.message_pk, ctx.case_id = existing.id, existing.case_id
    raise Duplicate(key)


def note_source(ctx: MessageContext, env: StepEnv) -> None:
    """Remember another place a held message was seen (run after the step's savepoint)."""
    existing = env.session.get(Message, ctx.message_pk)
    assert existing is not None
    correspondence.record_source(
        env.session,
        existing,
        folder=ctx.source.folder,
        uidvalidity=ctx.source.uidvalidity,
        uid=ctx.source.uid,
        path=ctx.source.path,
    )
