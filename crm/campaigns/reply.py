"""Reply to all: one letter to each sender of a campaign, never two, resumable when stopped.

Senders are taken in chunks; each chunk's letters are queued and committed, then sent one
by one through the outbox (`crm.outgoing.send.deliver`, which only one caller can claim).
The once-key `campaign:<id>:<constituent>` is unique in the outbox, so running again after
an interruption queues only the senders still without a letter and sends what is queued.
A letter left "sending" by a process that died is never sent again automatically: it may
have gone, and staff decide (the outbox says so). Letters that failed because the server
refused or could not be reached are tried again when asked (`retry_failed`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import cases
from crm.campaigns.errors import CampaignError
from crm.campaigns.models import REPLIED, Campaign, CampaignMember, CampaignSignature
from crm.correspondence import add_to_timeline
from crm.db import Database
from crm.letters.templates import CONSTITUENT, letters_for
from crm.models import Case, Message
from crm.outgoing import smtp
from crm.outgoing.models import FAILED, QUEUED, SENT, OutboxLetter
from crm.outgoing.queue import queue_letter
from crm.outgoing.send import deliver
from crm.settings import Settings
from crm.types import utcnow

CHUNK = 50


@dataclass
class ReplyProgress:
    """How far a reply to all has gone: letters sent of the campaign's senders."""

    total: int
    sent: int = 0
    failed: int = 0
    waiting: int = 0  # queued, or in doubt after an interruption while sending

    @property
    def done(self) -> bool:
        return self.total > 0 and self.sent == self.total

    def describe(self) -> str:
        text = f"{self.sent} of {self.total} sent"
        if self.failed:
            text += f", {self.failed} failed"
        if self.waiting:
            text += f", {self.waiting} waiting"
        return text


@dataclass(frozen=True)
class CampaignView:
    """What a reply template may say about the campaign: {{ campaign.name }}."""

    variable: ClassVar[str] = "campaign"
    name: str
    senders: int


Progress = Callable[[ReplyProgress], None]


def once_key(campaign_id: int, constituent_id: int) -> str:
    return f"campaign:{campaign_id}:{constituent_id}"


def reply_to_all(
    database: Database,
    settings: Settings,
    campaign_id: int,
    template: str,
    *,
    chunk: int = CHUNK,
    limit: int | None = None,
    retry_failed: bool = False,
    progress: Progress | None = None,
) -> ReplyProgress:
    """Send `template` once to every sender; `limit` stops after that many sends this run."""
    _check_ready(settings, template)
    with database.session() as session:
        campaign = _choose_template(session, campaign_id, template)
        senders = sender_ids(session, campaign_id)
        view = CampaignView(campaign.name, len(senders))
    state = ReplyProgress(total=len(senders))
    budget = _Budget(limit)
    for part in _chunks(senders, chunk):
        with database.session() as session:
            pending = _queue_chunk(
                session, settings, campaign_id, template, part, view, state, retry_failed
            )
        if not _send(database, settings, pending, state, budget, progress):
            return state
    _mark_replied(database, campaign_id, state)
    return state


def reply_progress(session: Session, campaign_id: int) -> ReplyProgress:
    """Letters sent, failed and waiting, of the campaign's senders (for its page)."""
    senders = sender_ids(session, campaign_id)
    state = ReplyProgress(total=len(senders))
    for part in _chunks(senders, 500):
        for _letter_id, status, _error in _letters(session, campaign_id, part).values():
            _count(state, status)
    return state


def sender_ids(session: Session, campaign_id: int) -> list[int]:
    """Each sender once (a person who wrote twice gets one reply), in a stable order."""
    return list(
        session.scalars(
            select(CampaignMember.constituent_id)
            .where(CampaignMember.campaign_id == campaign_id)
            .distinct()
            .order_by(CampaignMember.constituent_id)
        )
    )


def _check_ready(settings: Settings, template: str) -> None:
    """Fail before anything is queued: sending configured, template known and for constituents."""
    smtp.SmtpConfig.from_settings(settings)
    settings.require("representative_name")
    info = letters_for(settings.templates_dir).info(template)
    if info.audience != CONSTITUENT:
        raise CampaignError(f"the {template} letter is for third parties, not for campaigners")


