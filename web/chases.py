"""Chases waiting for approval, sent with one click, and what the office waits for.

Thin routes over crm.followups, the services `mailbag chases` uses. Staff only; a follow-up
on a case the person may not see is counted, never described.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from litestar import Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from crm.casefilters import ANYONE
from crm.caselist import visible_ids
from crm.errors import MailbagError
from crm.followups import chasing, status
from crm.followups.errors import FollowUpError
from crm.followups.models import UNKNOWN, ChaseAttempt
from crm.followups.status import Waiting
from crm.outgoing import smtp
from crm.types import utcnow
from web.current import Me, staff_only
from web.pages import AnyRequest, Form, back, flash, page, services

HOME = "/chases"


@dataclass(frozen=True)
class Held:
    """One chase waiting for staff, as the page shows it."""

    attempt_id: int
    template: str
    state: str
    error: str
    waiting: Waiting

    @property
    def in_doubt(self) -> bool:
        """Interrupted while sending: staff say whether it arrived, never a blind resend."""
        return self.state == UNKNOWN


@get("/", sync_to_thread=True)
def chases_page(request: AnyRequest) -> Template:
    """Chases to approve first, then everything the office waits for, escalated on top."""
    with services(request).database.session() as session:
        held, hidden_held = _held(session, request.user)
        escalated, hidden_escalated = _visible(session, request.user, status.escalated(session))
        live, hidden_live = _visible(session, request.user, status.live(session))
    hidden = hidden_held | hidden_escalated | hidden_live  # a held chase is live too: once
    now = utcnow()
    return page(
        request,
        "chases.html",
        held=held,
        escalated=escalated,
        live=live,
        hidden=len(hidden),
        overdue={w.follow_up_id for w in live if w.due_at < now},
        waiting_url=_waiting_url,
        overdue_url="/?" + urlencode({"overdue": "1", "status": "open"}),
        anyone_url=_waiting_url(ANYONE),
    )


@post("/{attempt_id:int}/approve", sync_to_thread=True)
def approve(request: AnyRequest, attempt_id: FromPath[int]) -> Redirect:
    """One click: the chase goes now, once (the attempt is taken by one caller only)."""
    app = services(request)
    try:
        smtp.SmtpConfig.from_settings(app.settings)  # before approving: no chase left half-done
        with app.database.session() as session:
            reference = _approvable(session, request.user, attempt_id)
            chasing.approve(session, attempt_id, who=request.user.email, now=utcnow())
        outcome = chasing.send_attempt(app.database, app.settings, attempt_id)
    except MailbagError as error:
        flash(request, f"Not sent: {error}", "error")
        return back(HOME)
    if outcome.status == chasing.SENT_NOW:
        flash(request, f"Chase sent on {reference}.")
    else:
        flash(request, f"Chase on {reference} not sent: {outcome.status} {outcome.error}", "error")
    return back(HOME)


@post("/{attempt_id:int}/resolve", sync_to_thread=True)
def resolve(request: AnyRequest, attempt_id: FromPath[int], data: Form) -> Redirect:
    """An interrupted chase: staff checked with the third party whether it arrived."""
    app = services(request)
    went = data.get("went") == "yes"
    try:
        if not went:
            smtp.SmtpConfig.from_settings(app.settings)
        with app.database.session() as session:
            reference = _approvable(session, request.user, attempt_id)
            chasing.resolve(
                session, app.settings, attempt_id, went=went, who=request.user.email, now=utcnow()
            )
        if went:
            flash(request, f"Chase on {reference} recorded as sent.")
            return back(HOME)
        outcome = chasing.send_attempt(app.database, app.settings, attempt_id)
    except MailbagError as error:
        flash(request, f"Not done: {error}", "error")
        return back(HOME)
    sent = outcome.status == chasing.SENT_NOW
    flash(
        request,
        f"Chase on {reference} sent again." if sent else f"Not sent: {outcome.error}",
        "ok" if sent else "error",
    )
    return back(HOME)


def _held(session: Session, me: Me) -> tuple[list[Held], set[int]]:
    """Chases to approve on visible cases, and the follow-ups of the others."""
    rows = status.to_approve(session)
    seen = visible_ids(session, me.viewer, [w.case_id for _a, w in rows])
    shown = [_as_held(a, w) for a, w in rows if w.case_id in seen]
    return shown, {w.follow_up_id for _a, w in rows if w.case_id not in seen}


def _as_held(attempt: ChaseAttempt, waiting: Waiting) -> Held:
    return Held(attempt.id, attempt.template, attempt.state, attempt.error, waiting)


def _visible(session: Session, me: Me, rows: list[Waiting]) -> tuple[list[Waiting], set[int]]:
    """Follow-ups on visible cases, and the ids of the others."""
    seen = visible_ids(session, me.viewer, [w.case_id for w in rows])
    return [w for w in rows if w.case_id in seen], {
        w.follow_up_id for w in rows if w.case_id not in seen
    }


def _approvable(session: Session, me: Me, attempt_id: int) -> str:
    """The case reference of a chase in the list that this person may see, or an error."""
    for attempt, waiting in status.to_approve(session):
        if attempt.id == attempt_id:
            if waiting.case_id not in visible_ids(session, me.viewer, [waiting.case_id]):
                break
            return waiting.case_reference
    raise FollowUpError(f"chase {attempt_id} is not waiting for approval")


def _waiting_url(party: str) -> str:
    return "/?" + urlencode({"waiting": party, "status": "open"})


router = Router(path=HOME, guards=[staff_only], route_handlers=[chases_page, approve, resolve])
