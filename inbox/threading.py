"""Step: find the case a message belongs to, in order of certainty, or open a new one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from crm import cases
from crm.followups import references
from crm.models import Case
from inbox.classify import bounced_message_ids, is_report
from inbox.context import StepEnv
from inbox.message import Kind, MessageContext
from inbox.prefetch import OPEN_CASES, THREADS
from inbox.subjects import (
    find_reference,
    find_reference_in_body,
    find_third_party_reference,
    normalise_subject,
)
from inbox.thread_index import OpenCases, ThreadIndex

Finder = Callable[[MessageContext, StepEnv], tuple[Case, str] | None]

OPENS_CASES = {Kind.CONSTITUENT, Kind.OUTGOING}


def by_reference(ctx: MessageContext, env: StepEnv) -> tuple[Case, str] | None:
    """Our own token, e.g. [MB-2026-000123], in the subject, then in the body."""
    assert ctx.parsed is not None
    prefix = env.settings.case_prefix
    for where, found in (
        ("subject", find_reference(ctx.parsed.subject, prefix)),
        ("body", find_reference_in_body(ctx.parsed.text, prefix)),
    ):
        case = cases.by_reference(env.session, found) if found else None
        if case is not None:
            return case, f"case reference {found} in the {where}"
    return None


def by_in_reply_to(ctx: MessageContext, env: StepEnv) -> tuple[Case, str] | None:
    """The message this one answers, named by the sender's own mail program: most precise."""
    assert ctx.parsed is not None
    case = _case_named(env, ctx.parsed.in_reply_to)
    return (case, "In-Reply-To names a message on this case") if case else None


def by_references(ctx: MessageContext, env: StepEnv) -> tuple[Case, str] | None:
    """Any earlier message of the conversation, for replies whose In-Reply-To we lack."""
    assert ctx.parsed is not None
    case = _case_named(env, ctx.parsed.references)
    return (case, "References names a message on this case") if case else None


def _case_named(env: StepEnv, message_ids: Sequence[str]) -> Case | None:
    """The case of the newest message named: from the batch's index when it was asked."""
    index: ThreadIndex | None = env.memo.values.get(THREADS)
    named = list(message_ids)[-cases.NAMED_LOOKED_AT :]
    if index is None or not index.knows(named):
        return cases.by_message_ids(env.session, named)
    case_id = index.case_of(named)
    return env.session.get(Case, case_id) if case_id is not None else None


def by_third_party_reference(ctx: MessageContext, env: StepEnv) -> tuple[Case, str] | None:
    """The sender's own reference ("Our ref: MPC/123456"), recorded from its first reply."""
    assert ctx.parsed is not None and ctx.classification is not None
    if ctx.classification.kind is Kind.OUTGOING or ctx.parsed.sender is None:
        return None
    if not env.may_be_party(ctx.parsed.sender.email):  # only a third party's is recorded
        return None
    for text in (ctx.parsed.subject, ctx.parsed.text):
        found = find_third_party_reference(text)
        case = (
            references.case_for_reference(
                env.session, env.settings, sender=ctx.parsed.sender.email, reference=found
            )
            if found
            else None
        )
        if case is not None:
            return case, f"the sender's own reference {found} is recorded on this case"
    return None


def by_bounced_message(ctx: MessageContext, env: StepEnv) -> tuple[Case, str] | None:
    """A bounce, or a delivery or read receipt, names the message it reports on."""
    assert ctx.classification is not None and ctx.parsed is not None
    kind = ctx.classification.kind
    if not (kind is Kind.BOUNCE or (kind is Kind.AUTO_REPLY and is_report(ctx.parsed))):
        return None
    case = cases.by_message_ids(env.session, bounced_message_ids(ctx.raw))
    what = "bounce" if kind is Kind.BOUNCE else "receipt"
    return (case, f"{what} of a message sent on this case") if case else None


def by_subject(ctx: MessageContext, env: StepEnv) -> tuple[Case, str] | None:
    """The same person's open case on the same subject, for replies that lost their headers."""
    assert ctx.parsed is not None and ctx.classification is not None
    if ctx.classification.kind not in OPENS_CASES or ctx.constituent_id is None:
        return None
    if ctx.new_constituent:  # someone first heard from in this message has no case yet
        return None
    key = normalise_subject(ctx.parsed.subject)
    case = _open_case_on(env, ctx.constituent_id, key)
    return (case, "same constituent's open case with the same subject") if case else None


def _open_case_on(env: StepEnv, constituent_id: int, subject_key: str) -> Case | None:
    """Their newest open case on the subject: from the batch's index when it knows them."""
    if not subject_key:
        return None
    index: OpenCases | None = env.memo.values.get(OPEN_CASES)
    if index is None or not index.knows(constituent_id):
        return cases.open_case_on_subject(env.session, constituent_id, subject_key)
    case_id = index.case_on(constituent_id, subject_key[: cases.SUBJECT_KEY_LENGTH])
    return env.session.get(Case, case_id) if case_id is not None else None


FINDERS: tuple[Finder, ...] = (
    by_in_reply_to,
    by_reference,
    by_references,
    by_third_party_reference,
    by_bounced_message,
    by_subject,
)


def thread(ctx: MessageContext, env: StepEnv) -> None:
    assert ctx.parsed is not None and ctx.classification is not None
    for finder in FINDERS:
        found = finder(ctx, env)
        if found is not None:
            case, ctx.thread_reason = found
            ctx.case_id = env.memo.hold(case).id
            _reopen_if_constituent_writes(ctx, env, case)
            return
    if ctx.campaign_id is not None and not ctx.campaign_case:
        ctx.thread_reason = f"part of campaign {ctx.campaign_id}: no case of its own"
        return
    if ctx.classification.kind in OPENS_CASES and ctx.constituent_id is not None:
        case = cases.open_case(
            env.session,
            prefix=env.settings.case_prefix,
            subject=ctx.parsed.subject,
            subject_key=normalise_subject(ctx.parsed.subject),
            constituent_id=ctx.constituent_id,
            opened_at=message_time(ctx, env),
            numbers=env.memo.numbers,
        )
        ctx.case_id, ctx.thread_reason = env.memo.hold(case).id, f"new case {case.reference}"
        ctx.opened_case = True
        _note_open(env, case, new_person=ctx.new_constituent)
        return
    ctx.thread_reason = "no case found: kept in the not-casework list"


def _reopen_if_constituent_writes(ctx: MessageContext, env: StepEnv, case: Case) -> None:
    assert ctx.classification is not None
    if case.status == cases.CLOSED and ctx.classification.kind is Kind.CONSTITUENT:
        cases.set_status(env.session, case, cases.OPEN, "reopened: the constituent wrote again")
        _note_open(env, case)


def _note_open(env: StepEnv, case: Case, new_person: bool = False) -> None:
    """Keep the batch's index of open cases as the database now has them. Someone first
    heard from in this batch had no case before it: the index knows all of theirs."""
    index: OpenCases | None = env.memo.values.get(OPEN_CASES)
    if index is None or case.constituent_id is None:
        return
    if new_person:
        index.people.add(case.constituent_id)
    index.opened(case.constituent_id, case.subject_key, case.id)


def message_time(ctx: MessageContext, env: StepEnv) -> datetime:
    """The Date header when it is believable, else the time we received the message."""
    assert ctx.parsed is not None
    date = ctx.parsed.date
    if date is None or date > env.now + timedelta(days=1) or date.year < 1990:
        return env.now
    return date
