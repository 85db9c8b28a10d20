"""Step: a message already stored (by Message-ID, else by hash) is only noted where seen."""

from __future__ import annotations

from crm import correspondence
from crm.models import Message
from inbox.context import StepEnv
from inbox.message import MessageContext, ParsedMessage
from inbox.outcomes import Duplicate
from inbox.prefetch import HELD_KEYS
from inbox.record import seen_again


def deduplicate(ctx: MessageContext, env: StepEnv) -> None:
    assert ctx.parsed is not None
    key = ctx.dedupe_key = correspondence.dedupe_key(ctx.parsed.message_id, ctx.sha256)
    held: set[str] | None = env.memo.values.get(HELD_KEYS)
    if held is not None and key not in held:
        held.add(key)  # a second copy later in the same batch is looked up
        return
    existing = correspondence.find_duplicate(env.session, key)
    if existing is not None and ctx.parsed.message_id and not _same_message(existing, ctx.parsed):
        # Another message under a Message-ID already held: stored, never taken for a copy.
        key = ctx.dedupe_key = correspondence.collision_key(ctx.parsed.message_id, ctx.sha256)
        existing = correspondence.find_duplicate(env.session, key)
    if existing is None:
        return
    ctx.message_pk, ctx.case_id = existing.id, existing.case_id
    raise Duplicate(key)


def _same_message(held: Message, parsed: ParsedMessage) -> bool:
    """Copies of one message share sender, subject and words; transport may add a banner."""
    sender = parsed.sender.email if parsed.sender else ""
    if sender[:320] != held.from_address or _words(parsed.subject) != _words(held.subject):
        return False
    new, old = _words(parsed.text)[:BODY_COMPARED], _words(held.body_text)[:BODY_COMPARED]
    return new in old or old in new


def _words(text: str) -> str:
    return " ".join(text.split())


BODY_COMPARED = 20_000


def note_source(ctx: MessageContext, env: StepEnv) -> None:
    """Remember another place a held message was seen (run after the step's savepoint)."""
    assert ctx.message_pk is not None
    seen_again(env, ctx.message_pk, ctx.source)
