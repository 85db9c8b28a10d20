"""Third parties' own references ("Our ref: MPC/123456"): recorded once, found again later.

Departments often strip our subject token and write back quoting only their reference; the
reference, recorded from their first reply, threads that later mail to the case. The
reading of the reference out of a message is the inbox's job: crm is handed the string.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.db import insert_ignore
from crm.followups.models import ThirdPartyReference
from crm.followups.parties import party_for
from crm.followups.service import annotate
from crm.models import Case
from crm.settings import Settings

MAX_LENGTH = 60


def normalise(reference: str) -> str:
    return " ".join(reference.split()).upper()[:MAX_LENGTH]


def record_reference(
    session: Session,
    settings: Settings,
    case_id: int,
    *,
    sender: str,
    reference: str,
    message_pk: int | None,
    when: datetime,
) -> bool:
    """Remember the sender's reference for this case; True when it is new.

    A reference already recorded for another case stays with that case: the first wins.
    """
    party = party_for(session, settings, sender)
    value = normalise(reference)
    if party is None or not value:
        return False
    if _find(session, party.key, value) is not None:
        return False
    insert_ignore(
        session,
        ThirdPartyReference,
        {
            "case_id": case_id,
            "party_key": party.key,
            "organisation_id": party.organisation.id if party.organisation else None,
            "reference": value,
            "message_pk": message_pk,
            "recorded_at": when,
        },
    )
    recorded = _find(session, party.key, value)
    if recorded is None or recorded.case_id != case_id:
        return False
    annotate(session, case_id, message_pk, when, f"reference from {party.name}: {value}")
    return True


def case_for_reference(
    session: Session, settings: Settings, *, sender: str, reference: str
) -> Case | None:
    """The case a reference was recorded on, when the sender is the same third party."""
    party = party_for(session, settings, sender)
    if party is None:
        return None
    found = _find(session, party.key, normalise(reference))
    return session.get(Case, found.case_id) if found is not None else None


def references_of(session: Session, case_id: int) -> list[ThirdPartyReference]:
    return list(
        session.scalars(
            select(ThirdPartyReference)
            .where(ThirdPartyReference.case_id == case_id)
            .order_by(ThirdPartyReference.id)
        )
    )


def _find(session: Session, party_key: str, reference: str) -> ThirdPartyReference | None:
    return session.scalar(
        select(ThirdPartyReference).where(
            ThirdPartyReference.party_key == party_key,
            ThirdPartyReference.reference == reference,
        )
    )
