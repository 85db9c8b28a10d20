"""What can go wrong when changing tags, each as one line for the person who asked."""

from __future__ import annotations

from crm.errors import MailbagError, NotFound


class TagNotFound(NotFound):
    """No value on that axis answers to that name or alias."""


class TagError(MailbagError):
    """A change to the taxonomy that cannot be made as asked (a name taken, a value retired)."""


class TagNameError(TagError):
    """A name that cannot be a tag's: empty, too long, too many levels, a separator inside."""
