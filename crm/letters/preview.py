"""See a letter exactly as it would go, with a real case's data, before anything is sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from crm import cases
from crm.letters.context import LetterContext
from crm.letters.dates import uk_today
from crm.letters.gather import Recipient, gather
from crm.letters.overrides import office_letters
from crm.letters.printable import letter_docx
from crm.letters.templates import LetterInfo, Letters, RenderedEmail
from crm.outgoing.compose import with_reference
from crm.settings import Settings
from crm.types import utcnow


@dataclass(frozen=True)
class Preview:
    """Every form of one letter: the email (subject with reference) and the posted letter."""

    info: LetterInfo
    recipient: Recipient
    subject: str
    email: RenderedEmail
    printable: str
    context: LetterContext

    @property
    def postal(self) -> bool:
        """False when there is no postal address: the printed letter is addressed by email."""
        return self.context.recipient.has_postal_address

    def docx(self) -> bytes:
        return letter_docx(self.context, self.email.subject, self.printable)


def preview(
    session: Session,
    settings: Settings,
    template: str,
    reference: str,
    *,
    to: str | None = None,
    note: str = "",
    tags: Sequence[str] = (),
    now: datetime | None = None,
    letters: Letters | None = None,
) -> Preview:
    letters = letters or office_letters(session, settings)
    info = letters.info(template)
    case = cases.get(session, reference)
    context, recipient = gather(
        session, settings, case, info, to=to, today=uk_today(now or utcnow()), note=note, tags=tags
    )
    values = context.as_mapping()
    email = letters.render_email(template, values)
    return Preview(
        info=info,
        recipient=recipient,
        subject=with_reference(email.subject, case.reference),
        email=email,
        printable=letters.render_printable(template, values),
        context=context,
    )
