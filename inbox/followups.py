"""Step: our own mail to a third party opens a follow-up; their reply satisfies it.

Also records the third party's own reference ("Our ref: MPC/123456") from their reply, so
that later mail quoting only that reference threads to the case.
"""

from __future__ import annotations

from crm.followups import references, service
from inbox.classify import is_bulk
from inbox.context import StepEnv
from inbox.message import Kind, MessageContext, ParsedMessage
from inbox.subjects import find_reference_in_body, find_third_party_reference
from inbox.threading import message_time

IMPORTED = "import"  # old correspondence from files is history: nothing to wait for now


def follow_ups(ctx: MessageContext, env: StepEnv) -> None:
    if ctx.case_id is None or ctx.message_pk is None:
        return
    assert ctx.parsed is not None and ctx.classification is not None
    kind = ctx.classification.kind
    if kind is Kind.OUTGOING and ctx.source.folder != IMPORTED:
        _opened(ctx, env)
    elif kind in (Kind.THIRD_PARTY, Kind.CONSTITUENT) and not _bulk(ctx.parsed):
        _answered(ctx, env)


def _opened(ctx: MessageContext, env: StepEnv) -> None:
    assert ctx.parsed is not None and ctx.case_id is not None
    recipients = [a.email for a in [*ctx.parsed.to, *ctx.parsed.cc] if not env.is_office(a.email)]
    opened = service.on_message_out(
        env.session,
        env.settings,
        ctx.case_id,
        recipients=recipients,
        sent_at=message_time(ctx, env),
        message_pk=ctx.message_pk,
        now=env.now,
    )
    if opened:
        ctx.notes.append(f"follow-ups opened: {len(opened)}")


def _answered(ctx: MessageContext, env: StepEnv) -> None:
    """A third party's reply (a directory body writing from a non-government domain too)."""
    assert ctx.parsed is not None and ctx.case_id is not None and ctx.message_pk is not None
    sender = ctx.parsed.sender.email if ctx.parsed.sender else ""
    if not sender or not env.may_be_party(sender):  # nobody waits for it, no reference to keep
        return
    written = message_time(ctx, env)
    # a case this message has just opened waits for nobody yet
    satisfied = (
        []
        if ctx.opened_case
        else service.satisfy_by_message(
            env.session,
            env.settings,
            ctx.case_id,
            sender=sender,
            message_pk=ctx.message_pk,
            written_at=written,
        )
    )
    if satisfied:
        ctx.notes.append(f"follow-ups satisfied: {len(satisfied)}")
    reference = quoted_reference(ctx.parsed, env.settings.case_prefix)
    if reference is not None:
        references.record_reference(
            env.session,
            env.settings,
            ctx.case_id,
            sender=sender,
            reference=reference,
            message_pk=ctx.message_pk,
            when=written,
        )


def quoted_reference(parsed: ParsedMessage, case_prefix: str) -> str | None:
    """The sender's own reference in the subject or body, never our case reference."""
    for text in (parsed.subject, parsed.text):
        found = find_third_party_reference(text)
        if found is not None and find_reference_in_body(found, case_prefix) is None:
            return found
    return None


def _bulk(parsed: ParsedMessage) -> bool:
    """Newsletters and list mail never count as a reply."""
    return is_bulk(parsed) is not None or "list-unsubscribe" in parsed.headers
