"""The case list's conditions on follow-ups, dates and campaigns, each one EXISTS on an index.

Every condition is correlated on `cases.id` through an indexed column (`follow_ups.case_id`,
`messages.case_id`, then unique keys), so the planner can probe it per case or turn it into
a semi-join, and the list stays fast with 100,000 cases.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from crm.campaigns.models import Campaign, CampaignMember, CampaignSignature
from crm.db import AnySelect, plain_rows
from crm.followups.models import ACTIVE, ESCALATED, FollowUp
from crm.models import Case, Message
from crm.outgoing.directory import organisation_names
from crm.outgoing.models import Organisation, OrganisationAddress
from crm.reports.period import london_midnight

ANYONE = "any"  # waiting on any third party at all
DOMAIN_PREFIX = "domain:"  # a follow-up to a body the directory does not know
# Still waiting for the reply: live follow-ups, and those escalated after two chases.
OUTSTANDING = (*ACTIVE, ESCALATED)
CAMPAIGN_CHOICES = 100


@dataclass(frozen=True)
class FilterChoices:
    """What the list's filter form offers beyond tags and people."""

    organisations: list[str]
    campaigns: list[tuple[int, str]]


def waiting_on(party: str) -> ColumnElement[bool]:
    """An unanswered follow-up, to anyone ("any") or to one organisation (name, short name
    such as "DWP", or the domain of a body not in the directory)."""
    where = [FollowUp.case_id == Case.id, FollowUp.status.in_(OUTSTANDING)]
    name = " ".join(party.split()).lower()
    if name != ANYONE:
        where.append(
            or_(
                FollowUp.organisation_id.in_(_organisations_named(name)),
                FollowUp.party_key == DOMAIN_PREFIX + name,
            )
        )
    return exists(select(FollowUp.id).where(*where))


def overdue(now: datetime) -> ColumnElement[bool]:
    """A live follow-up past its due date (a chase or escalation is late), or escalated."""
    late = and_(FollowUp.status.in_(ACTIVE), FollowUp.due_at < now)
    return exists(
        select(FollowUp.id).where(
            FollowUp.case_id == Case.id, or_(late, FollowUp.status == ESCALATED)
        )
    )


def opened_between(first: date | None, last: date | None) -> ColumnElement[bool]:
    """Opened on or after the first London day and on or before the last (either optional):
    a range on `opened_at`, as the weekly review counts "new this week"."""
    bounds = []
    if first is not None:
        bounds.append(Case.opened_at >= london_midnight(first))
    if last is not None:
        bounds.append(Case.opened_at < london_midnight(last + timedelta(days=1)))
    return and_(*bounds)


def in_campaign(campaign_id: int) -> ColumnElement[bool]:
    """A case holding a letter of the campaign: kept as its own case, folded in, or the
    sender's case that the reply to all went on."""
    return exists(
        select(Message.id)
        .join(CampaignSignature, CampaignSignature.message_key == Message.dedupe_key)
        .join(CampaignMember, CampaignMember.signature_id == CampaignSignature.id)
        .where(Message.case_id == Case.id, CampaignMember.campaign_id == campaign_id)
    )


def choices(session: Session) -> FilterChoices:
    """The directory's organisations and the newest campaigns, for the filter form."""
    names = organisation_names(session)
    campaigns = plain_rows(session, _newest_campaigns()).all()
    return FilterChoices(names, [(cid, name) for cid, name in campaigns])


@functools.cache  # one statement object, reused: see crm.db.built_once
def _newest_campaigns() -> AnySelect:
    return select(Campaign.id, Campaign.name).order_by(Campaign.id.desc()).limit(CAMPAIGN_CHOICES)


def _organisations_named(name: str) -> Select[int]:
    """Ids of the organisations with this name, one of their addresses, or their short name:
    the first label of one of their domains ("dwp" for dwp.gov.uk), as people say it."""
    return select(Organisation.id).where(
        or_(
            func.lower(Organisation.name) == name,
            Organisation.id.in_(
                select(OrganisationAddress.organisation_id).where(
                    or_(
                        OrganisationAddress.value == name,
                        OrganisationAddress.value.like(f"{escape_like(name)}.%", escape="\\"),
                        OrganisationAddress.value.like(f"%@{escape_like(name)}.%", escape="\\"),
                    )
                )
            ),
        )
    )


def escape_like(text: str) -> str:
    """Text matched literally inside a LIKE pattern (with escape="\\")."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
