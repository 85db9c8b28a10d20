"""Helpers for the enquiry-form tests: a valid submission, and posting it as a browser would."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from crm.enquiries import formstamp
from crm.settings import Settings
from crm.types import utcnow
from tests.support.web import csrf_token

MARY = "mary.jones@example.com"
# A PDF, a PNG and a Windows program, as their first bytes say.
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
_LINK = re.compile(r"https?://\S+/status/[\w.-]+")


def valid_fields(**changes: str) -> dict[str, str]:
    """Mary's enquiry about a damp flat: every field as a person would fill it in."""
    fields = {
        "q_danger": "no",
        "q_area": "yes",
        "q_topic": "housing",
        "q_urgency": "days",
        "name": "Mary Jones",
        "email": MARY,
        "address": "12 Acacia Avenue\nExampletown",
        "postcode": "ex1 2ab",
        "phone": "01632 960 001",
        "problem": "The housing association has not fixed the leaking roof in my flat since "
        "August, and the bedroom ceiling is now falling in.",
        "consent": "yes",
    }
    return fields | changes


def old_stamp(settings: Settings, seconds: int = 30) -> str:
    """The stamp of a form shown `seconds` ago (people take a while to fill it in)."""
    return formstamp.issue(settings, utcnow() - timedelta(seconds=seconds))


def post_enquiry(
    client: Any,
    settings: Settings,
    fields: dict[str, str],
    *,
    files: list[tuple[str, bytes]] | None = None,
    stamp: str | None = None,
    token: bool = True,
) -> Any:
    """GET the form (for its CSRF token), then POST it as multipart, files and all."""
    page = client.get("/enquiry")
    data = dict(fields)
    data["stamp"] = stamp if stamp is not None else old_stamp(settings)
    if token:
        data["_csrf_token"] = csrf_token(page.text)
    parts = [("attachments", (name, body)) for name, body in (files or [])] or [
        ("attachments", ("", b""))
    ]
    return client.post("/enquiry", data=data, files=parts, follow_redirects=False)


def status_link(text: str) -> str:
    """The private status link in an email's text."""
    found = _LINK.search(text)
    assert found, "no status link in the email"
    return found[0]
