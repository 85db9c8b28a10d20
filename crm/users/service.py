"""Users: created with an argon2 hash, verified in constant time, sign-ins rate-limited."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from crm import audit
from crm.db import AnySelect, plain_rows
from crm.errors import MailbagError, NotFound
from crm.types import utcnow
from crm.users.models import COUNCILLOR, OFFICE_MANAGER, ROLES, LoginAttempt, User
from tagging.postcodes import normalise_areas

HASHER = PasswordHasher()
# Verified against when the address is unknown, so a wrong address costs as long as a wrong
# password and the timing does not tell which accounts exist.
_DUMMY_HASH = HASHER.hash("not a password anyone has")
MIN_PASSWORD = 10
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_REMOTE = 30


class UserError(MailbagError):
    """A user cannot be created or changed as asked."""


class TooManyAttempts(MailbagError):
    """Too many failed sign-ins lately for this account or from this address."""


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: the user, or None with nothing said about why."""

    user: User | None


def create_user(
    session: Session,
    email: str,
    password: str,
    *,
    role: str,
    name: str = "",
    wards: Sequence[str] = (),
    who: str = "command line",
) -> User:
    """A new user; councillors need wards (postcode districts or sectors) to see anything."""
    email = email.strip().lower()
    if "@" not in email:
        raise UserError(f"expected an email address, got {email!r}")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (expected one of {', '.join(ROLES)})")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must be at least {MIN_PASSWORD} characters")
    try:
        areas = list(normalise_areas(wards))
    except ValueError as error:
        raise UserError(str(error)) from None
    if role != COUNCILLOR and areas:
        raise UserError("only councillors have wards")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise UserError(f"there is already a user {email}")
    user = User(email=email, name=name.strip()[:200], role=role, wards=areas)
    user.password_hash = HASHER.hash(password)
    session.add(user)
    session.flush()
    audit.record(session, "user_created", who=who, detail=f"user {user.id} as {role}")
    return user


def rate_limited(session: Session, email: str, remote: str, now: datetime | None = None) -> bool:
    """True when this account or this address failed too often in the last few minutes."""
    since = (now or utcnow()) - WINDOW
    failures = select(func.count(LoginAttempt.id)).where(
        LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False)
    )
    by_account = session.scalar(failures.where(LoginAttempt.email == email.strip().lower()))
    by_remote = session.scalar(failures.where(LoginAttempt.remote == remote[:64]))
    return (by_account or 0) >= MAX_FAILURES_PER_ACCOUNT or (
        by_remote or 0
    ) >= MAX_FAILURES_PER_REMOTE


def sign_in(session: Session, email: str, password: str, remote: str) -> SignIn:
    """Check the password (rehashing an old hash), record the attempt, audit the outcome."""
    email = email.strip().lower()[:320]
    if rate_limited(session, email, remote):
        raise TooManyAttempts("too many failed sign-ins: wait a few minutes and try again")
    user = session.scalar(select(User).where(User.email == email))
    ok = _verify(user.password_hash if user else _DUMMY_HASH, password)
    ok = ok and user is not None and user.active
    if ok and user is not None and HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    session.add(
        LoginAttempt(
            email=email, remote=remote[:64], succeeded=ok, user_id=user.id if user else None
        )
    )
    action = "sign_in" if ok else "sign_in_failed"
    audit.record(session, action, who=email, detail=f"from {remote[:64]}")
    return SignIn(user if ok else None)


def sign_out(session: Session, user_id: int) -> None:
    """End every session of the user: signed cookies cannot be revoked one by one."""
    user = session.get(User, user_id)
    if user is not None:
        user.session_epoch += 1
        audit.record(session, "sign_out", who=user.email)


def signed_in(session: Session, user_id: int, epoch: int) -> Any | None:
    """The user behind a session cookie (id, email, name, role, wards), while active and not
    signed out since; None otherwise. Plain columns: every request asks."""
    values = {"user_id": user_id, "epoch": epoch}
    return plain_rows(session, _signed_in(), values).first()


