"""The councillor's view: their residents' cases with status, last activity and next deadline;
and the small page where they choose how often the digest of their cases comes."""

from __future__ import annotations

from litestar import get, post
from litestar.response import Redirect, Template

from crm.caselist import case_page
from crm.informing import digests
from crm.informing.deadlines import listed_deadlines
from crm.letters.dates import uk_today
from crm.types import utcnow
from crm.users.models import User
from web.cases import filters_from
from web.current import councillors_only
from web.pages import AnyRequest, Form, back, flash, page, services

DIGEST_CHOICES = (
    (digests.DAILY, "Every day", "each morning, when something has changed or a deadline is near"),
    (digests.WEEKLY, "Every week", "on Monday mornings"),
    (digests.NONE, "Never", "no digest emails"),
)


@get("/councillor", sync_to_thread=True)
def councillor_cases(request: AnyRequest) -> Template:
    app = services(request)
    filters = filters_from(request.query_params)
    with app.database.session() as session:
        listing = case_page(session, request.user.viewer, filters)
        deadlines = listed_deadlines(session, app.settings, listing.rows, request.user.id)
    return page(
        request,
        "councillor.html",
        listing=listing,
        filters=filters,
        deadlines=deadlines.soonest,
        raised=deadlines.raised,
        today=uk_today(utcnow()),
        query=dict(request.query_params),
    )


@get("/councillor/digest", guards=[councillors_only], sync_to_thread=True)
def digest_settings(request: AnyRequest) -> Template:
    with services(request).database.session() as session:
        chosen = digests.frequency_of(session, request.user.id)
    return page(request, "councillor_digest.html", chosen=chosen, choices=DIGEST_CHOICES)


@post("/councillor/digest", guards=[councillors_only], sync_to_thread=True)
def save_digest_settings(request: AnyRequest, data: Form) -> Template | Redirect:
    choice = data.get("frequency", "")
    with services(request).database.session() as session:
        user = session.get(User, request.user.id)
        assert user is not None
        try:
            digests.set_frequency(session, user, choice)
        except digests.DigestError:
            error = "Choose how often you would like the digest."
        else:
            error = ""
    if error:
        return page(
            request,
            "councillor_digest.html",
            400,
            chosen=choice,
            choices=DIGEST_CHOICES,
            error=error,
        )
    label = next(text for value, text, _ in DIGEST_CHOICES if value == choice)
    flash(request, f"Digest: {label.lower()}.")
    return back("/councillor/digest")
