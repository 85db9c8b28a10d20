"""A new status link by email: the same answer whether or not the address and case matched."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from crm import cases, constituents
from crm.enquiries import status_links, throttle
from crm.enquiries.form import normalise_email
from crm.models import Case
from crm.outgoing.queue import queue_letter
from crm.settings import Settings

TEMPLATE = "status_link"
AUTO_SUBMITTED = "auto-generated"
_REFERENCE = re.compile(r"^[A-Z0-9]{1,8}-\d{4}-\d{6}$")


@dataclass(frozen=True)
class LinkRequest:
    email: str
    reference: str


def check_request(email: str, reference: str) -> tuple[LinkRequest, dict[str, str]]:
    """The request with its fields tidied, and a message per field that is not well formed."""
    errors: dict[str, str] = {}
    address, problem = normalise_email(email)
    if problem is not None:
        errors["email"] = problem
    wanted = "".join(reference.split()).strip("[]").upper()
    if not _REFERENCE.match(wanted):
        errors["reference"] = (
            "Enter your case reference as it appears in our email, like MB-2026-000123"
        )
    return LinkRequest(address, wanted), errors


def request_link(
    session: Session, settings: Settings, request: LinkRequest, remote: str, now: datetime
) -> int | None:
    """Queue a fresh link when the address belongs to the case's constituent; None otherwise.

    Limits per connection and per address raise TooMany, matched or not, so the answer
    never tells anyone whether an address and a reference belong together.
    """
    throttle.take(session, throttle.STATUS_REQUESTS_PER_IP, remote, now)
    throttle.take(session, throttle.STATUS_REQUESTS_PER_EMAIL, request.email, now)
    case = cases.by_reference(session, request.reference)
    if case is None or not _belongs(session, case, request.email):
        return None
    link = status_links.reissue(session, settings, case, now)
    if link is None:
        return None
    letter = queue_letter(
        session,
        settings,
        case,
        TEMPLATE,
        to=request.email,
        auto_submitted=AUTO_SUBMITTED,
        extra={"status_link": link},
        now=now,
    )
    return letter.id if letter is not None else None


def _belongs(session: Session, case: Case, email: str) -> bool:
    """The address is one of the case's constituent's (merged records followed)."""
    person = constituents.find_by_email(session, email)
    return person is not None and person.id == case.constituent_id
