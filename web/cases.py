"""The case list and the case page, with the caseworker's actions: thin routes over crm."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import attachments, casefilters, casework, notes
from crm import constituents as constituent_service
from crm.casefile import open_case_file
from crm.caselist import SORTS, UNASSIGNED, CaseFilters, case_page
from crm.errors import MailbagError, NotFound
from crm.followups import service as followups
from crm.letters.preview import preview
from crm.letters.templates import letters_for
from crm.models import Case
from crm.outgoing import directory
from crm.outgoing.models import SENT
from crm.outgoing.send import send_letter
from crm.tags.rulebook import active_choices
from crm.tags.service import set_manual
from crm.types import utcnow
from crm.users.service import staff_choices
from tagging.axes import AXES, Axis
from web.current import Me, staff_only
from web.downloads import as_download
from web.email_html import sanitise
from web.pages import AnyRequest, Form, back, flash, page, plain, services, whole_number

PER_PAGE = 50
YES = ("1", "on", "yes", "true")


def filters_from(query: Any) -> CaseFilters:
    """The list's filters from the query string; unknown values are ignored, not errors."""
    query = {name: plain(str(query.get(name, ""))) for name in query}
    owner = query.get("owner", "")
    return CaseFilters(
        status=query.get("status", "") if query.get("status") in ("open", "closed") else "",
        tags={axis: query[axis.value] for axis in AXES if query.get(axis.value)},
        owner=owner if owner == UNASSIGNED or whole_number(owner) is not None else "",
        ward=query.get("ward", "")[:10],
        search=query.get("q", "")[:200],
        sort=query.get("sort", "activity") if query.get("sort") in SORTS else "activity",
        page=whole_number(query.get("page", "")) or 1,
        per_page=PER_PAGE,
        waiting=query.get("waiting", "")[:200],
        overdue=query.get("overdue", "") in YES,
        opened_from=_day(query.get("opened_from", "")),
        opened_to=_day(query.get("opened_to", "")),
        campaign=whole_number(query.get("campaign", "")),
    )


def _day(text: str) -> date | None:
    """A YYYY-MM-DD date, or no bound at all when it is anything else."""
    try:
        return date.fromisoformat(text.strip()[:10]) if text.strip() else None
    except ValueError:
        return None


@get("/", sync_to_thread=True)
def case_list(request: AnyRequest) -> Template | Redirect:
    if not request.user.is_staff:
        return Redirect("/councillor", status_code=303)
    filters = filters_from(request.query_params)
    with services(request).database.session() as session:
        listing = case_page(session, request.user.viewer, filters)
        choices = active_choices(session)
        people = staff_choices(session)
        more = casefilters.choices(session)
    return page(
        request,
        "case_list.html",
        listing=listing,
        filters=filters,
        choices=choices,
        people=people,
        organisations=more.organisations,
        campaigns=more.campaigns,
        anyone=casefilters.ANYONE,
        unassigned=UNASSIGNED,
        sorts=list(SORTS),
        query=dict(request.query_params),
    )


@get("/cases/{reference:str}", sync_to_thread=True)
def case_view(
    request: AnyRequest,
    reference: FromPath[str],
    kind: FromQuery[str] = "",
    before: FromQuery[str] = "",
) -> Template:
    settings = services(request).settings
    me: Me = request.user
    with services(request).database.session() as session:
        try:
            file = open_case_file(
                session,
                settings,
                me.viewer,
                plain(reference),
                kind=plain(kind)[:30],
                before=whole_number(before),
            )
        except NotFound:
            raise NotFoundException("no such case") from None
        bodies = {
            e.id: sanitise(e.message.body_html) if e.message and e.message.body_html else None
            for e in file.timeline
        }
        extra: dict[str, Any] = {}
        if me.is_staff:
            extra = {
                "choices": active_choices(session),
                "people": staff_choices(session),
                "letters": letters_for(settings.templates_dir).list(),
                "organisations": directory.organisation_names(session),
            }
    return page(request, "case.html", file=file, bodies=bodies, kind=kind, **extra)


