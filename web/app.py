"""The Litestar application: built by `create_app` from what the composition root hands in."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from litestar import Litestar, MediaType, Request, Response, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.events import BaseEventEmitterBackend
from litestar.exceptions import HTTPException, ImproperlyConfiguredException, NotAuthorizedException
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from markupsafe import escape

from crm.db import Database
from crm.enquiries.signing import derive
from crm.settings import Settings
from web import (
    admin,
    api,
    auth,
    campaigns,
    cases,
    chases,
    councillor,
    councillor_requests,
    enquiry,
    exports,
    manage,
    markup,
    privacy,
    review,
    status_emails,
    status_page,
)
from web.admin import RetryQuarantine
from web.cases import attachment_url
from web.security import PUBLIC_PATHS, SessionUser, security_headers

HERE = Path(__file__).parent
SESSION_DAYS = 7


def create_app(
    settings: Settings,
    database: Database,
    *,
    secret_key: str,
    retry_quarantine: RetryQuarantine | None = None,
    debug: bool = False,
) -> Litestar:
    """Pages, API and static files, with sessions, CSRF and security headers on everything."""
    if len(secret_key) < 32:
        raise ValueError("the web view needs a secret key of at least 32 characters")
    # Forms and status links the pages sign use the same secret as the sessions.
    settings = replace(settings, secret_key=secret_key)
    secure = settings.base_url.startswith("https://")
    session_config = CookieBackendConfig(
        secret=derive(secret_key, "session"),
        key="mailbag_session",
        max_age=SESSION_DAYS * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    csrf = CSRFConfig(
        secret=derive(secret_key, "csrf").hex(),
        cookie_name="mailbag_csrf",
        cookie_secure=secure,
        cookie_httponly=True,
        cookie_samesite="lax",
    )
    pages = Router(
        path="/",
        include_in_schema=False,
        route_handlers=[
            auth.sign_in_page,
            auth.sign_in,
            auth.sign_out,
            cases.router,
            councillor.councillor_cases,
            councillor.digest_settings,
            councillor.save_digest_settings,
            councillor_requests.router,
            status_emails.stop_or_resume,
            admin.router,
            review.router,
            campaigns.router,
            chases.router,
            manage.router,
            exports.router,
            privacy.router,
            enquiry.router,
            status_page.router,
            create_static_files_router(path="/static", directories=[HERE / "static"]),
        ],
    )
    return Litestar(
        route_handlers=[pages, api.router],
        on_startup=[partial(_take_turns, settings.web_threads)],
        event_emitter_backend=NoEvents,
        before_send=[security_headers],
        middleware=[
            session_config.middleware,
            DefineMiddleware(SessionUser, exclude=PUBLIC_PATHS),
        ],
        csrf_config=csrf,
        template_config=TemplateConfig(
            directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=_filters
        ),
        openapi_config=OpenAPIConfig(
            title="Mailbag",
            version="1",
            path="/api/schema",
            render_plugins=[JsonRenderPlugin()],
        ),
        exception_handlers={HTTPException: _http_error},
        state=State(
            {"settings": settings, "database": database, "retry_quarantine": retry_quarantine}
        ),
        debug=debug,
    )


class NoEvents(BaseEventEmitterBackend):
    """Mailbag registers no event listeners, so it has no emitter to start. Litestar's own
    starts a worker with each lifespan and keeps it on the app, so two lifespans of one app
    at once (tests run several clients on one app) overwrote each other's, and a client's
    shutdown could wait forever on a worker of another event loop."""

    async def __aenter__(self) -> NoEvents:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    def emit(self, event_id: str, *args: Any, **kwargs: Any) -> None:
        raise ImproperlyConfiguredException(f"no event listener for {event_id!r}")


async def _take_turns(threads: int) -> None:
    """Pages run in a pool of `threads` threads; further requests wait their turn.

    Python runs one thread at a time: with every request in a thread of its own, each
    waited for the others at every step (a case list's p95 was three times its median
    under load). A few at once still overlap one request's database wait with another's
    work; more processes (`mailbag serve --workers N`) use more cores."""
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mailbag-web")
    asyncio.get_running_loop().set_default_executor(pool)


def _http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    """Pages send a signed-out person to sign in; the API answers with a status and JSON."""
    api_call = request.url.path.startswith("/api/")
    if isinstance(error, NotAuthorizedException):
        if api_call:
            return Response({"detail": "sign in first"}, status_code=401, media_type=MediaType.JSON)
        return Redirect(f"/sign-in?next={quote(request.url.path)}", status_code=303)
    status = error.status_code
    detail = {403: "Not allowed.", 404: "Not found."}.get(status, str(error.detail)[:200])
    if status == 413:
        detail = _too_large(request)
    if api_call:
        return Response({"detail": detail}, status_code=status, media_type=MediaType.JSON)
    body = (
        '<!doctype html><meta charset="utf-8"><link rel="stylesheet" href="/static/app.css">'
        f"<title>{status}</title><main><h1>{status}</h1><p>{escape(detail)}</p>"
        '<p><a href="/">Back to the cases</a></p></main>'
    )
    return Response(body, status_code=status, media_type=MediaType.HTML)


def _too_large(request: Request[Any, Any, Any]) -> str:
    """Say the limit, not Litestar's bare status: the route's own, else the app's default."""
    handler = request.scope.get("route_handler")
    limit = (
        handler.resolve_request_max_body_size() if isinstance(handler, HTTPRouteHandler) else None
    )
    if not limit:
        return "Too large to accept."
    return f"Too large: at most {limit / (1024 * 1024):.1f} MB can be sent here."


def _filters(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.auto_reload = False  # the templates ship with the code: no file date check per render
    env.filters["when"] = markup.when
    env.filters["day"] = markup.day
    env.filters["tag_labels"] = markup.tag_labels
    env.filters["size"] = markup.size
    env.globals["options"] = markup.options
    env.globals["attachment_url"] = attachment_url
    env.globals["axes"] = ["issue", "urgency", "sensitivity", "transferability"]
