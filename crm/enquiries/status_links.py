"""Private links to a case's status page: signed, expiring, and void once the case's nonce goes.

A token is "<case id>.<issued>.<signature>"; the signature covers the case id, the moment of
issue and a random nonce kept on the case (never in the link). A new nonce, or erasing the
case (the nonce row cascades away), voids every link issued before.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete
from sqlalchemy.orm import Session

from crm.enquiries.models import StatusLink
from crm.enquiries.signing import key_for, sign, verify
from crm.models import Case
from crm.settings import Settings

PURPOSE = "case status link"
CLOCK_SKEW = timedelta(minutes=5)


class LinkState(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


@dataclass(frozen=True)
class LinkCheck:
    """What a token says: the case it names when valid, nothing otherwise."""

    state: LinkState
    case_id: int | None = None


def link_for(session: Session, settings: Settings, case: Case, now: datetime) -> str | None:
    """A link for the case's current nonce (made on first use); None without MAILBAG_BASE_URL
    or MAILBAG_SECRET_KEY (nothing to sign it with)."""
    if not settings.base_url or not settings.secret_key:
        return None
    row = session.get(StatusLink, case.id)
    if row is None:
        row = StatusLink(case_id=case.id, nonce=_new_nonce(), issued_at=now)
        session.add(row)
        session.flush()
    return f"{settings.base_url}/status/{token(settings, case.id, row.nonce, now)}"


def reissue(session: Session, settings: Settings, case: Case, now: datetime) -> str | None:
    """A fresh link, and every earlier one void: what /status/new sends."""
    revoke(session, case.id)
    session.flush()
    return link_for(session, settings, case, now)


def revoke(session: Session, case_id: int) -> None:
    """Void every link to the case (erasure does this by deleting the case row)."""
    session.execute(delete(StatusLink).where(StatusLink.case_id == case_id))


def token(settings: Settings, case_id: int, nonce: str, now: datetime) -> str:
    issued = str(int(now.timestamp()))
    signature = sign(key_for(settings, PURPOSE), str(case_id), issued, nonce)
    return f"{case_id}.{issued}.{signature}"


def check(session: Session, settings: Settings, text: str, now: datetime) -> LinkCheck:
    """Valid (naming the case), expired, or invalid: tampered, unknown, voided or malformed."""
    parts = text.strip().split(".")
    if len(parts) != 3 or not all(p.isdigit() and len(p) <= 12 for p in parts[:2]):
        return LinkCheck(LinkState.INVALID)
    case_id, issued, signature = int(parts[0]), parts[1], parts[2]
    row = session.get(StatusLink, case_id)
    if row is None or not verify(
        key_for(settings, PURPOSE), signature, parts[0], issued, row.nonce
    ):
        return LinkCheck(LinkState.INVALID)
    age = now.timestamp() - int(issued)
    if age < -CLOCK_SKEW.total_seconds():
        return LinkCheck(LinkState.INVALID)
    if age > timedelta(days=settings.status_link_days).total_seconds():
        return LinkCheck(LinkState.EXPIRED)
    return LinkCheck(LinkState.VALID, case_id)


def _new_nonce() -> str:
    return secrets.token_urlsafe(32)