def attachment_url(reference: str, attachment_id: int) -> str:
    """Where the page and the API send the browser to save an attachment (`attachment`)."""
    return f"/cases/{reference}/attachments/{attachment_id}"


@get("/cases/{reference:str}/attachments/{attachment_id:int}", sync_to_thread=True)
def attachment(
    request: AnyRequest, reference: FromPath[str], attachment_id: FromPath[int]
) -> Response[bytes]:
    """An attachment of a message on the case, to save; 404 as for the case itself."""
    with services(request).database.session() as session:
        try:
            found = attachments.download(
                session, request.user.viewer, plain(reference), attachment_id
            )
        except NotFound:
            raise NotFoundException("no such attachment") from None
    return as_download(found.filename, found.content_type, found.data)


def _case(session: Session, me: Me, reference: str) -> Case:
    """The case if this person may see it; 404 otherwise (the same answer as no case)."""
    from crm.access import visible_cases

    case = session.scalar(
        select(Case).where(Case.reference == reference.upper(), visible_cases(me.viewer))
    )
    if case is None:
        raise NotFoundException("no such case")
    return case


def _url(reference: str) -> str:
    return f"/cases/{reference.upper()}"


@post("/cases/{reference:str}/notes", sync_to_thread=True)
def add_note(request: AnyRequest, reference: FromPath[str], data: Form) -> Redirect:
    """Staff add notes; a councillor's note is a request to the office."""
    with services(request).database.session() as session:
        case = _case(session, request.user, reference)
        user = _user_row(session, request.user)
        try:
            notes.add_note(session, case, user, data.get("body", ""), pinned="pinned" in data)
        except MailbagError as error:
            flash(request, str(error), "error")
            return back(_url(reference))
    flash(request, "Request sent to the office." if not request.user.is_staff else "Note added.")
    return back(_url(reference))


@post("/cases/{reference:str}/notes/{note_id:int}/pin", guards=[staff_only], sync_to_thread=True)
def pin_note(
    request: AnyRequest, reference: FromPath[str], note_id: FromPath[int], data: Form
) -> Redirect:
    return _act(
        request, reference, lambda s, c: notes.set_pinned(s, c, note_id, data.get("pinned") == "1")
    )


@post("/cases/{reference:str}/assign", guards=[staff_only], sync_to_thread=True)
def assign(request: AnyRequest, reference: FromPath[str], data: Form) -> Redirect:
    owner = data.get("owner", "")
    owner_id = whole_number(owner)
    return _act(
        request,
        reference,
        lambda s, c: casework.assign(s, c, owner_id, who=_user_row(s, request.user)),
        "Assigned.",
    )


@post("/cases/{reference:str}/status", guards=[staff_only], sync_to_thread=True)
def change_status(request: AnyRequest, reference: FromPath[str], data: Form) -> Redirect:
    action, reason = data.get("action", ""), data.get("reason", "")

    def run(session: Session, case: Case) -> None:
        who = _user_row(session, request.user)
        if action == "close":
            casework.close(session, case, who=who, reason=reason)
        elif action == "reopen":
            casework.reopen(session, case, who=who, reason=reason)
        else:
            raise casework.CaseworkError("choose close or reopen")

    return _act(request, reference, run, "Closed." if action == "close" else "Reopened.")


@post("/cases/{reference:str}/tags", guards=[staff_only], sync_to_thread=True)
def change_tag(request: AnyRequest, reference: FromPath[str], data: Form) -> Redirect:
    axis_text, value = data.get("axis", ""), data.get("value", "")

    def run(session: Session, case: Case) -> None:
        try:
            axis = Axis(axis_text)
        except ValueError:
            raise casework.CaseworkError("choose an axis") from None
        set_manual(
            session,
            case.reference,
            axis,
            value,
            who=request.user.email,
            reason=data.get("reason", ""),
        )

    return _act(request, reference, run, "Tag changed.")


