"""A councillor raises a case for a resident: the form, and its answer. Thin over crm.informing.

A form with mistakes comes back with a message beside each wrong field and everything the
councillor typed still in it.
"""

from __future__ import annotations

from typing import Any

from litestar import Router, get, post
from litestar.response import Redirect, Template

from crm.informing import requests
from crm.letters.dates import uk_long_date
from crm.types import utcnow
from crm.users.models import User
from web.current import councillors_only
from web.pages import AnyRequest, Form, back, flash, page, services

FIELDS = ("name", "email", "phone", "address", "postcode", "wanted", "due_on", "issue")


@get("/new", sync_to_thread=True)
def request_form(request: AnyRequest) -> Template:
    with services(request).database.session() as session:
        issues = requests.issue_choices(session)
    return _form(request, issues, {}, {})


@post("/", sync_to_thread=True)
def raise_case(request: AnyRequest, data: Form) -> Template | Redirect:
    app = services(request)
    form = _form_from(data)
    with app.database.session() as session:
        councillor = session.get(User, request.user.id)
        assert councillor is not None
        try:
            raised = requests.raise_case(session, app.settings, councillor, form, utcnow())
        except requests.RequestInvalid as invalid:
            issues = requests.issue_choices(session)
            return _form(request, issues, _values(data), invalid.errors, status_code=400)
    flash(
        request,
        f"Case {raised.reference} raised for {form.name.strip()}, "
        f"wanted by {uk_long_date(raised.due_on)}. The office will take it from here.",
    )
    return back("/councillor")


def _form_from(data: dict[str, str]) -> requests.RequestForm:
    return requests.RequestForm(
        **{name: data.get(name, "") for name in FIELDS}, consent=data.get("consent") == "yes"
    )


def _values(data: dict[str, str]) -> dict[str, Any]:
    """What the councillor typed, to put back in the form (autoescaped by the template)."""
    return {**{name: data.get(name, "") for name in FIELDS}, "consent": data.get("consent")}


def _form(
    request: AnyRequest,
    issues: list[str],
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Template:
    return page(
        request,
        "councillor_request.html",
        status_code,
        issues=issues,
        values=values,
        errors=errors,
        consent_text=requests.CONSENT_TEXT,
    )


router = Router(
    path="/councillor/requests",
    guards=[councillors_only],
    route_handlers=[request_form, raise_case],
)
