"""What a campaign's page shows: the template, who wrote, what they added, tags, the reply."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.campaigns.errors import CampaignError
from crm.campaigns.models import Campaign, CampaignMember, CampaignSignature
from crm.campaigns.reply import ReplyProgress, reply_progress
from crm.models import Case, Message
from crm.settings import Settings
from crm.tags.rulebook import rule_set
from tagging.features import MessageFeatures


@dataclass(frozen=True)
class Addition:
    """A personal addition as written, and how many senders wrote it."""

    text: str
    senders: int


@dataclass(frozen=True)
class KeptCase:
    """A campaign letter kept as its own case, and why."""

    reference: str
    status: str
    reason: str


@dataclass(frozen=True)
class CampaignRow:
    """One line of the campaign list."""

    id: int
    name: str
    status: str
    created_at: datetime
    letters: int
    senders: int
    constituents: int
    last_letter_at: datetime | None


@dataclass(frozen=True)
class CampaignSummary:
    """Everything the campaign page shows."""

    row: CampaignRow
    template_text: str
    outside: int  # senders whose postcode is outside the office's list
    unknown: int  # senders whose postcode (or the office's list) is not known
    additions: list[Addition]
    kept: list[KeptCase]
    tags: list[tuple[str, str]]
    reply_template: str | None
    reply: ReplyProgress


def campaign_rows(session: Session) -> list[CampaignRow]:
    """Every campaign, newest letter first, with its counts."""
    counts = _counts(session, None)
    campaigns = session.scalars(select(Campaign)).all()
    rows = [_row(c, counts.get(c.id, (0, 0, 0, None))) for c in campaigns]
    return sorted(rows, key=lambda r: r.last_letter_at or r.created_at, reverse=True)


def summary(
    session: Session, settings: Settings, campaign_id: int, *, additions: int = 50
) -> CampaignSummary:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignError(f"no campaign {campaign_id}")
    row = _row(campaign, _counts(session, campaign_id).get(campaign_id, (0, 0, 0, None)))
    places = _places(session, campaign_id)
    return CampaignSummary(
        row=row,
        template_text=campaign.template_text,
        outside=places.get(False, 0),
        unknown=places.get(None, 0),
        additions=personal_additions(session, campaign_id)[:additions],
        kept=kept_cases(session, campaign_id),
        tags=template_tags(session, settings, campaign),
        reply_template=campaign.reply_template,
        reply=reply_progress(session, campaign_id),
    )


def personal_additions(session: Session, campaign_id: int) -> list[Addition]:
    """Distinct additions (spelling and spacing aside), most often written first."""
    rows = session.execute(
        select(CampaignMember.personal_text, CampaignMember.constituent_id).where(
            CampaignMember.campaign_id == campaign_id, CampaignMember.personal_text != ""
        )
    ).all()
    writers: dict[str, set[int]] = {}
    shown: dict[str, str] = {}
    for text, constituent_id in rows:
        key = " ".join(text.split()).casefold()
        writers.setdefault(key, set()).add(constituent_id)
        shown.setdefault(key, text)
    ranked = sorted(writers, key=lambda k: (-len(writers[k]), k))
    return [Addition(shown[key], len(writers[key])) for key in ranked]


def kept_cases(session: Session, campaign_id: int) -> list[KeptCase]:
    """Letters with a real problem inside, each on its own case."""
    rows = session.execute(
        select(Case.reference, Case.status, CampaignMember.kept_reason)
        .join(CampaignSignature, CampaignSignature.id == CampaignMember.signature_id)
        .join(Message, Message.dedupe_key == CampaignSignature.message_key)
        .join(Case, Case.id == Message.case_id)
        .where(CampaignMember.campaign_id == campaign_id, CampaignMember.kept_as_case)
        .order_by(Case.id)
    ).all()
    return [KeptCase(reference, status, reason) for reference, status, reason in rows]


def template_tags(
    session: Session, settings: Settings, campaign: Campaign
) -> list[tuple[str, str]]:
    """What the tagging rules make of the template: (axis, value), proposed, not stored."""
    features = MessageFeatures(
        subject=campaign.name, text=campaign.template_text, kind="constituent"
    )
    return [(p.axis.value, p.value) for p in rule_set(session, settings).propose(features)]


def _counts(
    session: Session, campaign_id: int | None
) -> dict[int, tuple[int, int, int, datetime | None]]:
    """Per campaign: letters, distinct senders, senders in the constituency, newest letter."""
    query = select(
        CampaignMember.campaign_id,
        func.count(),
        func.count(CampaignMember.constituent_id.distinct()),
        func.max(CampaignMember.written_at),
    ).group_by(CampaignMember.campaign_id)
    inside = (
        select(CampaignMember.campaign_id, func.count(CampaignMember.constituent_id.distinct()))
        .where(CampaignMember.is_constituent.is_(True))
        .group_by(CampaignMember.campaign_id)
    )
    if campaign_id is not None:
        query = query.where(CampaignMember.campaign_id == campaign_id)
        inside = inside.where(CampaignMember.campaign_id == campaign_id)
    constituents = {cid: n for cid, n in session.execute(inside).all()}
    return {
        cid: (letters, senders, constituents.get(cid, 0), last)
        for cid, letters, senders, last in session.execute(query).all()
    }


def _places(session: Session, campaign_id: int) -> Counter[bool | None]:
    """Senders by whether their postcode is in the constituency (None: not known)."""
    rows = session.execute(
        select(CampaignMember.constituent_id, CampaignMember.is_constituent)
        .where(CampaignMember.campaign_id == campaign_id)
        .distinct()
    ).all()
    latest: dict[int, bool | None] = dict(rows)
    return Counter(latest.values())


def _row(campaign: Campaign, counts: tuple[int, int, int, datetime | None]) -> CampaignRow:
    letters, senders, constituents, last = counts
    return CampaignRow(
        id=campaign.id,
        name=campaign.name,
        status=campaign.status,
        created_at=campaign.created_at,
        letters=letters,
        senders=senders,
        constituents=constituents,
        last_letter_at=last,
    )