@post(
    "/cases/{reference:str}/follow-ups/{follow_up_id:int}", guards=[staff_only], sync_to_thread=True
)
def follow_up(
    request: AnyRequest, reference: FromPath[str], follow_up_id: FromPath[int], data: Form
) -> Redirect:
    """The reply came by post or phone (no chase goes), or the party gets more days."""
    reason, who, now = data.get("reason", ""), request.user.email, utcnow()
    extending = data.get("action") == "extend"
    days = whole_number(data.get("days", "")) or 0

    def run(session: Session, case: Case) -> None:
        if extending:
            followups.extend(
                session, follow_up_id, days=days, reason=reason, who=who, now=now, case_id=case.id
            )
        else:
            followups.satisfy(
                session, follow_up_id, reason=reason, who=who, now=now, case_id=case.id
            )

    done = f"Given {days} more days." if extending else "Marked as replied to: no chase will go."
    return _act(request, reference, run, done)


@post("/cases/{reference:str}/merge", guards=[staff_only], sync_to_thread=True)
def merge(request: AnyRequest, reference: FromPath[str], data: Form) -> Redirect:
    other = data.get("other", "").strip().lstrip("#")

    def run(session: Session, case: Case) -> None:
        if case.constituent_id is None or not other.isdigit():
            raise casework.CaseworkError("give the number of the other constituent's record")
        constituent_service.merge(session, case.constituent_id, int(other))

    return _act(request, reference, run, f"Constituent {other} merged into this one.")


@post("/cases/{reference:str}/letters/preview", guards=[staff_only], sync_to_thread=True)
def letter_preview(
    request: AnyRequest, reference: FromPath[str], data: Form
) -> Template | Redirect:
    """See the letter exactly as it would go; sending is a second, deliberate step."""
    settings = services(request).settings
    template, to, note = data.get("template", ""), data.get("to", "").strip(), data.get("note", "")
    with services(request).database.session() as session:
        case = _case(session, request.user, reference)
        try:
            shown = preview(session, settings, template, case.reference, to=to or None, note=note)
        except MailbagError as error:
            flash(request, f"Cannot prepare that letter: {error}", "error")
            return back(_url(reference))
        view = {"to": shown.recipient.email, "subject": shown.subject, "text": shown.email.text}
    return page(
        request,
        "letter_preview.html",
        reference=case.reference,
        shown=view,
        title=shown.info.title,
        form={"template": template, "to": to, "note": note},
    )


@post("/cases/{reference:str}/letters/send", guards=[staff_only], sync_to_thread=True)
def letter_send(request: AnyRequest, reference: FromPath[str], data: Form) -> Redirect:
    app = services(request)
    with app.database.session() as session:
        case = _case(session, request.user, reference)
        ref = case.reference
    try:
        delivery = send_letter(
            app.database,
            app.settings,
            reference=ref,
            template=data.get("template", ""),
            to=data.get("to", "").strip() or None,
            note=data.get("note", ""),
        )
    except MailbagError as error:
        flash(request, f"Not sent: {error}", "error")
        return back(_url(ref))
    if delivery.status == SENT:
        flash(request, "Sent.")
    else:
        flash(request, f"Not sent: {delivery.error} (kept in the outbox to retry)", "error")
    return back(_url(ref))


def _user_row(session: Session, me: Me) -> Any:
    from crm.users.models import User

    user = session.get(User, me.id)
    assert user is not None
    return user


def _act(request: AnyRequest, reference: str, action: Any, done: str = "Saved.") -> Redirect:
    """Run one action on a visible case in one transaction; our errors become a message."""
    try:
        with services(request).database.session() as session:
            case = _case(session, request.user, reference)
            action(session, case)
    except MailbagError as error:
        flash(request, str(error), "error")
    else:
        flash(request, done)
    return back(_url(reference))


router = Router(
    path="/",
    route_handlers=[
        case_list,
        case_view,
        attachment,
        follow_up,
        add_note,
        pin_note,
        assign,
        change_status,
        change_tag,
        merge,
        letter_preview,
        letter_send,
    ],
)
