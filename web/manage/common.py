"""What the office manager's pages share: who is acting, and a page that is never cached."""

from __future__ import annotations

from typing import Any

from litestar.response import Template

from crm.users.service import Actor
from web.pages import AnyRequest, page


def actor(request: AnyRequest) -> Actor:
    return Actor(request.user.id, request.user.email)


def private_page(
    request: AnyRequest, name: str, status_code: int = 200, **context: Any
) -> Template:
    """A page with a secret on it (a one-time password): no copy kept by any cache."""
    response = page(request, name, status_code, **context)
    response.headers["cache-control"] = "no-store"
    return response


def lines(text: str) -> list[str]:
    """A list typed into one field, one per line or separated by commas."""
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
