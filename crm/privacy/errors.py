"""What data protection commands report to a person instead of a traceback."""

from crm.errors import MailbagError


class PrivacyError(MailbagError):
    """A subject access, erasure, audit export or backup cannot be done as asked."""


class NotABackup(PrivacyError):
    """The file to restore is not a Mailbag backup, or one this Mailbag cannot read."""
