"""What threading asks of the database, asked once for a whole batch.

Replies thread by In-Reply-To and References, and letters that lost their headers by the
same person's open case on the same subject: a query each, and each query also ends the
batch's held-back rows early (crm.heldback). Asked before the batch, then kept up to date
as it records and adopts messages and opens cases, the indexes answer as the queries would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from crm.cases import NAMED_LOOKED_AT
from inbox.message import ParsedMessage


@dataclass
class ThreadIndex:
    """For each Message-ID asked about: the newest message under it that has a case."""

    asked: set[str]
    newest: dict[str, tuple[int, int]] = field(default_factory=dict)  # (row id, case id)

    def knows(self, named: Sequence[str]) -> bool:
        return all(message_id in self.asked for message_id in named)

    def case_of(self, named: Sequence[str]) -> int | None:
        """The case of the newest message among those named (the highest row id)."""
        held = [self.newest[message_id] for message_id in named if message_id in self.newest]
        return max(held)[1] if held else None

    def note(self, message_id: str | None, pk: int, case_id: int | None) -> None:
        """A message of the batch was stored on a case, or put on one."""
        if not message_id or case_id is None:
            return
        self.newest[message_id] = max((pk, case_id), self.newest.get(message_id, (pk, case_id)))


def named(parsed: ParsedMessage) -> list[str]:
    """The Message-IDs a message's threading may look up."""
    return [*parsed.in_reply_to[-NAMED_LOOKED_AT:], *parsed.references[-NAMED_LOOKED_AT:]]


@dataclass
class OpenCases:
    """For each person asked about: their open cases by subject key, the newest of each."""

    people: set[int]
    newest: dict[tuple[int, str], int] = field(default_factory=dict)

    def knows(self, constituent_id: int) -> bool:
        return constituent_id in self.people

    def case_on(self, constituent_id: int, subject_key: str) -> int | None:
        return self.newest.get((constituent_id, subject_key))

    def opened(self, constituent_id: int, subject_key: str, case_id: int) -> None:
        """A case of theirs was opened or reopened in the batch."""
        key = (constituent_id, subject_key)
        self.newest[key] = max(case_id, self.newest.get(key, case_id))
