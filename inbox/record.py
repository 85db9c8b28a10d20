"""Step: write the message, its attachments, its source and its timeline entry."""

from __future__ import annotations

from crm import correspondence
from crm.correspondence import NewMessage, StoredAttachment
from crm.models import Case
from inbox.context import StepEnv
from inbox.message import Kind, MessageContext, Source
from inbox.prefetch import THREADS
from inbox.thread_index import ThreadIndex
from inbox.threading import message_time


def record(ctx: MessageContext, env: StepEnv) -> None:
    assert ctx.parsed is not None and ctx.classification is not None
    case = env.session.get(Case, ctx.case_id) if ctx.case_id is not None else None
    message = correspondence.record_message(
        env.session,
        _new_message(ctx),
        case=case,
        constituent_id=ctx.constituent_id,
        thread_reason=ctx.thread_reason,
        received_at=env.now,
        occurred_at=message_time(ctx, env),
        later=env.memo.later,
    )
    ctx.message_pk = message.id
    index: ThreadIndex | None = env.memo.values.get(THREADS)
    if index is not None:
        index.note(message.message_id, message.id, ctx.case_id)
    row = _source_row(message.id, ctx.source)
    if not _seen_later(env, row):
        correspondence.record_first_source(env.session, row)


def seen_again(env: StepEnv, message_pk: int, source: Source) -> None:
    """A message already held was seen here too (a copy in Sent, a file imported again)."""
    row = _source_row(message_pk, source)
    if not _seen_later(env, row):
        correspondence.record_source(env.session, row)


def _source_row(message_pk: int, source: Source) -> correspondence.SourceRow:
    return correspondence.source_values(
        message_pk,
        folder=source.folder,
        uidvalidity=source.uidvalidity,
        uid=source.uid,
        path=source.path,
    )


def _seen_later(env: StepEnv, row: correspondence.SourceRow) -> bool:
    """In a batch, a folder and UID wait to be written with the others at its end (one
    statement instead of one per message); a file's path is looked up, so it goes at once."""
    if env.memo.later is None or row["uid"] is None:
        return False
    env.memo.later.sources.append(row)
    return True


def _new_message(ctx: MessageContext) -> NewMessage:
    assert ctx.parsed is not None and ctx.classification is not None
    parsed, kind = ctx.parsed, ctx.classification.kind
    return NewMessage(
        dedupe_key=ctx.dedupe_key,
        blob_sha256=ctx.sha256,
        message_id=parsed.message_id,
        direction="out" if kind is Kind.OUTGOING else "in",
        kind=kind.value,
        kind_reasons=list(ctx.classification.reasons),
        from_address=parsed.sender.email if parsed.sender else "",
        from_name=parsed.sender.name if parsed.sender else "",
        to_addresses=[a.email for a in [*parsed.to, *parsed.cc]],
        subject=parsed.subject,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        sent_at=parsed.date,
        body_text=parsed.text,
        body_html=parsed.html,
        defects=parsed.defects,
        attachments=[
            StoredAttachment(a.filename, a.content_type, a.payload) for a in parsed.attachments
        ],
    )
