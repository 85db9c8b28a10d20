"""The office manager's pages: users, letter templates, taxonomy and the third-party directory.

One router under /manage, guarded for office managers; each part is a small module.
"""

from __future__ import annotations

from litestar import Router, get
from litestar.response import Template

from web.current import managers_only
from web.manage import directory, letters, taxonomy, users
from web.pages import AnyRequest, page


@get("/", sync_to_thread=False)
def office_index(request: AnyRequest) -> Template:
    return page(request, "manage/index.html")


router = Router(
    path="/manage",
    guards=[managers_only],
    route_handlers=[office_index, users.router, letters.router, taxonomy.router, directory.router],
)
