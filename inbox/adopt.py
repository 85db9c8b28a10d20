"""Steps: a message left without a case waits for the mail it answers; that mail adopts it.

See crm/late_parents.py for why replies can arrive before what they answer.
"""

from __future__ import annotations

from crm import late_parents
from crm.models import Case
from inbox.classify import bounced_message_ids, is_report
from inbox.context import StepEnv
from inbox.message import Kind, MessageContext
from inbox.prefetch import AWAITED, THREADS
from inbox.thread_index import ThreadIndex

WAITING_KINDS = {Kind.THIRD_PARTY, Kind.AUTO_REPLY, Kind.BOUNCE, Kind.OUTGOING}


def await_parents(ctx: MessageContext, env: StepEnv) -> None:
    """Remember what an unthreaded reply names, so its parent can adopt it later."""
    assert ctx.parsed is not None and ctx.classification is not None
    if ctx.case_id is not None or ctx.message_pk is None:
        return
    if ctx.classification.kind not in WAITING_KINDS:
        return  # constituent mail without a case is a campaign letter: it stays with the campaign
    named = [*ctx.parsed.references, *ctx.parsed.in_reply_to]
    if ctx.classification.kind is Kind.BOUNCE or is_report(ctx.parsed):
        named += bounced_message_ids(ctx.raw)
    if not named:
        return
    wanted = late_parents.await_parents(env.session, ctx.message_pk, named)
    known: set[str] | None = env.memo.values.get(AWAITED)
    if known is not None:
        known.update(wanted)


def adopt(ctx: MessageContext, env: StepEnv) -> None:
    """A message that found its case takes along the replies that were waiting for it."""
    assert ctx.parsed is not None
    message_id = ctx.parsed.message_id
    if ctx.case_id is None or not message_id:
        return
    known: set[str] | None = env.memo.values.get(AWAITED)
    if known is not None and message_id not in known:
        return  # the batch asked once: nothing waits for this one
    case = env.session.get(Case, ctx.case_id)
    assert case is not None
    adopted = late_parents.adopt(env.session, env.settings, case, message_id)
    index: ThreadIndex | None = env.memo.values.get(THREADS)
    if index is not None:  # these now have a case: later replies to them join it too
        for child in adopted:
            index.note(child.message_id, child.id, case.id)
    if adopted:
        ctx.notes.append(f"replies that arrived first, now on this case: {len(adopted)}")
