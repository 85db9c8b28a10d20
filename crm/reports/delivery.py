"""The weekly review by email: the office managers' workbook, attached, through the office's
SMTP server (crm.outgoing.smtp), for the periodic job and `mailbag report email`.

A send that fails raises SendError (a job retries it). Each week sent is recorded
(crm.reports.once), and the periodic job sends only a week not sent yet, so a restarted or
second scheduler never emails a week twice. A worker that dies after the server took the
message and before the record is written may send it once more when its claim goes stale:
a second copy of a report to staff is the lesser harm than none.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from crm.db import Database
from crm.outgoing import smtp
from crm.outgoing.compose import new_message_id, office_mailbox
from crm.outgoing.send import WIRE
from crm.reports import once
from crm.reports.make import Made, make_workbook
from crm.settings import Settings
from crm.types import utcnow
from crm.users.models import OFFICE_MANAGER

log = logging.getLogger(__name__)

XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@dataclass(frozen=True)
class Delivered:
    """What was sent, for the command line and the job's log (no personal data)."""

    week_ending: date
    recipients: int
    cases: int
    filename: str
    size: int

    def describe(self) -> str:
        return (
            f"weekly review for the week ending {self.week_ending:%Y-%m-%d} "
            f"({self.cases} cases, {self.size // 1024} KB) sent to {self.recipients} "
            f"recipient{'s' * (self.recipients != 1)}"
        )


def email_weekly_review(
    database: Database,
    settings: Settings,
    *,
    week_ending: date | None = None,
    now: datetime | None = None,
) -> Delivered:
    """Make the office managers' workbook and send it to MAILBAG_REPORT_RECIPIENTS."""
    settings.require("report_recipients")
    config = smtp.SmtpConfig.from_settings(settings)
    now = now or utcnow()
    buffer = io.BytesIO()
    made = make_workbook(
        database,
        settings,
        buffer,
        week_ending=week_ending,
        audience=OFFICE_MANAGER,
        now=now,
        who="weekly email to " + ", ".join(settings.report_recipients),
    )
    data = buffer.getvalue()
    message = review_message(settings, made, data, now)
    smtp.send(config, message.as_bytes(policy=WIRE), settings.report_recipients)
    once.record_sent(database, made.review.week.ending, len(settings.report_recipients), now)
    delivered = Delivered(
        made.review.week.ending,
        len(settings.report_recipients),
        made.written.cases,
        made.filename,
        len(data),
    )
    log.info("%s", delivered.describe())
    return delivered


def email_weekly_review_once(
    database: Database, settings: Settings, *, week_ending: date, now: datetime | None = None
) -> Delivered | None:
    """The periodic job's send: None when the week went already (crm.reports.once)."""
    now = now or utcnow()
    if not once.claim(database, week_ending, now):
        log.info("weekly review for the week ending %s was sent already", week_ending)
        return None
    try:
        return email_weekly_review(database, settings, week_ending=week_ending, now=now)
    except BaseException as error:
        once.release(database, week_ending, f"{type(error).__name__}: {error}")
        raise


def review_message(settings: Settings, made: Made, data: bytes, now: datetime) -> EmailMessage:
    """A short note with the headline figures, and the workbook attached."""
    review = made.review
    message = EmailMessage()
    message["From"] = office_mailbox(settings.from_address)
    message["To"] = ", ".join(settings.report_recipients)
    message["Subject"] = f"Weekly review: week ending {review.week.ending:%a %d %b %Y}"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{new_message_id(settings.from_address)}>"
    # RFC 3834: an automatic message; responders must not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(_body(made))
    message.add_attachment(data, maintype=XLSX[0], subtype=XLSX[1], filename=made.filename)
    return message


def _body(made: Made) -> str:
    review = made.review
    figures = review.this_week
    lines = [
        f"The weekly review for {review.week.describe()} is attached.",
        "",
        f"New cases: {figures.new}",
        f"Closed: {figures.closed}",
        f"Open at the end of the week: {figures.open}",
        f"Overdue: {figures.overdue}",
    ]
    waiting = [w for w in review.waiting if w.open_follow_ups][:5]
    if waiting:
        lines += ["", "Waiting on most:"]
        lines += [
            f"  {w.organisation}: {w.open_follow_ups} open, {w.past_due} past due" for w in waiting
        ]
    lines += [
        "",
        "The workbook describes safeguarding and special-category cases:",
        "keep it to office managers.",
    ]
    return "\n".join(lines) + "\n"
