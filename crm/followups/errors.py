"""Errors of follow-ups and chasing, each one clear line at the command line."""

from crm.errors import MailbagError


class FollowUpError(MailbagError):
    """A change to a follow-up or a chase that cannot be made as asked."""


class ChaseFailed(MailbagError):
    """A chase was not sent; `permanent` when trying again cannot help (staff must act)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent
