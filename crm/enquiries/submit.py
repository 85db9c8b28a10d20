"""One posted enquiry form, from the door to a case: routes first, then bots, then the fields.

The order matters. Someone in danger sees the emergency numbers at once, whatever else the
form says (even sent in a hurry); someone outside the area is told who represents them.
Only then come the bot checks (honeypot, signed fill time, limits per connection and per
address, all counted in the database) and the field checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from crm.db import Database
from crm.enquiries import formstamp, throttle
from crm.enquiries.errors import TooMany
from crm.enquiries.form import Checked, EnquiryForm, check
from crm.enquiries.open_case import open_enquiry
from crm.enquiries.routing import Decision, decide
from crm.enquiries.screener import COUNCIL, EMERGENCY, OUTSIDE, Screener
from crm.settings import Settings

REFUSED_MESSAGES = {
    "honeypot": "We could not accept the form as it was sent. Please check it and send it again.",
    formstamp.Stamp.TOO_FAST: (
        "The form was sent too quickly for a person to have filled it in. "
        "Please check your answers and send it again."
    ),
    formstamp.Stamp.STALE: (
        "The form was open for more than a day, so it has expired. "
        "Please check your answers and send it again."
    ),
    formstamp.Stamp.INVALID: "The form could not be checked. Please send it again.",
}
PASS_ON_MISSING = "Choose whether we should pass your enquiry on to the council"


class Result(StrEnum):
    RECEIVED = "received"
    INVALID = "invalid"
    REFUSED = "refused"
    TOO_MANY = "too many"
    EMERGENCY = EMERGENCY
    OUTSIDE = OUTSIDE
    COUNCIL = COUNCIL  # they chose to contact the council themselves: nothing stored


@dataclass(frozen=True)
class Posted:
    """The form as posted, with what the bot checks need."""

    form: EnquiryForm
    stamp: str
    honeypot: str
    remote: str


@dataclass(frozen=True)
class Outcome:
    result: Result
    decision: Decision = field(default_factory=lambda: Decision(""))
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""
    reference: str = ""
    letter_id: int | None = None

    @property
    def passed_on(self) -> bool:
        return self.decision.route == COUNCIL


def receive(
    database: Database, settings: Settings, screener: Screener, posted: Posted, now: datetime
) -> Outcome:
    """What becomes of one posted form; a case is opened only at the very end."""
    form = posted.form
    decision = decide(screener, settings, form.answers, form.postcode)
    if decision.route in (EMERGENCY, OUTSIDE):
        return Outcome(Result(decision.route), decision)
    refused = _refused(database, settings, posted, now)
    if refused is not None:
        return refused
    if decision.route == COUNCIL and form.pass_on == "no":
        return Outcome(Result.COUNCIL, decision)
    checked = _checked(form, screener, decision)
    if not checked.ok:
        return Outcome(Result.INVALID, decision, errors=checked.errors)
    try:
        with database.session() as session:
            throttle.take(session, throttle.ENQUIRIES_PER_EMAIL, checked.email, now)
            opened = open_enquiry(session, settings, screener, form, checked, decision, now)
    except TooMany as error:
        return Outcome(Result.TOO_MANY, decision, message=str(error))
    return Outcome(
        Result.RECEIVED, decision, reference=opened.reference, letter_id=opened.letter_id
    )


def _refused(
    database: Database, settings: Settings, posted: Posted, now: datetime
) -> Outcome | None:
    """Bots: too many posts from one connection, a filled honeypot, a missing or quick stamp."""
    try:
        with database.session() as session:  # committed on its own: a refusal counts too
            throttle.take(session, throttle.FORM_POSTS_PER_IP, posted.remote, now)
    except TooMany as error:
        return Outcome(Result.TOO_MANY, message=str(error))
    if posted.honeypot.strip():
        return Outcome(Result.REFUSED, message=REFUSED_MESSAGES["honeypot"])
    stamp = formstamp.check(settings, posted.stamp, now)
    if stamp is not formstamp.Stamp.OK:
        return Outcome(Result.REFUSED, message=REFUSED_MESSAGES[stamp])
    return None


def _checked(form: EnquiryForm, screener: Screener, decision: Decision) -> Checked:
    """The field checks, and for a council matter the choice of passing it on."""
    checked = check(form, screener)
    if decision.route != COUNCIL or form.pass_on == "yes":
        return checked
    questions = {q.field for q in screener.questions}
    errors = {k: v for k, v in checked.errors.items() if k in questions}
    errors["pass_on"] = PASS_ON_MISSING  # shown just after the questions, so listed there
    errors.update((k, v) for k, v in checked.errors.items() if k not in questions)
    return Checked(errors, checked.attachments, checked.email, checked.postcode)
