"""What a letter template may use: the case, the people, the office and dates, read-only."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.utils import parseaddr
from typing import ClassVar

from crm.errors import SettingsError
from crm.letters.dates import uk_long_date
from crm.settings import Settings

_POSTCODE_RE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)


@dataclass(frozen=True)
class CaseView:
    variable: ClassVar[str] = "case"
    reference: str
    subject: str
    opened_on: str
    tags: tuple[str, ...] = ()
    referred_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConstituentView:
    variable: ClassVar[str] = "constituent"
    name: str
    email: str
    address_lines: tuple[str, ...] = ()
    postcode: str = ""

    @property
    def has_postal_address(self) -> bool:
        return bool(self.address_lines)

    @property
    def salutation(self) -> str:
        return self.name or "Sir or Madam"

    @property
    def postal_lines(self) -> tuple[str, ...]:
        """Address lines with the postcode last, once, as Royal Mail asks."""
        return _with_postcode(self.address_lines, self.postcode)

    @property
    def one_line_address(self) -> str:
        return ", ".join(self.postal_lines)


@dataclass(frozen=True)
class ThirdPartyView:
    variable: ClassVar[str] = "third_party"
    name: str
    kind: str
    email: str
    address_lines: tuple[str, ...]
    reply_standard_days: int
    reply_by: str
    first_written_on: str = ""
    last_written_on: str = ""
    letters_sent: int = 0

    @property
    def has_postal_address(self) -> bool:
        return bool(self.address_lines)

    @property
    def salutation(self) -> str:
        return "Minister" if self.kind == "minister" else "Sir or Madam"


@dataclass(frozen=True)
class OfficeView:
    variable: ClassVar[str] = "office"
    representative: str
    name: str
    email: str
    address_lines: tuple[str, ...] = ()
    phone: str = ""
    signature_lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecipientView:
    """Whoever this copy goes to, so one template line serves "Dear ..." and the address block."""

    variable: ClassVar[str] = "recipient"
    name: str
    email: str
    salutation: str
    postal_lines: tuple[str, ...]

    @property
    def has_postal_address(self) -> bool:
        return bool(self.postal_lines)

    @property
    def sign_off(self) -> str:
        """British usage: "faithfully" to an unnamed reader, "sincerely" to a named one."""
        return "Yours faithfully" if self.salutation == "Sir or Madam" else "Yours sincerely"

    @property
    def address_block(self) -> tuple[str, ...]:
        """Name and postal address; by email when there is no postal address on record."""
        lines = [self.name] if self.name and self.name != self.email else []
        if self.postal_lines:
            return (*lines, *self.postal_lines)
        return (*lines, f"By email: {self.email}")


@dataclass(frozen=True)
class LetterContext:
    """The variables of one letter; `as_mapping()` is what the templates see."""

    case: CaseView
    constituent: ConstituentView
    office: OfficeView
    recipient: RecipientView
    today: date
    third_party: ThirdPartyView | None = None
    note: str = ""
    extra: Mapping[str, object] = field(default_factory=dict)

    def as_mapping(self) -> dict[str, object]:
        values: dict[str, object] = {
            **self.extra,
            "case": self.case,
            "constituent": self.constituent,
            "office": self.office,
            "recipient": self.recipient,
            "today": uk_long_date(self.today),
            "note": self.note,
        }
        if self.third_party is not None:  # left undefined for constituent letters: strict
            values["third_party"] = self.third_party
        return values


def office_view(settings: Settings) -> OfficeView:
    """The office from the settings; a letter without the representative's name is not sent."""
    if not settings.representative_name:
        raise SettingsError(
            "MAILBAG_REPRESENTATIVE_NAME is not set: letters need the representative's name"
        )
    name, email = parseaddr(settings.from_address)
    return OfficeView(
        representative=settings.representative_name,
        name=settings.office_name or name or f"Office of {settings.representative_name}",
        email=email or next(iter(sorted(settings.office_addresses)), ""),
        address_lines=settings.office_postal_address,
        phone=settings.office_phone,
        signature_lines=settings.office_signature or (settings.representative_name,),
    )


def constituent_recipient(person: ConstituentView) -> RecipientView:
    return RecipientView(
        name=person.name,
        email=person.email,
        salutation=person.salutation,
        postal_lines=person.postal_lines,
    )


def third_party_recipient(party: ThirdPartyView) -> RecipientView:
    return RecipientView(
        name=party.name,
        email=party.email,
        salutation=party.salutation,
        postal_lines=party.address_lines,
    )


def reply_by(today: date, days: int) -> str:
    """The day a reply is due, counting calendar days as departments' standards do."""
    return uk_long_date(today + timedelta(days=days))


def split_address(text: str) -> tuple[str, ...]:
    """Stored address text as lines: one per line, or split at commas when typed on one."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) == 1 and "," in lines[0]:
        lines = [part.strip() for part in lines[0].split(",") if part.strip()]
    return tuple(lines)


def _with_postcode(lines: tuple[str, ...], postcode: str) -> tuple[str, ...]:
    if not lines:
        return ()
    if not postcode or any(_POSTCODE_RE.search(line) for line in lines):
        return lines
    return (*lines, postcode.upper())
