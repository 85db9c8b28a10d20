"""The councillor's view: their residents' cases with status, last activity and deadline."""

from __future__ import annotations

from litestar import get
from litestar.response import Template

from crm.caselist import case_page
from crm.models import Case
from crm.tags.deadlines import response_deadline
from web.cases import filters_from
from web.pages import AnyRequest, page, services


@get("/councillor", sync_to_thread=True)
def councillor_cases(request: AnyRequest) -> Template:
    app = services(request)
    filters = filters_from(request.query_params)
    with app.database.session() as session:
        listing = case_page(session, request.user.viewer, filters)
        deadlines = {}
        for row in listing.rows:
            case = session.get(Case, row.id)
            if case is not None and case.status == "open":
                deadlines[row.id] = response_deadline(session, case, app.settings)
    return page(
        request,
        "councillor.html",
        listing=listing,
        filters=filters,
        deadlines=deadlines,
        query=dict(request.query_params),
    )
