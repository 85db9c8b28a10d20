"""Build the email itself: office From, [REFERENCE] subject, our Message-ID, threading headers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from crm.letters.errors import LetterError

MAX_SUBJECT = 180
MAX_REFERENCES = 20


def office_mailbox(from_address: str) -> Address:
    """The From setting, "Office of Jane Doe MP <casework@...>", as a header address."""
    name, email = parseaddr(from_address)
    if "@" not in email:
        raise LetterError(f"MAILBAG_FROM_ADDRESS is not an email address: {from_address!r}")
    return _address(name, email)


def new_message_id(from_address: str) -> str:
    """A Message-ID on the office's own domain, kept without angle brackets as ingest keeps it."""
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "mailbag.invalid"
    return make_msgid(domain=domain).strip("<>")


def with_reference(subject: str, reference: str) -> str:
    """The case token once, at the end, so any reply finds its way back to the case."""
    subject = " ".join(subject.split())
    if f"[{reference}]".lower() in subject.lower():
        return subject
    room = MAX_SUBJECT - len(reference) - 3
    if len(subject) > room:
        subject = subject[: room - 1].rstrip() + "…"
    return f"{subject} [{reference}]"


def thread_headers(message_id: str | None, earlier: Sequence[str]) -> tuple[list[str], list[str]]:
    """In-Reply-To and References for a reply to `message_id` (which had `earlier` references)."""
    if not message_id:
        return [], []
    references = [*(i for i in earlier if i != message_id), message_id][-MAX_REFERENCES:]
    return [message_id], references


def compose(
    *,
    from_address: str,
    to_email: str,
    to_name: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    in_reply_to: Sequence[str],
    references: Sequence[str],
    auto_submitted: str,
    date: datetime,
) -> EmailMessage:
    """The message exactly as it will be sent and recorded."""
    message = EmailMessage()
    message["From"] = office_mailbox(from_address)
    message["To"] = _address(to_name if to_name != to_email else "", to_email)
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        message["In-Reply-To"] = " ".join(f"<{i}>" for i in in_reply_to)
    if references:
        message["References"] = " ".join(f"<{i}>" for i in references)
    if auto_submitted:
        # RFC 3834, and Exchange's own flag: responders must not answer this message.
        message["Auto-Submitted"] = auto_submitted
        message["X-Auto-Response-Suppress"] = "All"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def _address(name: str, email: str) -> Address:
    try:
        return Address(display_name=" ".join(name.split()), addr_spec=email)
    except (ValueError, IndexError) as error:
        raise LetterError(f"cannot address a letter to {email!r}: {error}") from None
