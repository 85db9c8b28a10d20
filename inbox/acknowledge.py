"""Step: queue the automatic acknowledgement of a case this message has just opened.

Only queued here, in the message's own transaction; the SMTP conversation happens after
the commit (`crm.outgoing.send.deliver_queued`), so a rolled-back message sends nothing.
"""

from __future__ import annotations

from crm.models import Case
from crm.outgoing.acknowledge import IncomingMail, acknowledge_case
from inbox.classify import is_bulk
from inbox.context import StepEnv
from inbox.message import MessageContext, ParsedMessage
from inbox.threading import message_time

IMPORTED = "import"


def acknowledge(ctx: MessageContext, env: StepEnv) -> None:
    if not ctx.opened_case or ctx.case_id is None:
        return
    assert ctx.parsed is not None and ctx.classification is not None
    case = env.session.get(Case, ctx.case_id)
    assert case is not None
    mail = IncomingMail(
        sender=ctx.constituent_address,
        kind=ctx.classification.kind.value,
        written_at=message_time(ctx, env),
        live=ctx.source.folder != IMPORTED,
        bulk=_bulk(ctx.parsed),
        campaign_duplicate=ctx.campaign_id is not None and not ctx.campaign_case,
        null_return_path=ctx.parsed.header("return-path").strip() == "<>",
    )
    result = acknowledge_case(env.session, env.settings, case, mail, env.now)
    ctx.notes.append(f"acknowledgement: {result.reason}")


def _bulk(parsed: ParsedMessage) -> str | None:
    """List or bulk mail, or a newsletter that offers to unsubscribe."""
    reason = is_bulk(parsed)
    if reason is None and "list-unsubscribe" in parsed.headers:
        return "header List-Unsubscribe"
    return reason
