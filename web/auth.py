"""Sign in and out: a fresh session at sign-in, rate-limited attempts, one vague error."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from crm.users import service as users
from web.pages import AnyRequest, Form, back, flash, page, services

WRONG = "That email address and password do not match an active account."


@get("/sign-in", sync_to_thread=False)
def sign_in_page(request: Request[Any, Any, Any], next: FromQuery[str] = "/") -> Template:
    return page(request, "sign_in.html", next=_local(next), error="")


@post("/sign-in", sync_to_thread=True)
def sign_in(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
    email, password = data.get("email", ""), data.get("password", "")
    target = _local(data.get("next", "/"))
    remote = request.client.host if request.client else ""
    try:
        with services(request).database.session() as session:
            outcome = users.sign_in(session, email, password, remote)
            user = outcome.user
            ids = (user.id, user.session_epoch) if user else None
    except users.TooManyAttempts as error:
        return page(request, "sign_in.html", 429, next=target, error=str(error), email=email)
    if ids is None:
        return page(request, "sign_in.html", 400, next=target, error=WRONG, email=email)
    # A new session at sign-in: nothing set before it (by anyone) carries over.
    request.clear_session()
    request.set_session({"uid": ids[0], "epoch": ids[1], "sid": secrets.token_urlsafe(16)})
    return back(target)


@post("/sign-out", sync_to_thread=True)
def sign_out(request: AnyRequest) -> Redirect:
    with services(request).database.session() as session:
        users.sign_out(session, request.user.id)
    request.clear_session()
    flash(request, "You are signed out.")
    return back("/sign-in")


def _local(target: str) -> str:
    """Only paths on this site: never send someone onward to another host after sign-in."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
