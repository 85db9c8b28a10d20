"""A councillor raises a case for a resident: checked field by field, then opened through the
same services as email (one constituent record, one case, tags with reasons, one timeline line).

The request records who raised it and by when they want it done; the date is one of the
case's deadlines (crm.informing.deadlines), so it shows wherever deadlines do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import cases
from crm import constituents as constituent_service
from crm.constituents import ContactHints
from crm.errors import MailbagError
from crm.informing.models import CouncillorRequest
from crm.letters.dates import uk_long_date, uk_today
from crm.models import Constituent, TimelineEntry
from crm.settings import Settings
from crm.tags.models import TagValue
from crm.tags.rulebook import taxonomy_index
from crm.tags.service import apply_rules, set_manual
from crm.users.models import COUNCILLOR, User
from tagging.axes import Axis
from tagging.features import MessageFeatures
from tagging.postcodes import postcode_forms
from tagging.taxonomy import ACTIVE

TIMELINE_KIND = "raised_by_councillor"
CONSENT_TEXT = (
    "The resident has agreed that the office may keep their details and share them with "
    "the department, council or organisation concerned, so that it can act on their behalf."
)
MAX_WANTED = 5000
MAX_AHEAD = timedelta(days=366)
SUBJECT_LENGTH = 120
_EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
_PHONE_RE = re.compile(r"^\+?[\d ()-]+$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class RequestInvalid(MailbagError):
    """Some fields of the form are wrong; `errors` says which, one message per field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {text}" for field, text in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class RequestForm:
    """The form as typed: every field a string (or the checkbox), nothing trusted yet."""

    name: str = ""
    email: str = ""
    phone: str = ""
    address: str = ""
    postcode: str = ""
    consent: bool = False
    wanted: str = ""
    due_on: str = ""
    issue: str = ""


@dataclass(frozen=True)
class CheckedRequest:
    """The form once every field has passed, in the forms the database keeps."""

    name: str
    email: str
    phone: str
    address: str
    postcode: str
    wanted: str
    due_on: date
    issue: str


@dataclass(frozen=True)
class RaisedCase:
    case_id: int
    reference: str
    due_on: date


def councillor_label(user: User) -> str:
    """How the timeline and the tags name them: "Cllr Ann Smith"."""
    name = user.name.strip() or user.email
    return name if name.lower().startswith(("cllr", "councillor")) else f"Cllr {name}"


def issue_choices(session: Session) -> list[str]:
    """The active issue values, in the office's order, for the form's list."""
    taxonomy_index(session)  # seeds the shipped taxonomy into a new database
    return list(
        session.scalars(
            select(TagValue.path)
            .where(TagValue.axis == Axis.ISSUE, TagValue.status == ACTIVE)
            .order_by(TagValue.position, TagValue.path)
        )
    )


def check(form: RequestForm, today: date, issues: list[str]) -> CheckedRequest:
    """Every field checked at once, so the form can show each message beside its field."""
    errors: dict[str, str] = {}
    name = _one_line(form.name)
    if not name:
        errors["name"] = "Enter the resident's name."
    elif len(name) > 200:
        errors["name"] = "The name is longer than 200 characters."
    email = form.email.strip().lower()
    if email and (len(email) > 320 or not _EMAIL_RE.match(email)):
        errors["email"] = "Enter an email address like name@example.com, or leave it empty."
    phone = _one_line(form.phone)
    digits = re.sub(r"\D", "", phone)
    if phone and (not _PHONE_RE.match(phone) or not 7 <= len(digits) <= 15):
        errors["phone"] = "Enter a phone number of 7 to 15 digits, or leave it empty."
    if not email and not phone and "email" not in errors and "phone" not in errors:
        errors["email"] = "Give the resident's email address or phone number (or both)."
    address = _CONTROL_RE.sub("", form.address).strip()
    if not address:
        errors["address"] = "Enter the resident's postal address."
    elif len(address) > 1000:
        errors["address"] = "The address is longer than 1,000 characters."
    forms = postcode_forms(form.postcode) if len(form.postcode) <= 10 else ()
    if not forms:
        errors["postcode"] = "Enter a full UK postcode, like EX1 2AB."
    if not form.consent:
        errors["consent"] = (
            "Confirm the resident's consent: the office cannot act for them without it."
        )
    wanted = _CONTROL_RE.sub("", form.wanted).strip()
    if not wanted:
        errors["wanted"] = "Say what you would like the office to do."
    elif len(wanted) > MAX_WANTED:
        errors["wanted"] = f"Keep it under {MAX_WANTED:,} characters."
    due_on, due_error = _due(form.due_on, today)
    if due_error:
        errors["due_on"] = due_error
    issue = form.issue.strip()
    if issue and issue not in issues:
        errors["issue"] = "Choose an issue from the list, or leave it empty."
    if errors:
        raise RequestInvalid(errors)
    assert due_on is not None
    return CheckedRequest(name, email, phone, address, forms[3], wanted, due_on, issue)


