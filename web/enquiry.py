"""The public enquiry form (no sign-in): thin routes over crm.enquiries, pages that need no JS."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.concurrency import sync_to_thread
from litestar.datastructures import UploadFile
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.response import Redirect, Template

from crm.enquiries import formstamp
from crm.enquiries.attachments import ACCEPT, ALLOWED_TEXT, MAX_FILE_BYTES, MAX_FILES, Upload
from crm.enquiries.errors import ScreenerError
from crm.enquiries.form import EnquiryForm
from crm.enquiries.routing import Decision
from crm.enquiries.screener import COUNCIL, Screener
from crm.enquiries.screener_file import screener_for
from crm.enquiries.submit import Outcome, Posted, Result, receive
from crm.outgoing.send import deliver
from crm.settings import Settings
from crm.types import utcnow
from web.pages import back, page, services

log = logging.getLogger(__name__)
MB = 1024 * 1024
MAX_BODY = MAX_FILES * MAX_FILE_BYTES + MB  # the files and the form around them
HONEYPOT = "website"
RECEIVED_KEY = "enquiry_received"
AnyReq = Request[Any, Any, Any]


@get("/", sync_to_thread=False)
def enquiry_form(request: AnyReq) -> Template:
    settings = services(request).settings
    screener = _screener(settings)
    if screener is None:
        return _unavailable(request, settings)
    return form_page(request, settings, screener, stamp=formstamp.issue(settings, utcnow()))


def too_large(request: AnyReq, _error: RequestEntityTooLarge) -> Template:
    """More than the form takes at all: the post was never read, so nothing of it can be kept;
    say the limits plainly (not Litestar's bare 413) and how to send it again."""
    return page(
        request,
        "enquiry/too_large.html",
        413,
        max_files=MAX_FILES,
        max_mb=MAX_FILE_BYTES // MB,
        limit_mb=MAX_BODY // MB,
        office=_office(services(request).settings),
    )


@post(
    "/",
    request_max_body_size=MAX_BODY,
    exception_handlers={RequestEntityTooLarge: too_large},  # raised as the CSRF check reads it
)
async def enquiry_post(request: AnyReq) -> Template | Redirect:
    settings, database = services(request).settings, services(request).database
    screener = _screener(settings)
    if screener is None:
        return _unavailable(request, settings)
    fields, uploads = await _read_form(request)
    posted = Posted(
        form=EnquiryForm.from_fields(fields, screener, uploads),
        stamp=fields.get("stamp", ""),
        honeypot=fields.get(HONEYPOT, ""),
        remote=request.client.host if request.client else "",
    )
    now = utcnow()
    outcome = await sync_to_thread(receive, database, settings, screener, posted, now)
    if outcome.result is Result.RECEIVED:
        return _received(request, outcome, posted)
    return _answer(request, settings, screener, posted, outcome)


@get("/received", sync_to_thread=False)
def received(request: AnyReq) -> Template | Redirect:
    """The confirmation, from the session: a reload shows it again, a stranger sees the form."""
    session = request.scope.get("session")
    done = session.get(RECEIVED_KEY) if isinstance(session, dict) else None
    if not isinstance(done, dict):
        return back("/enquiry")
    settings = services(request).settings
    screener = _screener(settings)
    return page(
        request,
        "enquiry/received.html",
        done=done,
        council=screener.council if screener else None,
        office=_office(settings),
    )


def form_page(
    request: AnyReq,
    settings: Settings,
    screener: Screener,
    *,
    stamp: str,
    form: EnquiryForm | None = None,
    outcome: Outcome | None = None,
    status_code: int = 200,
) -> Template:
    """The form, blank or as the person left it, with each problem beside its field."""
    decision = outcome.decision if outcome is not None else Decision("")
    errors = outcome.errors if outcome is not None else {}
    return page(
        request,
        "enquiry/form.html",
        status_code,
        screener=screener,
        form=form or EnquiryForm(),
        errors=errors,
        anchors={key: _anchor(screener, key) for key in errors},
        notice=outcome.message if outcome is not None else "",
        council_offer=decision.route == COUNCIL,
        files_again=bool(form and form.uploads),
        stamp=stamp,
        honeypot=HONEYPOT,
        accept=ACCEPT,
        allowed_text=ALLOWED_TEXT,
        max_files=MAX_FILES,
        max_mb=MAX_FILE_BYTES // MB,
        office=_office(settings),
    )


def _answer(
    request: AnyReq, settings: Settings, screener: Screener, posted: Posted, outcome: Outcome
) -> Template:
    """Every outcome but a new case: a route's page, or the form again with what went wrong."""
    office = _office(settings)
    pages = {
        Result.EMERGENCY: ("enquiry/emergency.html", 200),
        Result.OUTSIDE: ("enquiry/outside.html", 200),
        Result.COUNCIL: ("enquiry/council.html", 200),
        Result.TOO_MANY: ("enquiry/too_many.html", 429),
    }
    if outcome.result in pages:
        name, status_code = pages[outcome.result]
        return page(request, name, status_code, screener=screener, outcome=outcome, office=office)
    kept = formstamp.check(settings, posted.stamp, utcnow())
    # Keep the first stamp when it is sound: someone fixing one field resubmits in a second.
    stamp = posted.stamp if kept in (formstamp.Stamp.OK, formstamp.Stamp.TOO_FAST) else ""
    return form_page(
        request,
        settings,
        screener,
        stamp=stamp or formstamp.issue(settings, utcnow()),
        form=posted.form,
        outcome=outcome,
        status_code=400,
    )


def _received(request: AnyReq, outcome: Outcome, posted: Posted) -> Redirect:
    """POST, redirect, GET: the confirmation survives a reload and is never posted twice."""
    found = request.scope.get("session")
    current = dict(found) if isinstance(found, dict) else {}
    done = {
        "reference": outcome.reference,
        "acknowledged": outcome.letter_id is not None,
        "email": posted.form.email.strip().lower(),
        "passed_on": outcome.passed_on,
    }
    request.set_session({**current, RECEIVED_KEY: done})
    task = None
    if outcome.letter_id is not None:
        svc = services(request)
        task = BackgroundTask(deliver, svc.database, svc.settings, outcome.letter_id)
    return Redirect("/enquiry/received", status_code=303, background=task)


async def _read_form(request: AnyReq) -> tuple[dict[str, str], list[Upload]]:
    """Text fields (the first of each name) and the chosen files, each read up to the limit."""
    form = await request.form()
    fields: dict[str, str] = {}
    uploads: list[Upload] = []
    for key in form:
        for value in form.getall(key):
            if isinstance(value, UploadFile):
                if key == "attachments" and len(uploads) <= MAX_FILES:
                    data = await value.read(MAX_FILE_BYTES + 1)
                    if value.filename or data:  # an empty file box sends an empty part
                        uploads.append(Upload(value.filename or "", data))
            elif isinstance(value, str) and key not in fields:
                fields[key] = value
    return fields, uploads


def _anchor(screener: Screener, key: str) -> str:
    """The id of the control an error summary link moves to: a group's first choice."""
    for question in screener.questions:
        if question.field == key:
            return f"{key}-{question.answers[0].id}"
    return "pass_on-yes" if key == "pass_on" else key


def _screener(settings: Settings) -> Screener | None:
    try:
        return screener_for(settings)
    except ScreenerError as error:
        log.error("the enquiry form is off: %s", error)
        return None


def _unavailable(request: AnyReq, settings: Settings) -> Template:
    return page(request, "enquiry/unavailable.html", 503, office=_office(settings))


def _office(settings: Settings) -> dict[str, str]:
    """How the pages name the office and how to reach it other than by this form."""
    return {
        "representative": settings.representative_name or "the office",
        "phone": settings.office_phone,
        "email": next(iter(sorted(settings.office_addresses)), ""),
    }


router = Router(path="/enquiry", route_handlers=[enquiry_form, enquiry_post, received])
