"""Mailbag's own exceptions: domain errors turned into clear messages at the edges."""


class MailbagError(Exception):
    """Base for every error Mailbag reports to a person rather than as a traceback."""


class SettingsError(MailbagError):
    """A MAILBAG_* variable is missing or wrong; the message names it in one line."""


class NotFound(MailbagError):
    """A case, constituent or quarantine entry that was asked for does not exist."""
