"""The signed-in person as the web layer carries them: a plain value, not a database row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from crm.access import Viewer
from crm.users.models import COUNCILLOR, OFFICE_MANAGER, STAFF


class SignedIn(Protocol):
    """What Me is made of: a user, or the plain columns `crm.users.service.signed_in` reads."""

    @property
    def id(self) -> int: ...
    @property
    def email(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def wards(self) -> Sequence[str] | None: ...


@dataclass(frozen=True)
class Me:
    id: int
    email: str
    name: str
    role: str
    wards: tuple[str, ...]

    @classmethod
    def of(cls, user: SignedIn) -> Me:
        return cls(user.id, user.email, user.name, user.role, tuple(user.wards or ()))

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def is_manager(self) -> bool:
        return self.role == OFFICE_MANAGER

    @property
    def label(self) -> str:
        return self.name or self.email

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.id, self.email, self.role, self.wards)


def staff_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: caseworkers and office managers; councillors read and add notes only."""
    if not connection.user.is_staff:
        raise PermissionDeniedException("for office staff only")


def managers_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: the office manager's pages (the audit log)."""
    if not connection.user.is_manager:
        raise PermissionDeniedException("for office managers only")


def councillors_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: the councillor's own pages (raising a case, their digest)."""
    if connection.user.role != COUNCILLOR:
        raise PermissionDeniedException("for councillors only")