def _choose_template(session: Session, campaign_id: int, template: str) -> Campaign:
    """A campaign has one reply: once letters have gone with one template, it stays."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignError(f"no campaign {campaign_id}")
    if campaign.reply_template and campaign.reply_template != template:
        started = session.scalar(
            select(OutboxLetter.id)
            .where(OutboxLetter.once_key.in_(_keys(campaign_id, sender_ids(session, campaign_id))))
            .limit(1)
        )
        if started is not None:
            raise CampaignError(
                f"campaign {campaign_id} is being answered with {campaign.reply_template!r}: "
                "every sender gets the same reply"
            )
    campaign.reply_template = template
    return campaign


def _queue_chunk(
    session: Session,
    settings: Settings,
    campaign_id: int,
    template: str,
    senders: Sequence[int],
    view: CampaignView,
    state: ReplyProgress,
    retry_failed: bool,
) -> list[int]:
    """Queue a letter for each sender without one; return the letters of this chunk to send."""
    existing = _letters(session, campaign_id, senders)
    pending = []
    for constituent_id in senders:
        found = existing.get(constituent_id)
        if found is not None:
            letter_id, status, error = found
            if status == QUEUED or (status == FAILED and retry_failed and not in_doubt(error)):
                pending.append(letter_id)
            else:
                _count(state, status)
            continue
        case = _reply_case(session, settings, campaign_id, constituent_id)
        if case is None:
            continue
        letter = queue_letter(
            session,
            settings,
            case,
            template,
            once_key=once_key(campaign_id, constituent_id),
            extra={"campaign": view},
        )
        if letter is not None:
            pending.append(letter.id)
    return pending


class _Budget:
    """How many more letters this run may send (None: no limit)."""

    def __init__(self, limit: int | None) -> None:
        self.left = limit

    def take(self) -> bool:
        if self.left is None:
            return True
        if self.left <= 0:
            return False
        self.left -= 1
        return True


def _send(
    database: Database,
    settings: Settings,
    letter_ids: Sequence[int],
    state: ReplyProgress,
    budget: _Budget,
    progress: Progress | None,
) -> bool:
    """Send each letter; False when the run must stop (limit reached or the server is down)."""
    for position, letter_id in enumerate(letter_ids):
        if not budget.take():
            state.waiting += len(letter_ids) - position
            return False
        delivery = deliver(database, settings, letter_id)
        _count(state, delivery.status)
        if progress is not None:
            progress(state)
        if delivery.status == FAILED and not delivery.permanent:
            state.waiting += len(letter_ids) - position - 1
            return False
    return True


def _count(state: ReplyProgress, status: str) -> None:
    if status == SENT:
        state.sent += 1
    elif status == FAILED:
        state.failed += 1
    else:
        state.waiting += 1


def in_doubt(error: str) -> bool:
    """The outbox's words for a letter whose sender died mid-send: it may have arrived."""
    return error.startswith("interrupted while sending")


def _letters(
    session: Session, campaign_id: int, senders: Sequence[int]
) -> dict[int, tuple[int, str, str]]:
    """The reply letter already in the outbox for each sender: id, status and last error."""
    keys = _keys(campaign_id, senders)
    rows = session.execute(
        select(
            OutboxLetter.once_key, OutboxLetter.id, OutboxLetter.status, OutboxLetter.error
        ).where(OutboxLetter.once_key.in_(keys))
    ).all()
    return {
        int(str(key).rsplit(":", 1)[1]): (letter_id, status, error)
        for key, letter_id, status, error in rows
    }


def _keys(campaign_id: int, senders: Sequence[int]) -> list[str]:
    return [once_key(campaign_id, constituent_id) for constituent_id in senders]


def _reply_case(
    session: Session, settings: Settings, campaign_id: int, constituent_id: int
) -> Case | None:
    """The case a sender's reply goes on: their letter's own case, or a new closed one.

    A new case holds the sender's letter and our reply, so the correspondence is on their
    record, threads properly, and reopens as casework if they write back.
    """
    letters = list(
        session.scalars(
            select(Message)
            .join(CampaignSignature, CampaignSignature.message_key == Message.dedupe_key)
            .join(CampaignMember, CampaignMember.signature_id == CampaignSignature.id)
            .where(
                CampaignMember.campaign_id == campaign_id,
                CampaignMember.constituent_id == constituent_id,
            )
            .order_by(Message.id)
        )
    )
    with_case = [m for m in letters if m.case_id is not None]
    if with_case:
        return session.get(Case, with_case[-1].case_id)
    if not letters:
        return None
    newest = letters[-1]
    case = cases.open_case(
        session,
        prefix=settings.case_prefix,
        subject=newest.subject,
        subject_key=" ".join(newest.subject.split()).casefold(),
        constituent_id=constituent_id,
        opened_at=newest.sent_at or newest.received_at,
    )
    for message in letters:
        message.case_id = case.id
        add_to_timeline(session, case, message, message.sent_at or message.received_at)
    cases.set_status(
        session, case, cases.CLOSED, f"campaign {campaign_id}: answered with the reply to all"
    )
    return case


def _mark_replied(database: Database, campaign_id: int, state: ReplyProgress) -> None:
    if not state.done:
        return
    with database.session() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is not None and campaign.status != REPLIED:
            campaign.status, campaign.replied_at = REPLIED, utcnow()


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), max(size, 1)):
        yield items[start : start + size]