def raise_case(
    session: Session, settings: Settings, councillor: User, form: RequestForm, now: datetime
) -> RaisedCase:
    """Check the form, then open the case in the caller's transaction."""
    if councillor.role != COUNCILLOR or not councillor.active:
        raise MailbagError("only a councillor can raise a case for a resident")
    request = check(form, uk_today(now), issue_choices(session))
    label = councillor_label(councillor)
    person = _constituent(session, request)
    subject = _subject(request.wanted)
    case = cases.open_case(
        session,
        prefix=settings.case_prefix,
        subject=subject,
        subject_key=" ".join(subject.split()).casefold(),
        constituent_id=person.id,
        opened_at=now,
    )
    session.add(
        CouncillorRequest(
            case_id=case.id,
            raised_by_id=councillor.id,
            raised_by_label=label[:200],
            wanted=request.wanted,
            due_on=request.due_on,
            consent_text=CONSENT_TEXT,
            consented_at=now,
            created_at=now,
        )
    )
    summary = (
        f"Raised by {label} for {request.name}, wanted by {uk_long_date(request.due_on)} "
        f"(resident's consent confirmed): {request.wanted}"
    )
    session.add(
        TimelineEntry(case_id=case.id, kind=TIMELINE_KIND, occurred_at=now, summary=summary[:500])
    )
    _tag(session, settings, case.id, case.reference, request, label, now)
    return RaisedCase(case.id, case.reference, request.due_on)


def _constituent(session: Session, request: CheckedRequest) -> Constituent:
    """One record per person: found by email as mail is; a new record when there is none."""
    hints = ContactHints(request.name, request.address, request.postcode, request.phone or None)
    if request.email:
        return constituent_service.find_or_create(session, request.email, hints)
    person = Constituent(
        name=request.name,
        address=request.address,
        postcode=request.postcode,
        phone=request.phone[:40],
    )
    session.add(person)
    session.flush()
    return person


def _tag(
    session: Session,
    settings: Settings,
    case_id: int,
    reference: str,
    request: CheckedRequest,
    label: str,
    now: datetime,
) -> None:
    """The rules read the request as they read mail; the councillor's issue is set by hand."""
    features = MessageFeatures(
        subject=_subject(request.wanted),
        text=request.wanted,
        kind="constituent",
        postcode=request.postcode,
    )
    apply_rules(session, case_id, features, settings, now)
    if request.issue:
        set_manual(
            session, reference, Axis.ISSUE, request.issue, who=label, reason=f"raised by {label}"
        )


def _subject(wanted: str) -> str:
    first = " ".join(wanted.strip().splitlines()[0].split()) if wanted.strip() else ""
    if len(first) <= SUBJECT_LENGTH:
        return first
    return first[: SUBJECT_LENGTH - 1].rstrip() + "…"


def _due(text: str, today: date) -> tuple[date | None, str]:
    due = _parse_day(text.strip())
    if due is None:
        return None, "Enter the date as year-month-day (2026-12-01) or day/month/year (1/12/2026)."
    if due < today:
        return None, "The date has passed: choose today or a later day."
    if due > today + MAX_AHEAD:
        return None, "Choose a date within the next year."
    return due, ""


def _parse_day(text: str) -> date | None:
    """The browser's date field sends 2026-12-01; without one, people type 1/12/2026."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    parts = text.replace(".", "/").replace("-", "/").split("/")
    if len(parts) == 3 and all(p.strip().isdigit() for p in parts) and len(parts[2].strip()) == 4:
        try:
            return date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            return None
    return None


def _one_line(text: str) -> str:
    return " ".join(_CONTROL_RE.sub("", text).split())
