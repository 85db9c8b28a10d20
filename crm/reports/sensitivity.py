"""Who a workbook is for: safeguarding and special-category cases are described only to roles
allowed to see them (crm.access decides which cases those are); everyone else sees counts."""

from __future__ import annotations

from crm.access import RESTRICTED, is_restricted
from crm.reports.errors import ReportError
from crm.users.models import CASEWORKER, COUNCILLOR, OFFICE_MANAGER

AUDIENCES = (OFFICE_MANAGER, CASEWORKER, COUNCILLOR)
WITHHELD = "Withheld: safeguarding or special category"

__all__ = ["AUDIENCES", "RESTRICTED", "WITHHELD", "describes_restricted", "is_restricted"]


def parse_audience(text: str) -> str:
    """The role a workbook is made for; ReportError names the choices."""
    audience = text.strip().lower().replace("-", "_").replace(" ", "_")
    if audience not in AUDIENCES:
        raise ReportError(f"unknown audience {text!r} (expected one of {', '.join(AUDIENCES)})")
    return audience


def describes_restricted(audience: str) -> bool:
    """Only an office manager's workbook names restricted cases: a workbook is made for a
    role, not a person, so the web view's "assigned to you" exception cannot apply here."""
    return audience == OFFICE_MANAGER
