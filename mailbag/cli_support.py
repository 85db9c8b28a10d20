"""What every command shares: our own errors as one clear line, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from crm.errors import MailbagError
from tagging.errors import TaggingError

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(command: F) -> F:
    """Our own errors become `mailbag: error: ...` and exit status 2, never a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (MailbagError, TaggingError) as error:
            click.echo(f"mailbag: error: {error}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]
