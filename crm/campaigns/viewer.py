"""The campaign page as one person may see it: a kept case they may not open (safeguarding,
special category) is counted, not named, and its writer's personal addition is left out."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.access import Viewer
from crm.campaigns.models import CampaignMember, CampaignSignature
from crm.campaigns.summary import Addition, CampaignSummary, KeptCase, personal_additions, summary
from crm.caselist import visible_references
from crm.models import Case, Message
from crm.settings import Settings


@dataclass(frozen=True)
class CampaignPage:
    summary: CampaignSummary
    kept: list[KeptCase]  # the ones this person may open
    hidden_kept: int
    additions: list[Addition]


def campaign_page(
    session: Session, settings: Settings, viewer: Viewer, campaign_id: int, *, additions: int = 50
) -> CampaignPage:
    """The summary (crm.campaigns.summary), with what this person may not see taken out."""
    shown = summary(session, settings, campaign_id, additions=0)
    references = [k.reference for k in shown.kept]
    visible = visible_references(session, viewer, references)
    hidden = _hidden_texts(session, campaign_id, set(references) - visible)
    allowed = [a for a in personal_additions(session, campaign_id) if _key(a.text) not in hidden]
    return CampaignPage(
        summary=shown,
        kept=[k for k in shown.kept if k.reference in visible],
        hidden_kept=len(references) - len(visible),
        additions=allowed[:additions],
    )


def _hidden_texts(session: Session, campaign_id: int, references: set[str]) -> set[str]:
    """The personal additions written in the letters kept on these cases."""
    if not references:
        return set()
    texts = session.scalars(
        select(CampaignMember.personal_text)
        .join(CampaignSignature, CampaignSignature.id == CampaignMember.signature_id)
        .join(Message, Message.dedupe_key == CampaignSignature.message_key)
        .join(Case, Case.id == Message.case_id)
        .where(CampaignMember.campaign_id == campaign_id, Case.reference.in_(references))
    )
    return {_key(text) for text in texts}


def _key(text: str) -> str:
    """Spelling of spaces and case aside, as crm.campaigns.summary groups additions."""
    return " ".join(text.split()).casefold()
