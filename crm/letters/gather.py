"""A letter's context from the database: the case, its constituent, the recipient, the office."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.letters.context import (
    CaseView,
    ConstituentView,
    LetterContext,
    ThirdPartyView,
    constituent_recipient,
    office_view,
    reply_by,
    split_address,
    third_party_recipient,
)
from crm.letters.dates import uk_long_date
from crm.letters.errors import LetterError, MissingRecipient
from crm.letters.templates import CONSTITUENT, LetterInfo
from crm.models import Case, Constituent, ConstituentEmail, Message
from crm.outgoing import directory
from crm.outgoing.models import Organisation
from crm.settings import Settings


@dataclass(frozen=True)
class Recipient:
    """Where one letter goes: an email address, and the organisation when it is a known one."""

    email: str
    name: str
    organisation_id: int | None = None


def gather(
    session: Session,
    settings: Settings,
    case: Case,
    info: LetterInfo,
    *,
    to: str | None,
    today: date,
    note: str = "",
    tags: Sequence[str] = (),
    extra: Mapping[str, object] | None = None,
) -> tuple[LetterContext, Recipient]:
    """Everything one letter needs, with the recipient named by `to` (or the constituent)."""
    constituent = constituent_view(session, case)
    if info.audience != CONSTITUENT and not constituent.name:
        raise LetterError(
            f"the {info.name} letter is written on the constituent's behalf: "
            "their name is not on record yet"
        )
    organisation, email = _resolve(session, info, constituent, to)
    third_party = None
    if organisation is not None or info.audience != CONSTITUENT:
        third_party = third_party_view(session, case, organisation, email, today)
    recipient_view = (
        third_party_recipient(third_party)
        if third_party is not None
        else constituent_recipient(_addressed_to(constituent, email))
    )
    context = LetterContext(
        case=case_view(session, case, tags),
        constituent=constituent,
        office=office_view(settings),
        recipient=recipient_view,
        today=today,
        third_party=third_party,
        note=note.strip(),
        extra=dict(extra or {}),
    )
    recipient = Recipient(
        email=email,
        name=recipient_view.name,
        organisation_id=organisation.id if organisation is not None else None,
    )
    return context, recipient


def case_view(session: Session, case: Case, tags: Sequence[str] = ()) -> CaseView:
    return CaseView(
        reference=case.reference,
        subject=case.subject or "your enquiry",
        opened_on=uk_long_date(case.opened_at),
        tags=tuple(tags),
        referred_to=tuple(org.name for org in organisations_written_to(session, case)),
    )


def constituent_view(session: Session, case: Case) -> ConstituentView:
    """The case's constituent, at the address they last wrote from on this case."""
    person = session.get(Constituent, case.constituent_id) if case.constituent_id else None
    if person is None:
        return ConstituentView(name="", email="")
    return ConstituentView(
        name=person.name,
        email=_constituent_email(session, case, person),
        address_lines=split_address(person.address),
        postcode=(person.postcode or "").upper(),
    )


def third_party_view(
    session: Session, case: Case, org: Organisation | None, email: str, today: date
) -> ThirdPartyView:
    """A directory organisation, or a bare address the office typed, with its history here."""
    written = _messages_to(session, case, org, email)
    days = org.reply_standard_days if org is not None else 21
    return ThirdPartyView(
        name=org.name if org is not None else email,
        kind=org.kind if org is not None else "other",
        email=email,
        address_lines=split_address(org.postal_address) if org is not None else (),
        reply_standard_days=days,
        reply_by=reply_by(today, days),
        first_written_on=uk_long_date(_when(written[0])) if written else "",
        last_written_on=uk_long_date(_when(written[-1])) if written else "",
        letters_sent=len(written),
    )


def organisations_written_to(session: Session, case: Case) -> list[Organisation]:
    """Directory organisations the office has written to on this case, first written first."""
    found: dict[int, Organisation] = {}
    for message in _outgoing(session, case):
        for address in message.to_addresses:
            org = directory.find_by_address(session, address)
            if org is not None:
                found.setdefault(org.id, org)
    return list(found.values())


def _resolve(
    session: Session, info: LetterInfo, constituent: ConstituentView, to: str | None
) -> tuple[Organisation | None, str]:
    """An organisation by name or address, a bare address, or the constituent by default."""
    if not to:
        if info.audience != CONSTITUENT:
            raise MissingRecipient(
                f"the {info.name} letter goes to a third party: name the organisation or address"
            )
        if not constituent.email:
            raise MissingRecipient("the constituent on this case has no email address")
        return None, constituent.email
    if "@" in to:
        email = to.strip().lower()
        org = directory.find_by_address(session, email)
        if org is not None and info.audience == CONSTITUENT:
            raise LetterError(f"the {info.name} letter is for the constituent, not {org.name}")
        return org, email
    org = directory.find_by_name(session, to)
    if info.audience == CONSTITUENT:
        raise LetterError(f"the {info.name} letter is for the constituent, not {org.name}")
    if not org.emails:
        raise MissingRecipient(f"{org.name} has no email address in the directory: add one")
    return org, org.emails[0]


def _addressed_to(person: ConstituentView, email: str) -> ConstituentView:
    """The constituent, reached at another address of theirs when the office chose one."""
    if email == person.email:
        return person
    return ConstituentView(person.name, email, person.address_lines, person.postcode)


def _constituent_email(session: Session, case: Case, person: Constituent) -> str:
    emails = list(
        session.scalars(
            select(ConstituentEmail.email)
            .where(ConstituentEmail.constituent_id == person.id)
            .order_by(ConstituentEmail.id)
        )
    )
    latest = session.scalar(
        select(Message.from_address)
        .where(Message.case_id == case.id, Message.direction == "in")
        .where(Message.from_address.in_(emails or [""]))
        .order_by(Message.received_at.desc(), Message.id.desc())
        .limit(1)
    )
    return latest or (emails[0] if emails else "")


def _outgoing(session: Session, case: Case) -> list[Message]:
    """The office's messages on the case, oldest first by when they were written."""
    messages = session.scalars(
        select(Message).where(Message.case_id == case.id, Message.direction == "out")
    ).all()
    return sorted(messages, key=lambda m: (_when(m), m.id))


def _messages_to(
    session: Session, case: Case, org: Organisation | None, email: str
) -> list[Message]:
    """Outgoing messages on the case to this organisation (any of its addresses) or address."""
    return [
        message
        for message in _outgoing(session, case)
        if any(_reaches(session, address, org, email) for address in message.to_addresses)
    ]


def _reaches(session: Session, address: str, org: Organisation | None, email: str) -> bool:
    if address == email:
        return True
    found = directory.find_by_address(session, address) if org is not None else None
    return found is not None and org is not None and found.id == org.id


def _when(message: Message) -> datetime:
    return message.sent_at or message.received_at
