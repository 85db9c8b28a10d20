"""The constituent's private status page, and asking for a new link (public, no sign-in)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath
from litestar.response import Template

from crm.db import Database
from crm.enquiries import status_links
from crm.enquiries.errors import TooMany
from crm.enquiries.public_status import PublicStatus, public_status
from crm.enquiries.status_links import LinkState
from crm.enquiries.status_requests import check_request, request_link
from crm.models import Case
from crm.outgoing.send import deliver
from crm.settings import Settings
from crm.types import utcnow
from web.pages import Form, page, services

AnyReq = Request[Any, Any, Any]
# The link is the key to the page: keep it out of caches, and the page out of search engines.
PRIVATE = {"cache-control": "no-store", "x-robots-tag": "noindex, nofollow"}


@get("/new", sync_to_thread=False)
def new_link_form(request: AnyReq) -> Template:
    return _new_link_page(request, {}, {})


@post("/new", sync_to_thread=True)
def new_link(request: AnyReq, data: Form) -> Template:
    """The same page whether or not the address and reference matched a case."""
    wanted, errors = check_request(data.get("email", ""), data.get("reference", ""))
    if errors:
        return _new_link_page(request, data, errors, 400)
    svc = services(request)
    remote = request.client.host if request.client else ""
    try:
        with svc.database.session() as session:
            letter_id = request_link(session, svc.settings, wanted, remote, utcnow())
    except TooMany as error:
        return page(request, "enquiry/too_many.html", 429, message=str(error), office=None)
    response = page(request, "enquiry/status_sent.html", email=wanted.email)
    if letter_id is not None:
        response.background = BackgroundTask(deliver, svc.database, svc.settings, letter_id)
    return response


@get("/{token:str}", sync_to_thread=True)
def status(request: AnyReq, token: FromPath[str]) -> Template:
    svc = services(request)
    state, shown = _read(svc.database, svc.settings, token[:200])
    if shown is None:
        code = 410 if state is LinkState.EXPIRED else 404
        response = _new_link_page(request, {}, {}, code, expired=state is LinkState.EXPIRED)
    else:
        response = page(request, "enquiry/status.html", shown=shown)
    response.headers.update(PRIVATE)
    return response


def _read(
    database: Database, settings: Settings, token: str
) -> tuple[LinkState, PublicStatus | None]:
    with database.session() as session:
        check = status_links.check(session, settings, token, utcnow())
        case = session.get(Case, check.case_id) if check.case_id is not None else None
        if check.state is not LinkState.VALID:
            return check.state, None
        if case is None:
            return LinkState.INVALID, None
        return check.state, public_status(session, case)


def _new_link_page(
    request: AnyReq,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    *,
    expired: bool | None = None,
) -> Template:
    """Ask for a new link; after a bad or old link, say which, and offer the same form."""
    return page(
        request,
        "enquiry/status_new.html",
        status_code,
        values=values,
        errors=errors,
        expired=expired,
    )


router = Router(path="/status", route_handlers=[new_link_form, new_link, status])
