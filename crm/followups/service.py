"""Open a follow-up when we write to a third party; satisfy, extend or cancel it.

Letters sent from Mailbag open one from `crm.outgoing.send` (see `on_letter_sent`); a
caseworker's own email found in the Sent folder opens one from the pipeline
(`on_message_out`). A reply threaded to the case from the same party satisfies it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.errors import NotFound
from crm.followups import grace as grace_rules
from crm.followups.errors import FollowUpError
from crm.followups.models import (
    ACTIVE,
    AWAITING_APPROVAL,
    CANCELLED,
    CHASED,
    OPEN,
    RESERVED,
    SATISFIED,
    UNKNOWN,
    WITHDRAWN,
    ChaseAttempt,
    FollowUp,
)
from crm.followups.parties import Party, party_for
from crm.letters.dates import uk_long_date
from crm.models import Case, Message, TimelineEntry
from crm.outgoing.models import OutboxLetter
from crm.settings import Settings

TIMELINE_KIND = "follow_up"
CHASE_KINDS = frozenset({"chase"})  # our chases belong to the follow-up they chase
REPLY_KINDS = ("third_party", "constituent")  # never auto-replies or bounces
CLOCK_SKEW = timedelta(minutes=10)  # their Date header may run a little behind ours


def on_letter_sent(
    session: Session, settings: Settings, letter: OutboxLetter, message: Message, now: datetime
) -> FollowUp | None:
    """A letter from Mailbag to a third party was accepted: wait for its reply."""
    if letter.kind in CHASE_KINDS:
        return None
    case = session.get(Case, letter.case_id)
    if case is None:
        return None
    return open_follow_up(
        session, settings, case, address=letter.recipient, sent_at=now, message_pk=message.id
    )


def on_message_out(
    session: Session,
    settings: Settings,
    case_id: int,
    *,
    recipients: Sequence[str],
    sent_at: datetime,
    message_pk: int | None,
    now: datetime,
) -> list[FollowUp]:
    """A caseworker's own email to third parties (found in Sent): one follow-up per party."""
    case = session.get(Case, case_id)
    if case is None:
        return []
    opened = []
    for address in dict.fromkeys(a.strip().lower() for a in recipients):
        follow_up = open_follow_up(
            session,
            settings,
            case,
            address=address,
            sent_at=sent_at,
            message_pk=message_pk,
            now=now,
        )
        if follow_up is not None:
            opened.append(follow_up)
    return opened


def open_follow_up(
    session: Session,
    settings: Settings,
    case: Case,
    *,
    address: str,
    sent_at: datetime,
    message_pk: int | None,
    now: datetime | None = None,
) -> FollowUp | None:
    """Due = sent + grace; None when the address is no third party or one is already live."""
    party = party_for(session, settings, address)
    if party is None or _live(session, case.id, party.key) is not None:
        return None
    grace = grace_rules.grace_for(session, settings, case.id, party.organisation)
    due = grace_rules.add_days(sent_at, grace.days, grace.working_days)
    recorded = now or sent_at
    follow_up = FollowUp(
        case_id=case.id,
        organisation_id=party.organisation.id if party.organisation else None,
        party_key=party.key,
        party_address=address.strip().lower(),
        opened_by_message_pk=message_pk,
        opened_at=sent_at,
        recorded_at=max(recorded, sent_at),
        due_at=due,
        grace_days=grace.days,
        working_days=grace.working_days,
        grace_source=grace.source[:200],
        status=OPEN,
        # Learnt of only after it fell due (old Sent mail): a person approves the first chase.
        needs_approval=due < recorded,
    )
    try:
        with session.begin_nested():
            session.add(follow_up)
            session.flush()
    except IntegrityError:  # a twin opened it at the same moment
        return None
    annotate(
        session,
        case.id,
        message_pk,
        sent_at,
        f"waiting for a reply from {party.name}: due {uk_long_date(due)} "
        f"({grace.days} {grace.unit()}, {grace.source})",
    )
    earlier = _reply_since(session, settings, case.id, party, sent_at)
    if earlier is not None:
        _satisfy(session, follow_up, earlier, party.name, sent_at)
    return follow_up


def satisfy_by_message(
    session: Session,
    settings: Settings,
    case_id: int,
    *,
    sender: str,
    message_pk: int,
    written_at: datetime,
) -> list[FollowUp]:
    """A reply from the party (not an auto-reply, bounce or bulk mail: the caller checks)."""
    if not _any_live(session, case_id):  # most cases wait for nobody: one cheap query
        return []
    party = party_for(session, settings, sender)
    if party is None:
        return []
    live = _live(session, case_id, party.key)
    if live is None or written_at < live.opened_at - CLOCK_SKEW:
        return []
    message = session.get(Message, message_pk)
    assert message is not None
    _satisfy(session, live, message, party.name, written_at)
    return [live]


def satisfy(
    session: Session,
    follow_up_id: int,
    *,
    reason: str,
    who: str,
    now: datetime,
    case_id: int | None = None,
) -> None:
    """A caseworker's word that the reply came (by post, by phone): no chase goes. With
    `case_id`, only a follow-up of that case (the case page's)."""
    follow_up = _get_live(session, follow_up_id, case_id)
    _require_reason(reason)
    follow_up.status, follow_up.satisfied_at = SATISFIED, now
    follow_up.satisfied_reason, follow_up.satisfied_by = reason.strip(), who
    _withdraw_pending(session, follow_up.id)
    note(session, follow_up.case_id, now, f"Follow-up marked satisfied by {who}: {reason.strip()}")


