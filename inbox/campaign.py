"""Step: a new constituent letter that many others also sent joins their campaign.

Replies in a conversation (In-Reply-To, References, our case reference) are never campaign
letters: they belong to the case they answer.
"""

from __future__ import annotations

from crm.campaigns import service
from crm.campaigns.service import Letter
from inbox.context import StepEnv
from inbox.message import Kind, MessageContext
from inbox.prefetch import OPEN_CASES
from inbox.subjects import find_reference
from inbox.threading import message_time


def campaign(ctx: MessageContext, env: StepEnv) -> None:
    assert ctx.parsed is not None and ctx.classification is not None
    parsed = ctx.parsed
    if ctx.classification.kind is not Kind.CONSTITUENT or ctx.constituent_id is None:
        return
    if parsed.in_reply_to or parsed.references:
        return
    if find_reference(parsed.subject, env.settings.case_prefix):
        return
    letter = Letter(
        message_key=ctx.dedupe_key,
        constituent_id=ctx.constituent_id,
        subject=parsed.subject,
        text=parsed.text,
        sender_name=parsed.sender.name if parsed.sender else "",
        written_at=message_time(ctx, env),
    )
    joined = service.consider(env.session, env.settings, letter)
    if joined is not None:
        env.memo.values.pop(OPEN_CASES, None)  # joining may close earlier copies' cases
        ctx.campaign_id, ctx.campaign_case = joined.campaign_id, joined.kept_as_case
        ctx.notes.append(joined.reason)
