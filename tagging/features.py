"""What the rules may look at in a message: plain values, so tagging never needs a database."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MessageFeatures:
    """One message as the rules see it; `postcode` is the constituent's, when known."""

    subject: str = ""
    text: str = ""
    sender: str = ""
    attachment_types: tuple[str, ...] = ()
    kind: str = ""
    postcode: str | None = None
