"""Send one chase attempt, at most once, and settle what happened to it.

An attempt is reserved (a row, unique per follow-up and number) before anything is sent.
The letter is queued in the outbox with the once-key "chase:<follow-up>:<attempt>" and
sent by `crm.outgoing.send.deliver`, whose claim lets one caller only hand it to SMTP.

After a crash the outbox letter's status says what happened: queued (never handed to
SMTP: send it), sent (record it), or sending/interrupted (SMTP may have accepted it).
That last case is ambiguous, and we never guess: the attempt becomes "unknown", the
follow-up is held and staff are told on the case. A double chase to a minister's office
costs the representative credibility; a chase that waits an hour for a person costs
little. `resolve` records their answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm.db import Database
from crm.errors import NotFound, SettingsError
from crm.followups import grace
from crm.followups.errors import FollowUpError
from crm.followups.models import (
    AWAITING_APPROVAL,
    CHASED,
    FAILED,
    HELD,
    OPEN,
    RESERVED,
    SENT,
    SWEPT,
    UNKNOWN,
    WITHDRAWN,
    ChaseAttempt,
    FollowUp,
)
from crm.followups.parties import party_name
from crm.followups.service import annotate, note
from crm.letters.errors import LetterError
from crm.models import Case
from crm.outgoing import models as outbox
from crm.outgoing.models import OutboxLetter
from crm.outgoing.queue import queue_letter
from crm.outgoing.send import STALE_SENDING, Delivery, deliver, recover_interrupted
from crm.settings import Settings
from crm.types import utcnow

log = logging.getLogger(__name__)

TEMPLATES = ("chase_first", "chase_second")  # by the number of chases already sent
MAX_CHASES = len(TEMPLATES)
RECHECK = timedelta(minutes=15)  # a reserved chase not settled by then is looked at again
RETRY_AFTER = timedelta(minutes=30)  # after a temporary failure, when the sweep tries again
# crm.outgoing.send.recover_interrupted's words for a letter whose sender died mid-SMTP.
INTERRUPTED = "interrupted while sending"
WITHDRAWN_ERROR = "withdrawn: the follow-up was answered or closed before this chase went"

SENT_NOW, FAILED_NOW, UNKNOWN_NOW = "sent", "failed", "unknown"
CANCELLED_NOW, IN_PROGRESS, SKIPPED = "cancelled", "in_progress", "skipped"


@dataclass(frozen=True)
class ChaseOutcome:
    """How one attempt ended this time round (for counts, logs and the actors' retries)."""

    attempt_id: int
    status: str
    error: str = ""
    permanent: bool = False


def once_key(follow_up_id: int, attempt_number: int) -> str:
    return f"chase:{follow_up_id}:{attempt_number}"


def ordinal(number: int) -> str:
    return {1: "first", 2: "second"}.get(number, f"{number}th")


def send_attempt(
    database: Database, settings: Settings, attempt_id: int, *, now: datetime | None = None
) -> ChaseOutcome:
    """Queue the attempt's letter if need be, send it unless that could double it, settle."""
    now = now or utcnow()
    with database.session() as session:
        prepared = _prepare(session, settings, attempt_id, now)
    if isinstance(prepared, ChaseOutcome):
        return prepared
    with database.session() as session:
        verdict = _verdict(session, settings, attempt_id, prepared, now)
    if verdict is not None:
        return verdict
    delivery = deliver(database, settings, prepared, now=now)
    with database.session() as session:
        return _settle(session, settings, attempt_id, delivery, now)


def approve(session: Session, attempt_id: int, *, who: str, now: datetime) -> ChaseAttempt:
    """One click: a chase waiting for approval (or one that failed) goes out."""
    attempt = _attempt(session, attempt_id)
    taken = session.execute(
        update(ChaseAttempt)
        .where(ChaseAttempt.id == attempt_id, ChaseAttempt.state.in_((AWAITING_APPROVAL, FAILED)))
        .values(state=RESERVED, approved_by=who, approved_at=now, permanent=False, error="")
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise FollowUpError(f"chase {attempt_id} is {attempt.state}: nothing to approve")
    _resume(session, attempt.follow_up_id, now)
    session.refresh(attempt)
    return attempt


def resolve(
    session: Session, settings: Settings, attempt_id: int, *, went: bool, who: str, now: datetime
) -> ChaseAttempt:
    """Staff checked what became of an interrupted chase: it went, or it may go again."""
    attempt = _attempt(session, attempt_id)
    if attempt.state != UNKNOWN:
        raise FollowUpError(f"chase {attempt_id} is {attempt.state}, not unknown")
    follow_up = session.get(FollowUp, attempt.follow_up_id)
    assert follow_up is not None
    if went:
        letter = session.get(OutboxLetter, attempt.outbox_letter_id)
        when = (letter.last_attempt_at if letter else None) or now
        _mark_sent(session, settings, attempt, when, now, f"confirmed sent by {who}")
    else:
        attempt.state, attempt.confirmed_unsent = RESERVED, True
        attempt.approved_by, attempt.approved_at = who, now
        _resume(session, follow_up.id, now)
        note(session, follow_up.case_id, now, f"{who}: the interrupted chase did not arrive")
    session.flush()
    return attempt


def give_up(session: Session, attempt_id: int, *, tries: int, now: datetime) -> None:
    """The workers stopped retrying a chase that keeps failing: hold it and tell staff."""
    attempt = _attempt(session, attempt_id)
    follow_up = session.get(FollowUp, attempt.follow_up_id)
    assert follow_up is not None
    if attempt.state != FAILED or follow_up.status not in SWEPT:
        return  # sent, settled or answered since
    attempt.permanent = True
    follow_up.status = HELD
    note(
        session,
        follow_up.case_id,
        now,
        f"Chase to {party_name(session, follow_up.party_key)} not sent after {tries} tries: "
        f"{attempt.error} (`mailbag chases approve {attempt.id}` tries again)",
    )


def _prepare(
    session: Session, settings: Settings, attempt_id: int, now: datetime
) -> int | ChaseOutcome:
    """The attempt's outbox letter id, queueing it now (rendered from the template) if need be."""
    attempt = session.get(ChaseAttempt, attempt_id, with_for_update=True)
    if attempt is None:
        return ChaseOutcome(attempt_id, SKIPPED, "no such chase")
    if attempt.state not in (RESERVED, FAILED) or (attempt.state == FAILED and attempt.permanent):
        return ChaseOutcome(attempt_id, SENT_NOW if attempt.state == SENT else SKIPPED)
    follow_up = session.get(FollowUp, attempt.follow_up_id, with_for_update=True)
    assert follow_up is not None
    if follow_up.status not in SWEPT and _hold_back(session, attempt):
        attempt.state = WITHDRAWN  # answered (or cancelled) since it was reserved
        return ChaseOutcome(attempt_id, CANCELLED_NOW)
    if attempt.outbox_letter_id is not None:
        return attempt.outbox_letter_id
    case = session.get(Case, follow_up.case_id)
    assert case is not None
    key = once_key(follow_up.id, attempt.attempt_number)
    try:
        letter = queue_letter(
            session,
            settings,
            case,
            attempt.template,
            to=follow_up.party_address,
            once_key=key,
            now=now,
        )
    except (LetterError, SettingsError, NotFound) as error:
        return _fail(session, attempt, follow_up, str(error), permanent=True, now=now)
    letter_id = letter.id if letter is not None else _letter_by_key(session, key)
    attempt.outbox_letter_id = letter_id
    return letter_id


def _verdict(
    session: Session, settings: Settings, attempt_id: int, letter_id: int, now: datetime
) -> ChaseOutcome | None:
    """None: deliver the letter. Otherwise what its outbox status already tells."""
    attempt = _attempt(session, attempt_id)
    letter = session.get(OutboxLetter, letter_id)
    assert letter is not None
    if letter.status == outbox.SENT:
        _mark_sent(session, settings, attempt, letter.sent_at or now, now, "")
        return ChaseOutcome(attempt_id, SENT_NOW)
    if letter.status == outbox.QUEUED:
        return None  # never handed to SMTP: sending it cannot double it
    interrupted = letter.status == outbox.FAILED and letter.error.startswith(INTERRUPTED)
    if letter.status == outbox.SENDING:
        if letter.last_attempt_at is not None and letter.last_attempt_at >= now - STALE_SENDING:
            return ChaseOutcome(attempt_id, IN_PROGRESS)  # another worker is sending it
        interrupted = True
    if interrupted and not attempt.confirmed_unsent:
        return _mark_unknown(session, attempt, now)
    attempt.confirmed_unsent = False  # a person's word covers one more try, not every one
    if letter.status == outbox.SENDING:
        recover_interrupted(session, now)  # staff confirmed it did not go: make it retryable
    return None


def _settle(
    session: Session, settings: Settings, attempt_id: int, delivery: Delivery, now: datetime
) -> ChaseOutcome:
    attempt = _attempt(session, attempt_id)
    letter = session.get(OutboxLetter, delivery.letter_id)
    assert letter is not None
    if delivery.status == outbox.SENT or letter.status == outbox.SENT:
        _mark_sent(session, settings, attempt, letter.sent_at or now, now, "")
        return ChaseOutcome(attempt_id, SENT_NOW)
    if delivery.status == outbox.FAILED:
        follow_up = session.get(FollowUp, attempt.follow_up_id)
        assert follow_up is not None
        return _fail(
            session, attempt, follow_up, delivery.error, permanent=delivery.permanent, now=now
        )
    return ChaseOutcome(attempt_id, IN_PROGRESS)  # someone else holds the letter right now


def _mark_sent(
    session: Session,
    settings: Settings,
    attempt: ChaseAttempt,
    when: datetime,
    now: datetime,
    how: str,
) -> None:
    """Exactly once per attempt (a conditional update), the follow-up moves to the next step."""
    taken = session.execute(
        update(ChaseAttempt)
        .where(ChaseAttempt.id == attempt.id, ChaseAttempt.state != SENT)
        .values(state=SENT, sent_at=when, error="", permanent=False)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return
    follow_up = session.get(FollowUp, attempt.follow_up_id, populate_existing=True)
    assert follow_up is not None
    follow_up.chases_sent += 1
    name = party_name(session, follow_up.party_key)
    what = f"{ordinal(follow_up.chases_sent)} chase sent to {name}"
    if follow_up.status in (OPEN, CHASED, HELD):
        follow_up.status = CHASED
        start = max(when, now)  # a sweep run for a later moment counts from that moment
        interval = grace.second_chase_days(session, settings, follow_up)
        follow_up.due_at = grace.add_days(start, interval, follow_up.working_days)
        last = follow_up.chases_sent >= MAX_CHASES
        step = "escalation" if last else "next chase"
        what += f"; {step} due {follow_up.due_at:%d %b %Y} unless they reply"
    letter = session.get(OutboxLetter, attempt.outbox_letter_id)
    message_pk = letter.message_pk if letter is not None else None
    what += f" ({how})" if how else ""
    annotate(session, follow_up.case_id, message_pk, max(when, now), what)


def _mark_unknown(session: Session, attempt: ChaseAttempt, now: datetime) -> ChaseOutcome:
    """SMTP may or may not have taken it: hold the follow-up and ask a person."""
    taken = session.execute(
        update(ChaseAttempt)
        .where(ChaseAttempt.id == attempt.id, ChaseAttempt.state.in_((RESERVED, FAILED)))
        .values(state=UNKNOWN, error="interrupted while sending")
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount == 1:  # type: ignore[attr-defined]
        follow_up = session.get(FollowUp, attempt.follow_up_id)
        assert follow_up is not None
        if follow_up.status in SWEPT:
            follow_up.status = HELD
        name = party_name(session, follow_up.party_key)
        note(
            session,
            follow_up.case_id,
            now,
            f"The {ordinal(attempt.attempt_number)} chase to {name} was interrupted while "
            f"sending and may or may not have arrived: check with them, then "
            f"`mailbag chases resolve {attempt.id} --sent` or `--not-sent`",
        )
        log.warning("chase attempt %s: interrupted mid-send, held for staff", attempt.id)
    return ChaseOutcome(attempt.id, UNKNOWN_NOW, "interrupted while sending")


def _fail(
    session: Session,
    attempt: ChaseAttempt,
    follow_up: FollowUp,
    error: str,
    *,
    permanent: bool,
    now: datetime,
) -> ChaseOutcome:
    """Temporary: the sweep tries again later. Permanent: held, with the reason on the case."""
    attempt.state, attempt.error, attempt.permanent = FAILED, error[:2000], permanent
    if permanent:
        if follow_up.status in SWEPT:
            follow_up.status = HELD
        note(
            session,
            follow_up.case_id,
            now,
            f"Chase to {party_name(session, follow_up.party_key)} not sent: {error} "
            f"(fix it, then `mailbag chases approve {attempt.id}`)",
        )
    elif follow_up.status in SWEPT:
        follow_up.due_at = now + RETRY_AFTER
    log.warning("chase attempt %s failed (%s)", attempt.id, "permanent" if permanent else "retry")
    return ChaseOutcome(attempt.id, FAILED_NOW, error, permanent)


def _resume(session: Session, follow_up_id: int, now: datetime) -> None:
    """Back in the sweep's hands, looked at again soon in case this sender dies."""
    follow_up = session.get(FollowUp, follow_up_id)
    assert follow_up is not None
    follow_up.status = CHASED if follow_up.chases_sent else OPEN
    follow_up.due_at = now + RECHECK


def _hold_back(session: Session, attempt: ChaseAttempt) -> bool:
    """Keep a chase that is no longer wanted from going, if SMTP has certainly not taken it."""
    if attempt.outbox_letter_id is None:
        return True
    held = session.execute(
        update(OutboxLetter)
        .where(
            OutboxLetter.id == attempt.outbox_letter_id,
            OutboxLetter.status.in_((outbox.QUEUED, outbox.FAILED)),
            ~OutboxLetter.error.startswith(INTERRUPTED),
        )
        .values(status=outbox.FAILED, error=WITHDRAWN_ERROR)
        .execution_options(synchronize_session=False)
    )
    return int(held.rowcount) == 1  # type: ignore[attr-defined]


def _attempt(session: Session, attempt_id: int) -> ChaseAttempt:
    attempt = session.get(ChaseAttempt, attempt_id, populate_existing=True)
    if attempt is None:
        raise NotFound(f"no chase {attempt_id}")
    return attempt


def _letter_by_key(session: Session, key: str) -> int:
    letter_id = session.scalar(select(OutboxLetter.id).where(OutboxLetter.once_key == key))
    assert letter_id is not None  # queue_letter returns None only when the key is taken
    return letter_id
