"""Campaigns for the weekly review: what came in this week, and the running totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, func, select
from sqlalchemy.orm import Session

from crm.campaigns.models import Campaign, CampaignMember
from crm.types import utcnow


@dataclass(frozen=True)
class CampaignWeek:
    """One campaign's week: new letters and senders, and where it stands overall."""

    campaign_id: int
    name: str
    status: str
    new: bool  # first recognised this week
    letters: int  # this week
    senders: int  # this week
    kept_as_cases: int  # this week
    total_senders: int
    total_constituents: int


def campaigns_this_week(
    session: Session, *, now: datetime | None = None, days: int = 7
) -> list[CampaignWeek]:
    """Campaigns with letters written in the last `days` days, busiest first."""
    since = (now or utcnow()) - timedelta(days=days)
    week = session.execute(
        select(
            CampaignMember.campaign_id,
            func.count(),
            func.count(CampaignMember.constituent_id.distinct()),
            func.sum(CampaignMember.kept_as_case.cast(Integer)),
        )
        .where(CampaignMember.written_at >= since)
        .group_by(CampaignMember.campaign_id)
    ).all()
    if not week:
        return []
    ids = [row[0] for row in week]
    totals = {
        cid: (senders, inside or 0)
        for cid, senders, inside in session.execute(
            select(
                CampaignMember.campaign_id,
                func.count(CampaignMember.constituent_id.distinct()),
                func.count(CampaignMember.constituent_id.distinct()).filter(
                    CampaignMember.is_constituent.is_(True)
                ),
            )
            .where(CampaignMember.campaign_id.in_(ids))
            .group_by(CampaignMember.campaign_id)
        ).all()
    }
    campaigns = {c.id: c for c in session.scalars(select(Campaign).where(Campaign.id.in_(ids)))}
    rows = [
        CampaignWeek(
            campaign_id=cid,
            name=campaigns[cid].name,
            status=campaigns[cid].status,
            new=campaigns[cid].created_at >= since,
            letters=letters,
            senders=senders,
            kept_as_cases=int(kept or 0),
            total_senders=totals[cid][0],
            total_constituents=totals[cid][1],
        )
        for cid, letters, senders, kept in week
    ]
    return sorted(rows, key=lambda r: (-r.letters, r.campaign_id))
