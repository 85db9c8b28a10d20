"""Campaign pages: every campaign, one campaign's summary, and its "Reply to all" button.

Thin routes over crm.campaigns; the reply itself runs in the background through
crm.workers.background (the workers when there is Redis, a thread here when not), the same
resumable service `mailbag campaigns reply` runs.
"""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from crm.campaigns.errors import CampaignError
from crm.campaigns.summary import campaign_rows
from crm.campaigns.viewer import campaign_page
from crm.errors import MailbagError
from crm.letters.templates import CONSTITUENT, letters_for
from crm.settings import Settings
from crm.workers import background
from web.current import staff_only
from web.pages import AnyRequest, Form, back, flash, page, services

DEFAULT_REPLY = "campaign_reply"
STARTED = {
    background.QUEUED: "Reply to all handed to the workers: progress shows below.",
    background.STARTED: "Replying to all in the background: progress shows below.",
    background.RUNNING: "Already replying to this campaign: progress shows below.",
}


@get("/", sync_to_thread=True)
def campaign_list(request: AnyRequest) -> Template:
    with services(request).database.session() as session:
        rows = campaign_rows(session)
    return page(request, "campaigns.html", rows=rows)


@get("/{campaign_id:int}", sync_to_thread=True)
def campaign_view(request: AnyRequest, campaign_id: FromPath[int]) -> Template:
    """Template, senders, personal additions, tags, kept cases and the reply's progress."""
    app = services(request)
    with app.database.session() as session:
        try:
            shown = campaign_page(session, app.settings, request.user.viewer, campaign_id)
        except CampaignError:
            raise NotFoundException("no such campaign") from None
    replies = _reply_letters(app.settings)
    chosen = shown.summary.reply_template or (DEFAULT_REPLY if DEFAULT_REPLY in replies else "")
    return page(
        request,
        "campaign.html",
        shown=shown,
        row=shown.summary.row,
        reply=shown.summary.reply,
        replies=replies,
        chosen=chosen,
        running=background.in_process_running(app.database, campaign_id),
        cases_url="/?" + urlencode({"campaign": campaign_id}),
    )


@post("/{campaign_id:int}/reply", sync_to_thread=True)
def campaign_reply(request: AnyRequest, campaign_id: FromPath[int], data: Form) -> Redirect:
    """Start (or resume) the reply to all with the chosen template."""
    app = services(request)
    url = f"/campaigns/{campaign_id}"
    try:
        started = background.start_campaign_reply(
            app.database, app.settings, campaign_id, data.get("template", "").strip()
        )
    except MailbagError as error:
        flash(request, f"Not started: {error}", "error")
        return back(url)
    flash(request, STARTED[started])
    return back(url)


def _reply_letters(settings: Settings) -> dict[str, str]:
    """The letters a campaign can be answered with (those for constituents): name -> title."""
    letters = letters_for(settings.templates_dir).list()
    return {info.name: info.title for info in letters if info.audience == CONSTITUENT}


router = Router(
    path="/campaigns",
    guards=[staff_only],
    route_handlers=[campaign_list, campaign_view, campaign_reply],
)
