"""Errors the tagging code reports to a person: a bad rule, a bad name, a bad workbook."""

from __future__ import annotations

from crm.errors import MailbagError


class TaggingError(MailbagError):
    """A rule, tag name or postcode list that cannot be used as given."""
