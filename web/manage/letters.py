"""Letter templates: the list, one letter's variables and wording, preview, save, revert."""

from __future__ import annotations

from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from crm.errors import MailbagError
from crm.letters import overrides
from crm.letters.errors import TemplateVariableMissing, UnknownTemplate
from crm.letters.sample import Variable, sample_context, used_variables, variables
from crm.letters.templates import BODY, SUBJECT
from crm.letters.trial import try_draft
from web.pages import AnyRequest, Form, back, flash, page, services

HOME = "/manage/templates"
FIELDS = {SUBJECT: "subject", BODY: "body"}  # template file -> form field
SENDER_GIVES = "given by whatever sends this letter; may be left out (test with `is defined`)"


@get("/", sync_to_thread=True)
def template_list(request: AnyRequest) -> Template:
    app = services(request)
    with app.database.session() as session:
        letters = overrides.office_letters(session, app.settings).list()
    return page(request, "manage/templates.html", letters=letters)


@get("/{name:str}", sync_to_thread=True)
def template_page(request: AnyRequest, name: FromPath[str]) -> Template:
    return _editor(request, name)


@post("/{name:str}", sync_to_thread=True)
def template_save(request: AnyRequest, name: FromPath[str], data: Form) -> Template | Redirect:
    """Save the office's wording; if any part does not render, nothing is saved."""
    app = services(request)
    sources = _sources(data)
    try:
        with app.database.session() as session:
            overrides.save(session, app.settings, name, sources, who=request.user.email)
    except overrides.TemplateRefused as refused:
        return _editor(request, name, 400, sources=sources, problems=_by_field(refused.problems))
    except UnknownTemplate:
        raise NotFoundException("no such letter") from None
    flash(request, "Saved: letters from now on use this wording.")
    return back(f"{HOME}/{name}")


@post("/{name:str}/preview", sync_to_thread=True)
def template_preview(request: AnyRequest, name: FromPath[str], data: Form) -> Template:
    """The wording in the form, filled in with a real case; nothing is saved or sent."""
    app = services(request)
    sources = _sources(data)
    reference, to = data.get("reference", "").strip(), data.get("to", "").strip()
    problems: dict[str, str] = {}
    shown: dict[str, str] = {}
    error = ""
    with app.database.session() as session:
        try:
            made = try_draft(
                session,
                app.settings,
                request.user.viewer,
                name,
                sources,
                reference=reference,
                to=to,
            )
            shown = {"to": made.recipient.email, "subject": made.subject, "text": made.email.text}
        except overrides.TemplateRefused as refused:
            problems = _by_field(refused.problems)
        except TemplateVariableMissing as missing:
            part = missing.template.rpartition("/")[2]
            problems = {FIELDS.get(part, "body"): str(missing)}
        except UnknownTemplate:
            raise NotFoundException("no such letter") from None
        except MailbagError as failure:
            error = f"Cannot fill this letter in with that case: {failure}"
    return _editor(
        request,
        name,
        400 if problems or error else 200,
        sources=sources,
        problems=problems,
        error=error,
        shown=shown,
        reference=reference,
        to=to,
    )


@post("/{name:str}/revert", sync_to_thread=True)
def template_revert(request: AnyRequest, name: FromPath[str]) -> Redirect:
    with services(request).database.session() as session:
        removed = overrides.revert(session, name, who=request.user.email)
    flash(request, "Back to the standard wording." if removed else "Nothing to undo.")
    return back(f"{HOME}/{name}")


def _editor(request: AnyRequest, name: str, status_code: int = 200, **context: Any) -> Template:
    """The letter's page: its variables, its wording (as typed, when refused), a preview."""
    app = services(request)
    with app.database.session() as session:
        try:
            letters = overrides.office_letters(session, app.settings)
            info = letters.info(name)
            wording = overrides.wording(session, app.settings, name)
        except UnknownTemplate:
            raise NotFoundException("no such letter") from None
    sample = sample_context(info)
    given = overrides.given_variables(app.settings, name, sample.as_mapping())
    listed = [*variables(sample), *(Variable(n, SENDER_GIVES) for n in sorted(given))]
    typed = context.pop("sources", None) or wording.sources
    used = set().union(*(used_variables(letters.env, text) for text in typed.values()))
    return page(
        request,
        "manage/template.html",
        status_code,
        info=info,
        fields={FIELDS[part]: typed.get(part, "") for part in overrides.EDITABLE},
        overridden=bool(wording.overridden),
        variables=listed,
        used=used,
        **{"problems": {}, "error": "", "shown": {}, "reference": "", "to": "", **context},
    )


def _sources(data: dict[str, str]) -> dict[str, str]:
    return {part: data.get(field, "") for part, field in FIELDS.items()}


def _by_field(problems: dict[str, str]) -> dict[str, str]:
    return {FIELDS.get(part, part): text for part, text in problems.items()}


router = Router(
    path="/templates",
    route_handlers=[template_list, template_page, template_save, template_preview, template_revert],
)
