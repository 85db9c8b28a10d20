"""Expected ways for a message's journey to end early; not bugs, handled by the runner."""

from __future__ import annotations

from sqlalchemy.exc import StatementError


class Duplicate(Exception):
    """Already stored (same Message-ID, or same bytes when there is none)."""


class StepError(Exception):
    """A step found the message unusable; the message goes to quarantine with this text."""


def describe_error(error: BaseException) -> str:
    """A quarantine reason staff can read: the error's type and message.

    For a database error, the driver's own message only: SQLAlchemy's text appends the whole
    statement and its parameters, a page of SQL and the letter's text in the reason.
    """
    if isinstance(error, StatementError) and error.orig is not None:
        cause = error.orig
        return f"{type(error).__name__}: {type(cause).__name__}: {str(cause).strip()}"
    return f"{type(error).__name__}: {error}"