@functools.cache  # one statement object, reused: see crm.db.built_once
def _signed_in() -> AnySelect:
    return select(User.id, User.email, User.name, User.role, User.wards).where(
        User.id == bindparam("user_id"),
        User.active.is_(True),
        User.session_epoch == bindparam("epoch"),
    )


def set_password(session: Session, user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must be at least {MIN_PASSWORD} characters")
    user.password_hash = HASHER.hash(password)
    user.session_epoch += 1


def staff_choices(session: Session) -> list[tuple[int, str]]:
    """(id, name or email) of the people a case can be assigned to, for the pages' forms."""
    rows = plain_rows(session, _staff())
    return [(user_id, name or email) for user_id, name, email in rows]


@functools.cache  # one statement object, reused: see crm.db.built_once
def _staff() -> AnySelect:
    return (
        select(User.id, User.name, User.email)
        .where(User.role != COUNCILLOR, User.active.is_(True))
        .order_by(User.name, User.email)
    )


@dataclass(frozen=True)
class Actor:
    """The office manager making a change: checked against the user changed, named in the log."""

    user_id: int
    email: str


@dataclass(frozen=True)
class NewPassword:
    """A password a manager set or Mailbag generated; `generated` is shown once, then forgotten."""

    user: User
    generated: str


def everyone(session: Session) -> list[User]:
    """Every account, active first, by role then name: the office manager's list."""
    return list(
        session.scalars(select(User).order_by(User.active.desc(), User.role, User.name, User.email))
    )


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def add_user(
    session: Session,
    email: str,
    *,
    role: str,
    name: str,
    wards: Sequence[str],
    password: str,
    by: Actor,
) -> NewPassword:
    """A manager adds an account; no password given means a generated one, shown once."""
    generated = "" if password else one_time_password()
    user = create_user(
        session, email, password or generated, role=role, name=name, wards=wards, who=by.email
    )
    return NewPassword(user, generated)


def change_permissions(
    session: Session, user_id: int, *, role: str, wards: Sequence[str], by: Actor
) -> User:
    """A new role or wards, audited; a manager never removes their own manager role."""
    user = get_user(session, user_id)
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (expected one of {', '.join(ROLES)})")
    if user.id == by.user_id and user.role == OFFICE_MANAGER and role != OFFICE_MANAGER:
        raise UserError(
            "you cannot remove your own office manager role: another office manager must "
            "do it, so the office always keeps someone who can manage it"
        )
    try:  # only councillors have wards: a changed role drops them
        areas = list(normalise_areas(wards)) if role == COUNCILLOR else []
    except ValueError as error:
        raise UserError(str(error)) from None
    before = _permissions(user)
    user.role, user.wards = role, areas
    after = _permissions(user)
    if after != before:
        detail = f"user {user.id} ({user.email}): {before} → {after}"
        audit.record(session, "permission_change", who=by.email, detail=detail)
    return user


def set_active(session: Session, user_id: int, active: bool, *, by: Actor) -> User:
    """Disable or enable an account; disabling ends its sessions. Never one's own."""
    user = get_user(session, user_id)
    if user.id == by.user_id and not active:
        raise UserError("you cannot disable your own account")
    if user.active != active:
        user.active = active
        if not active:
            user.session_epoch += 1
        state = "enabled" if active else "disabled"
        detail = f"user {user.id} ({user.email}) {state}"
        audit.record(session, "permission_change", who=by.email, detail=detail)
    return user


def reset_password(session: Session, user_id: int, password: str, *, by: Actor) -> NewPassword:
    """A new password (given, or generated and shown once); the user's sessions end."""
    user = get_user(session, user_id)
    generated = "" if password else one_time_password()
    set_password(session, user, password or generated)
    how = "a generated one-time password" if generated else "a password set by the manager"
    detail = f"user {user.id} ({user.email}): {how}"
    audit.record(session, "password_reset", who=by.email, detail=detail)
    return NewPassword(user, generated)


def one_time_password() -> str:
    """Sixteen URL-safe characters (96 bits): given to the person by hand, once."""
    return secrets.token_urlsafe(12)


def _permissions(user: User) -> str:
    wards = f" for {', '.join(user.wards)}" if user.wards else ""
    return f"{user.role}{wards}"


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
