"""Errors of the weekly review, each one clear line at the command line."""

from crm.errors import MailbagError


class ReportError(MailbagError):
    """A review that cannot be made as asked: an unknown audience, a date in the future."""
