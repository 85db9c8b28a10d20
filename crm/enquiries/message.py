"""A form submission as an RFC 5322 message: one timeline, and SAR and retention see it as mail.

From is the person, To the office, the Message-ID our own; the body holds their words, then
their details, the screener's questions and answers, and the consent they gave.
"""

from __future__ import annotations

import email.policy
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from crm.enquiries.attachments import Accepted
from crm.enquiries.form import Checked, EnquiryForm
from crm.enquiries.screener import Screener
from crm.settings import Settings

SOURCE_HEADER = "X-Mailbag-Source"
SOURCE = "online enquiry form"
SUBJECT_WORDS = 70
FALLBACK_OFFICE = "office@mailbag.invalid"
RECORD_NAME = "enquiry-form.txt"


def office_address(settings: Settings) -> str:
    """Where the form's mail is addressed: the office's From address, else its inbox."""
    address = parseaddr(settings.from_address)[1]
    return address or next(iter(sorted(settings.office_addresses)), FALLBACK_OFFICE)


def subject_of(problem: str) -> str:
    """ "Online enquiry: " and the start of the person's first line, cut at a word."""
    first = " ".join(problem.split("\n", 1)[0].split())
    if len(first) > SUBJECT_WORDS:
        first = first[:SUBJECT_WORDS].rsplit(" ", 1)[0].rstrip(",.;:") + "…"
    return f"Online enquiry: {first}"


def build(
    form: EnquiryForm,
    checked: Checked,
    screener: Screener,
    settings: Settings,
    *,
    passed_on: bool,
    now: datetime,
) -> EmailMessage:
    """The message exactly as it is stored (its bytes become the message's blob)."""
    to = office_address(settings)
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = Address(display_name=form.name, addr_spec=checked.email)
    message["To"] = to
    message["Subject"] = subject_of(form.problem)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(idstring="enquiry", domain=to.rpartition("@")[2])
    message[SOURCE_HEADER] = SOURCE
    message.set_content(body(form, checked))
    for attachment in [form_record(form, screener, passed_on, now), *checked.attachments]:
        _attach(message, attachment)
    return message


def body(form: EnquiryForm, checked: Checked) -> str:
    """Their words, then their details as a signature: what the tagging rules and staff read."""
    lines = [form.problem, "", "--", form.name, *form.address.split("\n"), checked.postcode]
    lines += [f"Email: {checked.email}", f"Telephone: {form.phone or '(not given)'}"]
    return "\n".join(lines) + "\n"


def form_record(form: EnquiryForm, screener: Screener, passed_on: bool, now: datetime) -> Accepted:
    """The screener's questions and answers and the consent given, as a text file on the
    message: kept with it, but out of the words the tagging rules read (a question such as
    "for example an eviction" must not tag every case urgent)."""
    lines = [f"Sent with the {SOURCE} on {format_datetime(now)}.", "", "The form's questions:"]
    for question in screener.questions:
        answer = question.answer(form.answers.get(question.id, ""))
        lines.append(f"- {question.legend} {answer.label if answer else '(no answer)'}")
    if passed_on:
        lines.append(f"- Pass it on to {screener.council.name}? Yes, please.")
    lines += ["", "Consent given (the box was ticked):", screener.consent_text]
    text = "\n".join(lines) + "\n"
    return Accepted(RECORD_NAME, "text/plain", text.encode("utf-8"))


def _attach(message: EmailMessage, attachment: Accepted) -> None:
    if attachment.content_type == "text/plain":
        message.add_attachment(
            attachment.data.decode("utf-8"), filename=attachment.filename, charset="utf-8"
        )
        return
    maintype, _, subtype = attachment.content_type.partition("/")
    message.add_attachment(
        attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
    )
