"""Who is signed in (from the signed session cookie), and the headers every response carries."""

from __future__ import annotations

from typing import Any

from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Message, Scope

from crm.db import Database
from crm.users.service import signed_in
from web.current import Me

CSP = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data:",
        "script-src 'self'",
        "style-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cross-origin-opener-policy": "same-origin",
}
PUBLIC_PATHS = ["^/sign-in", "^/static/", "^/enquiry(/|$)", "^/status/"]


async def security_headers(message: Message, scope: Scope) -> None:
    """Before each response goes out, errors and redirects included: the strict CSP and friends."""
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        for name, value in HEADERS.items():
            headers[name] = value


class SessionUser(AbstractAuthenticationMiddleware):
    """Everything but the sign-in page and static files needs a live, signed-in user."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        found = connection.scope.get("session")
        session: dict[str, Any] = found if isinstance(found, dict) else {}
        user_id, epoch = session.get("uid"), session.get("epoch")
        if not isinstance(user_id, int) or not isinstance(epoch, int):
            raise NotAuthorizedException("sign in first")
        database: Database = connection.app.state.database
        me = await sync_to_thread(_load, database, user_id, epoch)  # the pages' own pool
        if me is None:
            raise NotAuthorizedException("sign in again")
        return AuthenticationResult(user=me, auth=None)


def _load(database: Database, user_id: int, epoch: int) -> Me | None:
    """The user, if still active and the session was not ended by a sign-out since."""
    with database.session() as session:
        user = signed_in(session, user_id, epoch)
    return Me.of(user) if user is not None else None
