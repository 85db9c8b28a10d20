"""The enquiry form's fields, checked one by one with a message a person can act on."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from crm.enquiries.attachments import Accepted, Upload, check_uploads
from crm.enquiries.screener import Screener

MAX_NAME, MAX_ADDRESS, MAX_PROBLEM, MIN_PROBLEM = 200, 500, 10_000, 10
# Royal Mail's postcode shapes (outward code, then a digit and two letters), GIR 0AA included.
_POSTCODE = re.compile(
    r"^(GIR ?0AA|(?:[A-PR-UWYZ](?:\d{1,2}|[A-HK-Y]\d(?:\d|[ABEHMNPRV-Y])?|\d[A-HJKPSTUW]))"
    r" ?\d[ABD-HJLNP-UW-Z]{2})$"
)
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_PHONE = re.compile(r"^\+?[\d ()-]{10,20}$")
PASS_ON_CHOICES = ("yes", "no")


@dataclass
class EnquiryForm:
    """What the person typed and chose, kept as typed so a failed form comes back intact."""

    name: str = ""
    email: str = ""
    address: str = ""
    postcode: str = ""
    phone: str = ""
    problem: str = ""
    answers: dict[str, str] = field(default_factory=dict)  # question id -> answer id
    consent: bool = False
    pass_on: str = ""  # "yes" or "no" once the council route has offered it
    uploads: list[Upload] = field(default_factory=list)

    @classmethod
    def from_fields(
        cls, fields: Mapping[str, str], screener: Screener, uploads: list[Upload]
    ) -> EnquiryForm:
        """From posted fields; unknown fields are ignored, text is cleaned of control codes."""
        answers = {
            q.id: _line(fields.get(q.field, ""))[:40]
            for q in screener.questions
            if fields.get(q.field)
        }
        return cls(
            name=_line(fields.get("name", "")),
            email=_line(fields.get("email", "")),
            address=_text(fields.get("address", "")),
            postcode=_line(fields.get("postcode", "")),
            phone=_line(fields.get("phone", "")),
            problem=_text(fields.get("problem", "")),
            answers=answers,
            consent=fields.get("consent", "") == "yes",
            pass_on=_line(fields.get("pass_on", "")),
            uploads=uploads,
        )


@dataclass(frozen=True)
class Checked:
    """The form's problems by field id (in the order the form shows them), and kept files."""

    errors: dict[str, str]
    attachments: list[Accepted]
    email: str = ""
    postcode: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


def check(form: EnquiryForm, screener: Screener) -> Checked:
    """Every field, in the form's order: each problem keyed by the id of the field to fix."""
    errors: dict[str, str] = {}
    for question in screener.questions:
        if question.answer(form.answers.get(question.id, "")) is None:
            errors[question.field] = f"Choose an answer to “{question.legend}”"
    _put(errors, "name", _check_name(form.name))
    email, problem = normalise_email(form.email)
    _put(errors, "email", problem)
    _put(errors, "address", _check_address(form.address))
    postcode, problem = normalise_postcode(form.postcode)
    _put(errors, "postcode", problem)
    _put(errors, "phone", _check_phone(form.phone))
    _put(errors, "problem", _check_problem(form.problem))
    accepted, problems = check_uploads(form.uploads)
    if problems:
        errors["attachments"] = "; ".join(problems)
    if not form.consent:
        errors["consent"] = "Tick the box to agree, so that the office can act for you"
    if form.pass_on and form.pass_on not in PASS_ON_CHOICES:
        errors["pass_on"] = "Choose whether we should pass your enquiry on to the council"
    return Checked(errors, accepted, email, postcode)


def normalise_postcode(text: str) -> tuple[str, str | None]:
    """ "ex12ab" -> ("EX1 2AB", None); or ("", the message) when it is not a UK postcode."""
    compact = "".join(text.upper().split())
    if not compact:
        return "", "Enter your postcode"
    if not _POSTCODE.match(compact):
        return "", "Enter a real UK postcode, like EX1 2AB"
    return f"{compact[:-3]} {compact[-3:]}", None


def normalise_email(text: str) -> tuple[str, str | None]:
    address = text.strip()
    if not address:
        return "", "Enter your email address"
    if len(address) > 254 or not _EMAIL.match(address) or ".." in address:
        return "", "Enter an email address in the correct format, like name@example.com"
    return address.lower(), None


def _check_name(name: str) -> str | None:
    if not name:
        return "Enter your full name"
    if len(name) > MAX_NAME:
        return f"Your name must be {MAX_NAME} characters or fewer"
    return None


def _check_address(address: str) -> str | None:
    if not address:
        return "Enter your postal address"
    if len(address) > MAX_ADDRESS:
        return f"Your address must be {MAX_ADDRESS} characters or fewer"
    return None


def _check_phone(phone: str) -> str | None:
    if not phone:
        return None
    digits = sum(ch.isdigit() for ch in phone)
    if not _PHONE.match(phone) or not 10 <= digits <= 15:
        return "Enter a telephone number, like 01632 960 001, or leave it empty"
    return None


def _check_problem(problem: str) -> str | None:
    if len(problem) < MIN_PROBLEM:
        return "Tell us about the problem in your own words"
    if len(problem) > MAX_PROBLEM:
        return f"Your message must be {MAX_PROBLEM:,} characters or fewer: it has {len(problem):,}"
    return None


def _put(errors: dict[str, str], key: str, problem: str | None) -> None:
    if problem is not None:
        errors[key] = problem


def _line(value: str) -> str:
    """One line of text: control characters and runs of spaces become one space."""
    return " ".join(_printable(value).split())


def _text(value: str) -> str:
    """Several lines: line breaks kept (as \\n), other control characters dropped."""
    lines = _printable(value.replace("\r\n", "\n").replace("\r", "\n"), keep="\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def _printable(value: str, keep: str = "") -> str:
    return "".join(ch if ch in keep or unicodedata.category(ch)[0] != "C" else " " for ch in value)