def extend(
    session: Session,
    follow_up_id: int,
    *,
    days: int,
    reason: str,
    who: str,
    now: datetime,
    case_id: int | None = None,
) -> FollowUp:
    """Give the party more time: the due date moves on; a chase awaiting approval is dropped.
    With `case_id`, only a follow-up of that case."""
    if not 1 <= days <= 365:
        raise FollowUpError("extend by between 1 and 365 days")
    _require_reason(reason)
    follow_up = _get_live(session, follow_up_id, case_id)
    unsettled = session.scalar(
        select(ChaseAttempt.id).where(
            ChaseAttempt.follow_up_id == follow_up.id, ChaseAttempt.state == UNKNOWN
        )
    )
    if unsettled is not None:  # a new chase could double one that may have gone
        raise FollowUpError(
            f"chase {unsettled} may have been sent: settle it first "
            f"(`mailbag chases resolve {unsettled} --sent` or `--not-sent`)"
        )
    _withdraw_pending(session, follow_up.id)
    start = max(follow_up.due_at, now)
    follow_up.due_at = grace_rules.add_days(start, days, follow_up.working_days)
    follow_up.status = CHASED if follow_up.chases_sent else OPEN
    follow_up.extended_days += days
    follow_up.extension_reason = reason.strip()
    note(
        session,
        follow_up.case_id,
        now,
        f"Follow-up extended by {days} days to {uk_long_date(follow_up.due_at)} "
        f"by {who}: {reason.strip()}",
    )
    return follow_up


def cancel_for_case(session: Session, case_id: int, reason: str, now: datetime) -> int:
    """Nothing to wait for any more (e.g. the case was closed)."""
    live = session.scalars(
        select(FollowUp).where(FollowUp.case_id == case_id, FollowUp.status.in_(ACTIVE))
    ).all()
    for follow_up in live:
        follow_up.status, follow_up.satisfied_reason = CANCELLED, reason
        _withdraw_pending(session, follow_up.id)
    return len(live)


def annotate(
    session: Session, case_id: int, message_pk: int | None, when: datetime, text: str
) -> None:
    """Say it on the message's own timeline line (or a line of its own if it has none)."""
    entry = session.scalar(
        select(TimelineEntry).where(
            TimelineEntry.case_id == case_id, TimelineEntry.message_pk == message_pk
        )
    )
    if message_pk is None or entry is None:
        note(session, case_id, when, text[:1].upper() + text[1:])
        return
    entry.summary = f"{entry.summary} — {text}"[:500]


def note(session: Session, case_id: int, when: datetime, summary: str) -> None:
    """One line on the case's timeline about its follow-ups."""
    session.add(
        TimelineEntry(case_id=case_id, kind=TIMELINE_KIND, occurred_at=when, summary=summary[:500])
    )


def _satisfy(
    session: Session, follow_up: FollowUp, message: Message, name: str, when: datetime
) -> None:
    follow_up.status, follow_up.satisfied_at = SATISFIED, when
    follow_up.satisfied_by_message_pk = message.id
    follow_up.satisfied_reason = "reply received"
    follow_up.satisfied_by = message.from_address[:200]
    withdrawn = _withdraw_pending(session, follow_up.id)
    chase = " (the chase waiting to go was withdrawn)" if withdrawn else ""
    annotate(
        session,
        follow_up.case_id,
        message.id,
        when,
        f"reply from {name}: follow-up satisfied{chase}",
    )


def _withdraw_pending(session: Session, follow_up_id: int) -> int:
    """Chases not yet handed to the outbox will never go."""
    withdrawn = session.execute(
        update(ChaseAttempt)
        .where(
            ChaseAttempt.follow_up_id == follow_up_id,
            ChaseAttempt.outbox_letter_id.is_(None),
            ChaseAttempt.state.in_((AWAITING_APPROVAL, RESERVED)),
        )
        .values(state=WITHDRAWN)
        .execution_options(synchronize_session=False)
    )
    return int(withdrawn.rowcount)  # type: ignore[attr-defined]


def _any_live(session: Session, case_id: int) -> bool:
    found = session.scalar(
        select(FollowUp.id).where(FollowUp.case_id == case_id, FollowUp.status.in_(ACTIVE)).limit(1)
    )
    return found is not None


def _live(session: Session, case_id: int, party_key: str) -> FollowUp | None:
    return session.scalar(
        select(FollowUp).where(
            FollowUp.case_id == case_id,
            FollowUp.party_key == party_key,
            FollowUp.status.in_(ACTIVE),
        )
    )


def _get_live(session: Session, follow_up_id: int, case_id: int | None = None) -> FollowUp:
    follow_up = session.get(FollowUp, follow_up_id)
    if follow_up is None or case_id not in (None, follow_up.case_id):
        raise NotFound(f"no follow-up {follow_up_id}")
    if follow_up.status not in ACTIVE:
        raise FollowUpError(f"follow-up {follow_up_id} is already {follow_up.status}")
    return follow_up


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise FollowUpError("give a reason: it goes on the case's timeline")


def _reply_since(
    session: Session, settings: Settings, case_id: int, party: Party, since: datetime
) -> Message | None:
    """A reply from the party already on the case (their mail was read before ours)."""
    candidates = session.scalars(
        select(Message)
        .where(
            Message.case_id == case_id,
            Message.direction == "in",
            Message.kind.in_(REPLY_KINDS),
            func.coalesce(Message.sent_at, Message.received_at) >= since - CLOCK_SKEW,
        )
        .order_by(Message.id)
    ).all()
    for message in candidates:
        found = party_for(session, settings, message.from_address)
        if found is not None and found.key == party.key:
            return message
    return None
