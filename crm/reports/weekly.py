"""The weekly review's figures, gathered in one read-only pass as plain dataclasses.

`gather` answers the Summary, Waiting on third parties, Tags and Campaigns sheets with
aggregates in SQL; `case_rows` (crm.reports.caserows) streams the Cases sheet. Both honour
the audience: restricted cases are counted for everyone, described only to office managers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from crm.campaigns.report import CampaignWeek, campaigns_this_week
from crm.reports import figures
from crm.reports.caserows import CaseRow, case_rows
from crm.reports.errors import ReportError
from crm.reports.facts import Facts
from crm.reports.figures import Breakdown, WeekFigures
from crm.reports.period import Week, default_week_ending
from crm.reports.sensitivity import describes_restricted, parse_audience
from crm.reports.tagusage import TagUsage, tag_usage
from crm.reports.waiting import OrganisationWait, waiting_on
from crm.settings import Settings
from crm.types import utcnow

__all__ = ["CaseRow", "WeeklyReview", "case_rows", "gather", "week_for"]


@dataclass(frozen=True)
class WeeklyReview:
    """Everything the review shows except the case rows, which are streamed."""

    office: str
    week: Week
    audience: str
    made_at: datetime
    trend: list[WeekFigures]
    by_issue: list[Breakdown]
    by_caseworker: list[Breakdown]
    by_urgency: list[Breakdown]
    restricted_open: int
    waiting: list[OrganisationWait]
    tags: list[TagUsage]
    campaigns: list[CampaignWeek]

    @property
    def this_week(self) -> WeekFigures:
        return self.trend[-1]

    @property
    def describes_restricted(self) -> bool:
        return describes_restricted(self.audience)


def week_for(week_ending: date | None, now: datetime | None = None) -> Week:
    """The week asked for, or the seven days up to yesterday; never one that has not ended."""
    now = now or utcnow()
    latest = default_week_ending(now)
    if week_ending is None:
        return Week(latest)
    if week_ending > latest:
        raise ReportError(
            f"the week ending {week_ending:%Y-%m-%d} has not ended yet "
            f"(the latest complete week ends {latest:%Y-%m-%d})"
        )
    return Week(week_ending)


def gather(
    session: Session,
    settings: Settings,
    week: Week,
    *,
    audience: str = "office_manager",
    now: datetime | None = None,
) -> WeeklyReview:
    """Every figure of the review as at the end of the week."""
    audience = parse_audience(audience)
    facts = Facts(settings)
    return WeeklyReview(
        office=settings.office_name or settings.representative_name,
        week=week,
        audience=audience,
        made_at=now or utcnow(),
        trend=figures.trend(session, facts, week),
        by_issue=figures.by_issue(session, facts, week),
        by_caseworker=figures.by_caseworker(session, facts, week),
        by_urgency=figures.by_urgency(session, facts, week),
        restricted_open=figures.restricted_open(session, week),
        waiting=waiting_on(session, week),
        tags=tag_usage(session, week),
        campaigns=campaigns_this_week(session, now=week.end),
    )
