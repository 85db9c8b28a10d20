"""Build small realistic messages inline, for tests that need one precise property."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

_counter = itertools.count(1)
BASE_DATE = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def make_message(
    *,
    sender: str = "Mary Jones <mary.jones@example.com>",
    to: str = "casework@office.example.org.uk",
    subject: str = "Damp and mould in my flat",
    body: str = "Dear Jane,\n\nMy flat has black mould in every room.\n",
    message_id: str | None = "auto",
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
    date: datetime | None = None,
) -> bytes:
    """One RFC 5322 message; message_id="auto" makes a unique one, None leaves it out."""
    n = next(_counter)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or BASE_DATE + timedelta(minutes=n))
    if message_id == "auto":
        message_id = f"<test-{n}-{id(msg)}@example.com>"
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()
