"""Step: tag the message's case on the four axes, each value with the rule that set it."""

from __future__ import annotations

from crm.models import Case, Constituent
from crm.tags import service
from crm.tags.models import CaseTag
from crm.tags.rulebook import rule_book
from inbox.context import StepEnv
from inbox.message import MessageContext
from inbox.prefetch import CASE_TAG_ROWS
from inbox.threading import message_time
from tagging.features import MessageFeatures


def tag(ctx: MessageContext, env: StepEnv) -> None:
    if ctx.case_id is None:
        return
    assert ctx.parsed is not None and ctx.classification is not None
    parsed = ctx.parsed
    features = MessageFeatures(
        subject=parsed.subject,
        text=parsed.text,
        sender=parsed.sender.email if parsed.sender else "",
        attachment_types=tuple(a.content_type for a in parsed.attachments),
        kind=ctx.classification.kind.value,
        postcode=_postcode(ctx, env),
    )
    book = env.memo.get("rule book", lambda: rule_book(env.session, env.settings))
    service.apply_rules(
        env.session,
        ctx.case_id,
        features,
        env.settings,
        message_time(ctx, env),
        book=book,
        rows=_tag_rows(ctx, env),
        history=env.memo.later.tag_history if env.memo.later is not None else None,
    )


def _tag_rows(ctx: MessageContext, env: StepEnv) -> list[CaseTag] | None:
    """A new case has none yet; a case read before the batch, those rows, for its first
    message only (tagging changes them: a second message on it reads them again); else
    None: read them now."""
    if ctx.opened_case:
        return []
    read: dict[int, list[CaseTag]] | None = env.memo.values.get(CASE_TAG_ROWS)
    return read.pop(ctx.case_id, None) if read is not None and ctx.case_id is not None else None


def _postcode(ctx: MessageContext, env: StepEnv) -> str | None:
    """The constituent's postcode: the writer's, else that of the person the case is for."""
    constituent_id = ctx.constituent_id
    if constituent_id is None:
        case = env.session.get(Case, ctx.case_id)
        constituent_id = case.constituent_id if case else None
    person = env.session.get(Constituent, constituent_id) if constituent_id else None
    return person.postcode if person else None
