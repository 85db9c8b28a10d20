"""Tables of the people who sign in, and of sign-in attempts (for rate limiting)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.models import Base
from crm.types import utcnow

CASEWORKER, OFFICE_MANAGER, COUNCILLOR = "caseworker", "office_manager", "councillor"
ROLES = (CASEWORKER, OFFICE_MANAGER, COUNCILLOR)
STAFF = frozenset({CASEWORKER, OFFICE_MANAGER})


class User(Base):
    """A caseworker, office manager or councillor; councillors see the wards they hold."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(Enum(*ROLES, name="user_role", native_enum=False, length=20))
    wards: Mapped[list[str]] = mapped_column(default=list)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped at sign-out: every cookie signed with an older number stops working.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def label(self) -> str:
        return self.name or self.email


class LoginAttempt(Base):
    """One sign-in attempt, kept to slow down password guessing by account and by address."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    remote: Mapped[str] = mapped_column(String(64), default="")
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_remote_at", "remote", "at"),
    )
