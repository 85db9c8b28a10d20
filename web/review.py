"""The weekly review page: the workbook's Summary on one light page, and its download.

Thin routes over crm.reports. Staff only; each person sees and downloads the version made
for their role (only office managers' workbooks describe restricted cases).
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any
from urllib.parse import urlencode

from litestar import Response, Router, get
from litestar.exceptions import HTTPException
from litestar.params import FromQuery
from litestar.response import Template

from crm.casefilters import ANYONE
from crm.caselist import UNASSIGNED
from crm.reports.errors import ReportError
from crm.reports.make import make_workbook
from crm.reports.period import Week
from crm.reports.weekly import WeeklyReview, gather, week_for
from web.current import staff_only
from web.pages import AnyRequest, page, services
from web.review_charts import issue_chart, trend_chart

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@get("/", sync_to_thread=True)
def review_page(request: AnyRequest, week_ending: FromQuery[str] = "") -> Template:
    """This week's figures, the trend and the breakdowns, with links into the case list."""
    week = _week(week_ending)
    settings, database = services(request).settings, services(request).database
    with database.session() as session:
        review = gather(session, settings, week, audience=request.user.role)
    return page(
        request,
        "review.html",
        review=review,
        trend=trend_chart(review.trend),
        issues=issue_chart(review.by_issue),
        links=_links(review),
        previous=review.week.earlier(1).ending,
        following=_following(review.week),
    )


@get("/weekly.xlsx", sync_to_thread=True)
def review_download(request: AnyRequest, week_ending: FromQuery[str] = "") -> Response[bytes]:
    """The workbook of the week, made now for the person's role."""
    week = _week(week_ending)
    buffer = io.BytesIO()
    made = make_workbook(
        services(request).database,
        services(request).settings,
        buffer,
        week_ending=week.ending,
        audience=request.user.role,
        who=request.user.email,
    )
    return Response(
        buffer.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{made.filename}"'},
    )


def _week(text: str) -> Week:
    """The week asked for (YYYY-MM-DD), or the one that ended yesterday."""
    try:
        day = date.fromisoformat(text) if text else None
        return week_for(day)
    except ValueError:
        raise HTTPException(status_code=400, detail="week_ending: expected YYYY-MM-DD") from None
    except ReportError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None


def _following(week: Week) -> date | None:
    later = week.earlier(-1)
    try:
        week_for(later.ending)
    except ReportError:
        return None
    return later.ending


def _links(review: WeeklyReview) -> dict[str, dict[str, str]]:
    """Case-list addresses for each breakdown row, by the filters the list has.

    The list shows cases as they stand now; the figures are as at the end of the week.
    """
    week = review.week
    return {
        "issue": {b.label: _list(issue=b.key) for b in review.by_issue if b.key},
        "caseworker": {b.label: _list(owner=b.key or UNASSIGNED) for b in review.by_caseworker},
        "urgency": {b.label: _list(urgency=b.key) for b in review.by_urgency if b.key},
        "waiting": {w.organisation: _list(waiting=w.organisation) for w in review.waiting},
        "campaign": {str(c.campaign_id): f"/campaigns/{c.campaign_id}" for c in review.campaigns},
        "lists": {
            "new this week": _list(
                status="", opened_from=week.first.isoformat(), opened_to=week.ending.isoformat()
            ),
            "waiting on third parties": _list(waiting=ANYONE),
            "overdue": _list(overdue="1"),
        },
    }


def _list(**filters: Any) -> str:
    given = {"status": "open", **filters}
    return "/?" + urlencode({name: value for name, value in given.items() if value})


router = Router(path="/review", guards=[staff_only], route_handlers=[review_page, review_download])
