"""Third-party directory: organisations, their domains, grace periods and how they are chased."""

from __future__ import annotations

from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from crm.errors import MailbagError, NotFound
from crm.followups import directory_entry
from crm.followups.directory_entry import EntryForm
from crm.outgoing.directory import KINDS, DirectoryError
from web.manage.common import lines
from web.pages import AnyRequest, Form, back, flash, page, services, whole_number

HOME = "/manage/directory"
NEW = {
    "name": "",
    "kind": "department",
    "emails": "",
    "domains": "",
    "postal_address": "",
    "grace_days": "21",
    "working_days": False,
    "auto_chase": True,
    "second_chase_days": "",
    "notes": "",
}


@get("/", sync_to_thread=True)
def directory_list(request: AnyRequest) -> Template:
    with services(request).database.session() as session:
        rows = [_shown(e) for e in directory_entry.entries(session)]
    return page(request, "manage/directory.html", rows=rows)


@get("/new", sync_to_thread=True)
def organisation_new(request: AnyRequest) -> Template:
    return _form(request, None, dict(NEW))


@post("/new", sync_to_thread=True)
def organisation_add(request: AnyRequest, data: Form) -> Template | Redirect:
    return _save(request, None, data)


@get("/{organisation_id:int}", sync_to_thread=True)
def organisation_page(request: AnyRequest, organisation_id: FromPath[int]) -> Template:
    try:
        with services(request).database.session() as session:
            shown = _shown(directory_entry.entry(session, organisation_id))
    except NotFound:
        raise NotFoundException("no such organisation") from None
    return _form(request, organisation_id, shown)


@post("/{organisation_id:int}", sync_to_thread=True)
def organisation_save(
    request: AnyRequest, organisation_id: FromPath[int], data: Form
) -> Template | Redirect:
    return _save(request, organisation_id, data)


def _save(
    request: AnyRequest, organisation_id: int | None, data: dict[str, str]
) -> Template | Redirect:
    try:
        form = _entry_form(data)
        with services(request).database.session() as session:
            org = directory_entry.save_entry(session, organisation_id, form, who=request.user.email)
            name = org.name
    except NotFound:
        raise NotFoundException("no such organisation") from None
    except MailbagError as error:
        typed = {**data, "working_days": "working_days" in data, "auto_chase": _auto(data)}
        return _form(request, organisation_id, typed, 400, error=str(error))
    flash(request, f"{name} saved: the next follow-up to it uses these settings.")
    return back(HOME)


def _entry_form(data: dict[str, str]) -> EntryForm:
    """The form's text as the service's values; a number that is not one is said plainly."""
    return EntryForm(
        name=data.get("name", ""),
        kind=data.get("kind", ""),
        emails=lines(data.get("emails", "")),
        domains=lines(data.get("domains", "")),
        postal_address=data.get("postal_address", ""),
        grace_days=_days(data.get("grace_days", ""), "the grace period"),
        working_days="working_days" in data,
        auto_chase=_auto(data),
        second_chase_days=_optional_days(data.get("second_chase_days", ""), "the second chase"),
        notes=data.get("notes", ""),
    )


def _auto(data: dict[str, str]) -> bool:
    return data.get("chases", "auto") == "auto"


def _days(text: str, what: str) -> int:
    days = whole_number(text)
    if days is None:
        raise DirectoryError(f"{what}: give a whole number of days")
    return days


def _optional_days(text: str, what: str) -> int | None:
    """Empty: the office default."""
    return _days(text, what) if text.strip() else None


def _shown(entry: directory_entry.Entry) -> dict[str, Any]:
    """An organisation as the form and the list show it, read while the session is open."""
    org = entry.organisation
    return {
        "id": org.id,
        "name": org.name,
        "kind": org.kind,
        "emails": "\n".join(org.emails),
        "domains": "\n".join(org.domains),
        "addresses": [*org.emails, *(f"@{domain}" for domain in org.domains)],
        "postal_address": org.postal_address,
        "grace_days": str(entry.grace_days),
        "working_days": entry.working_days,
        "grace": entry.grace,
        "auto_chase": org.auto_chase,
        "second_chase_days": str(org.second_chase_days or ""),
        "notes": org.notes,
    }


def _form(
    request: AnyRequest,
    organisation_id: int | None,
    values: dict[str, Any],
    status_code: int = 200,
    error: str = "",
) -> Template:
    return page(
        request,
        "manage/organisation.html",
        status_code,
        org_id=organisation_id,
        values=values,
        kinds=KINDS,
        default_second=services(request).settings.second_chase_days,
        error=error,
    )


router = Router(
    path="/directory",
    route_handlers=[
        directory_list,
        organisation_new,
        organisation_add,
        organisation_page,
        organisation_save,
    ],
)
