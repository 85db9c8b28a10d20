"""What every page shares: the template with the signed-in person and one-time messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from crm.db import Database
from crm.settings import Settings
from web.current import Me

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
AnyRequest = Request[Me, Any, Any]


@dataclass(frozen=True)
class Services:
    """What routes need, built once by the composition root and kept on the app's state."""

    settings: Settings
    database: Database


def services(request: Request[Any, Any, Any]) -> Services:
    return Services(request.app.state.settings, request.app.state.database)


def flash(request: Request[Any, Any, Any], text: str, kind: str = "ok") -> None:
    """A message shown once on the next page (after a redirect)."""
    session = request.scope.get("session")
    current = dict(session) if isinstance(session, dict) else {}
    messages = list(current.get("flash", []))[-4:]
    request.set_session({**current, "flash": [*messages, [kind, text[:300]]]})


def page(
    request: Request[Any, Any, Any], name: str, status_code: int = 200, **context: Any
) -> Template:
    session = request.scope.get("session")
    messages = session.pop("flash", []) if isinstance(session, dict) else []
    me = request.scope.get("user")
    return Template(
        template_name=name,
        context={"me": me, "flash": messages, "path": request.url.path, **context},
        status_code=status_code,
    )


def back(url: str) -> Redirect:
    """After a form: see the result (POST, then redirect, then GET)."""
    return Redirect(url, status_code=303)


def whole_number(text: str) -> int | None:
    """ASCII digits that fit an integer column, else None ("²" passes str.isdigit)."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def plain(text: str) -> str:
    """Without NUL characters: PostgreSQL refuses them in text, which would be a 500."""
    return text.replace("\x00", "")
