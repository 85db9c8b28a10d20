"""Limits per connection and per address, counted in the database so every worker sees them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from crm.enquiries.errors import TooMany
from crm.enquiries.models import Throttle

KEEP = timedelta(days=2)  # longer than any window below


@dataclass(frozen=True)
class Limit:
    """At most `count` attempts per `window` in one bucket for one key (an IP, an address)."""

    bucket: str
    count: int
    window: timedelta
    message: str


FORM_POSTS_PER_IP = Limit(
    "enquiry:ip",
    20,
    timedelta(hours=1),
    "Too many forms have been sent from your connection in the last hour. "
    "Please try again later, or telephone the office.",
)
ENQUIRIES_PER_EMAIL = Limit(
    "enquiry:email",
    3,
    timedelta(days=1),
    "We have already received several enquiries from this email address today. "
    "We will reply to them: please wait for our answer, or telephone the office.",
)
STATUS_REQUESTS_PER_IP = Limit(
    "status:ip",
    10,
    timedelta(hours=1),
    "Too many links have been asked for from your connection. Please try again later.",
)
STATUS_REQUESTS_PER_EMAIL = Limit(
    "status:email",
    3,
    timedelta(hours=1),
    "Too many links have been asked for this email address. Please try again later.",
)


def hashed(limit: Limit, value: str) -> str:
    """What is stored: a hash, so the table holds no address or IP in clear."""
    return hashlib.sha256(f"{limit.bucket}\0{value.strip().lower()}".encode()).hexdigest()


def allowed(session: Session, limit: Limit, value: str, now: datetime) -> bool:
    since = now - limit.window
    used = session.scalar(
        select(func.count())
        .select_from(Throttle)
        .where(Throttle.bucket == limit.bucket, Throttle.key == hashed(limit, value))
        .where(Throttle.at > since)
    )
    return (used or 0) < limit.count


def record(session: Session, limit: Limit, value: str, now: datetime) -> None:
    """Count one attempt, and forget attempts older than any window."""
    session.execute(delete(Throttle).where(Throttle.at < now - KEEP))
    session.add(Throttle(bucket=limit.bucket, key=hashed(limit, value), at=now))


def take(session: Session, limit: Limit, value: str, now: datetime) -> None:
    """Count this attempt, or raise TooMany (with the limit's message) when it is one too many."""
    if not allowed(session, limit, value, now):
        raise TooMany(limit.message)
    record(session, limit, value, now)
