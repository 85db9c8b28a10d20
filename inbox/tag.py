"""Step: tag the message's case on the four axes, each value with the rule that set it."""

from __future__ import annotations

from crm.models import Case, Constituent
from crm.tags import service
from crm.tags.rulebook import rule_book
from inbox.context import StepEnv
from inbox.message import MessageContext
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
        new_case=ctx.opened_case,
        history=env.memo.later.tag_history if env.memo.later is not None else None,
    )


def _postcode(ctx: MessageContext, env: StepEnv) -> str | None:
    """The constituent's postcode: the writer's, else that of the person the case is for."""
    constituent_id = ctx.constituent_id
    if constituent_id is None:
        case = env.session.get(Case, ctx.case_id)
        constituent_id = case.constituent_id if case else None
    person = env.session.get(Constituent, constituent_id) if constituent_id else None
    return person.postcode if person else None
