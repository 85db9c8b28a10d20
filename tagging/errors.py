"""Errors the tagging code reports to a person: a bad rule, a bad name, a bad workbook.

Its own base class, not crm's: tagging sits below crm and imports nothing of ours.
"""

from __future__ import annotations


class TaggingError(Exception):
    """A rule, tag name or postcode list that cannot be used as given."""
