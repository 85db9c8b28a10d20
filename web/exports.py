"""Exports: the case list as CSV, with the list's filters and the viewer's access, audited."""

from __future__ import annotations

from datetime import date

from litestar import Router, get
from litestar.response import Stream

from crm import case_export
from web.cases import filters_from
from web.current import staff_only
from web.pages import AnyRequest, services


@get("/cases.csv", sync_to_thread=True)
def cases_csv(request: AnyRequest) -> Stream:
    """The filtered list, every page of it; the download is in the audit log before it starts."""
    app = services(request)
    filters = filters_from(request.query_params)
    with app.database.session() as session:
        ids = case_export.matching_ids(session, request.user.viewer, filters)
        case_export.record_export(session, request.user.email, filters, len(ids))
    filename = f"mailbag-cases-{date.today():%Y-%m-%d}.csv"
    return Stream(
        case_export.csv_chunks(app.database, ids),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
        },
    )


router = Router(path="/export", guards=[staff_only], route_handlers=[cases_csv])
