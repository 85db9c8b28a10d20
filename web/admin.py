"""Staff pages beside the cases: not-casework mail, the quarantine, the audit log."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from litestar import Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from crm import audit, checkpoints, listings, quarantine
from crm.errors import NotFound
from web.current import managers_only, staff_only
from web.downloads import as_download
from web.pages import AnyRequest, Form, back, flash, page, services, whole_number

# Given by the composition root: runs quarantined messages through the pipeline again and
# says what happened in one line. The web layer does not know the pipeline.
RetryQuarantine = Callable[[Sequence[int] | None], str]


@get("/not-casework", sync_to_thread=True)
def not_casework(request: AnyRequest) -> Template:
    with services(request).database.session() as session:
        messages = listings.not_casework(session, limit=200)
    return page(request, "not_casework.html", messages=messages)


@get("/quarantine", sync_to_thread=True)
def quarantine_list(request: AnyRequest) -> Template:
    with services(request).database.session() as session:
        entries = quarantine.pending(session)
        refused = checkpoints.pending_unreadable(session)
    can_retry = request.app.state.get("retry_quarantine") is not None
    return page(request, "quarantine.html", entries=entries, refused=refused, can_retry=can_retry)


@post("/quarantine/retry", sync_to_thread=True)
def quarantine_retry(request: AnyRequest, data: Form) -> Redirect:
    retry: RetryQuarantine | None = request.app.state.get("retry_quarantine")
    if retry is None:
        flash(
            request,
            "Retrying is not available in this process: use `mailbag quarantine retry`.",
            "error",
        )
        return back("/admin/quarantine")
    entry = data.get("id", "")
    number = whole_number(entry)
    flash(request, retry([number] if number is not None else None))
    return back("/admin/quarantine")


@get("/quarantine/{entry_id:int}/message.eml", guards=[managers_only], sync_to_thread=True)
def quarantined_message(request: AnyRequest, entry_id: FromPath[int]) -> Response[bytes]:
    """The message as it came, to save and look into."""
    with services(request).database.session() as session:
        try:
            raw = quarantine.raw_message(session, entry_id, who=request.user.email)
        except NotFound:
            raise NotFoundException("no such quarantined message") from None
    return as_download(f"quarantined-{entry_id}.eml", "message/rfc822", raw)


@get("/audit", guards=[managers_only], sync_to_thread=True)
def audit_log(request: AnyRequest, page_number: FromQuery[int] = 1) -> Template:
    offset = (max(1, page_number) - 1) * 200
    with services(request).database.session() as session:
        entries = audit.recent(session, limit=200, offset=offset)
    return page(request, "audit.html", entries=entries, page_number=page_number)


router = Router(
    path="/admin",
    guards=[staff_only],
    route_handlers=[
        not_casework,
        quarantine_list,
        quarantine_retry,
        quarantined_message,
        audit_log,
    ],
)
