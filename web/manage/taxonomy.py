"""Taxonomy: the four axes' values with usage, through crm.tags' governance services."""

from __future__ import annotations

from collections.abc import Callable

from litestar import Router, get, post
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from crm.errors import MailbagError
from crm.tags import taxonomy
from crm.tags.adding import add_value
from tagging.axes import AXES, Axis
from tagging.errors import TaggingError
from web.pages import AnyRequest, Form, back, flash, page, services

HOME = "/manage/taxonomy"
# crm.tags turns tagging's name checks into its own TagNameError (a MailbagError).
REFUSALS = (MailbagError, TaggingError)


@get("/", sync_to_thread=True)
def taxonomy_page(request: AnyRequest) -> Template:
    with services(request).database.session() as session:
        values = taxonomy.listing(session, retired=True)
    by_axis = {axis.value: [v for v in values if v.axis is axis] for axis in AXES}
    return page(request, "manage/taxonomy.html", by_axis=by_axis)


@post("/add", sync_to_thread=True)
def value_add(request: AnyRequest, data: Form) -> Redirect:
    name = data.get("name", "")
    return _change(
        request,
        data,
        lambda s, axis, who: f'Added "{add_value(s, axis, name, who=who).path}".',
    )


@post("/rename", sync_to_thread=True)
def value_rename(request: AnyRequest, data: Form) -> Redirect:
    old, new = data.get("value", ""), data.get("new", "")

    def run(session: Session, axis: Axis, who: str) -> str:
        tag = taxonomy.rename(session, axis, old, new, who=who)
        return f'Renamed "{old}" to "{tag.path}"; the old name still finds it.'

    return _change(request, data, run)


@post("/merge", sync_to_thread=True)
def value_merge(request: AnyRequest, data: Form) -> Redirect:
    source, target = data.get("value", ""), data.get("into", "")

    def run(session: Session, axis: Axis, who: str) -> str:
        moved = taxonomy.merge(session, axis, source, target, who=who)
        return f'Merged "{source}" into "{target}": {moved} case tag(s) moved.'

    return _change(request, data, run)


@post("/retire", sync_to_thread=True)
def value_retire(request: AnyRequest, data: Form) -> Redirect:
    value = data.get("value", "")
    return _change(
        request,
        data,
        lambda s, axis, who: f'Retired "{taxonomy.retire(s, axis, value, who=who).path}".',
    )


@post("/restore", sync_to_thread=True)
def value_restore(request: AnyRequest, data: Form) -> Redirect:
    value = data.get("value", "")
    return _change(
        request,
        data,
        lambda s, axis, who: f'Restored "{taxonomy.restore(s, axis, value, who=who).path}".',
    )


def _change(
    request: AnyRequest, data: dict[str, str], action: Callable[[Session, Axis, str], str]
) -> Redirect:
    """One governance action in one transaction; a refusal is shown, nothing half-done."""
    try:
        axis = Axis(data.get("axis", ""))
    except ValueError:
        flash(request, "choose an axis", "error")
        return back(HOME)
    try:
        with services(request).database.session() as session:
            done = action(session, axis, request.user.email)
    except REFUSALS as error:
        flash(request, str(error), "error")
        return back(f"{HOME}#{axis.value}")
    flash(request, done)
    return back(f"{HOME}#{axis.value}")


router = Router(
    path="/taxonomy",
    route_handlers=[
        taxonomy_page,
        value_add,
        value_rename,
        value_merge,
        value_retire,
        value_restore,
    ],
)
