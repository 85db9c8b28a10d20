"""Errors of online enquiries, each one clear line for the office or the person at the form."""

from crm.errors import MailbagError


class ScreenerError(MailbagError):
    """The screener file is unreadable or wrong: the message names the file and the key."""


class TooMany(MailbagError):
    """Too many attempts from one connection or for one address in a while: try later."""
