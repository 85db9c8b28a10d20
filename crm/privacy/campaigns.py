"""Campaign counters after erasure: a campaign's member and banded counts are kept on the
campaign row, so they are counted again from the members that remain."""

from __future__ import annotations

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from crm.campaigns.models import Campaign, CampaignBand, CampaignMember, CampaignSignature
from crm.privacy.plan import Plan, chunks


def affected(session: Session, plan: Plan) -> set[int]:
    """Campaigns whose members or signatures the plan takes (read before deleting)."""
    found: set[int] = set()
    for model in (CampaignMember, CampaignSignature):
        for chunk in chunks(plan.ids(model.__tablename__)):
            found |= {
                c
                for c in session.scalars(select(model.campaign_id).where(model.id.in_(chunk)))
                if c
            }
    return found


def recount(session: Session, campaign_ids: set[int]) -> None:
    for campaign_id in sorted(campaign_ids):
        members = select(func.count(CampaignMember.id)).where(
            CampaignMember.campaign_id == campaign_id
        )
        banded = select(func.count(CampaignSignature.id)).where(
            CampaignSignature.campaign_id == campaign_id,
            exists(
                select(CampaignBand.band_key).where(
                    CampaignBand.signature_id == CampaignSignature.id
                )
            ),
        )
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(members=members.scalar_subquery(), banded=banded.scalar_subquery())
        )
