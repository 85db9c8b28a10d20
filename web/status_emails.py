"""Staff stop (or resume) the status emails of one case, e.g. when the constituent asks."""

from __future__ import annotations

from litestar import post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect

from crm.errors import NotFound
from crm.informing import status_emails
from web.current import staff_only
from web.pages import AnyRequest, Form, back, flash, services


@post("/cases/{reference:str}/status-emails", guards=[staff_only], sync_to_thread=True)
def stop_or_resume(request: AnyRequest, reference: FromPath[str], data: Form) -> Redirect:
    me = request.user
    action = data.get("action", "")
    with services(request).database.session() as session:
        try:
            if action == "resume":
                status_emails.opt_in(session, reference, who=me.label, viewer=me.viewer)
            else:
                status_emails.opt_out(
                    session,
                    reference,
                    who=me.label,
                    reason=data.get("reason", ""),
                    viewer=me.viewer,
                )
        except NotFound:
            raise NotFoundException("no such case") from None
    flash(request, "Status emails resumed." if action == "resume" else "Status emails stopped.")
    return back(f"/cases/{reference.strip().upper()}")
