"""What every pipeline step may use besides the message: session, settings, clock, memo."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from crm.casenumbers import NumberBlock
from crm.followups.parties import under
from crm.later import WrittenLater
from crm.outgoing import directory
from crm.settings import Settings
from inbox.classify import ClassifyContext, domain_matches

T = TypeVar("T")

DIRECTORY = "third-party directory"  # its addresses and domains, each with its organisation
DIRECTORY_KEYS = "third-party directory, lower-cased"


@dataclass
class BatchMemo:
    """Lookups that hold for one batch (one transaction), shared by its messages.

    The taxonomy, the directory and the rows a step loaded do not change under a batch's
    feet; asking the database again for each message was most of the cost of ingest.
    """

    values: dict[Hashable, Any] = field(default_factory=dict)
    # The session's identity map holds rows weakly: a case opened by one step would be
    # selected again by the next. Holding them here keeps them for the batch.
    held: list[object] = field(default_factory=list)
    # Rows the batch writes at its end (sources, timeline, tag history...): nothing reads
    # them before the commit. None: each is written at once.
    later: WrittenLater | None = None
    # Case numbers taken ahead, for a batch that is rolled back whole or not at all.
    numbers: NumberBlock | None = None

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        if key not in self.values:
            self.values[key] = load()
        value: T = self.values[key]
        return value

    def hold(self, row: T) -> T:
        self.held.append(row)
        return row

    def written_later(self) -> tuple[int, ...]:
        """A mark to go back to in the rows written at the batch's end."""
        return self.later.mark() if self.later is not None else ()

    def forget_since(self, mark: tuple[int, ...]) -> None:
        """Drop the rows added since `mark` (its message was rolled back)."""
        if self.later is not None:
            self.later.forget_since(mark)


@dataclass(frozen=True)
class StepEnv:
    session: Session
    settings: Settings
    classify: ClassifyContext
    now: datetime
    memo: BatchMemo = field(default_factory=BatchMemo)

    def is_office(self, email: str) -> bool:
        """The office's own address or one of its staff's: never a constituent."""
        return self.classify.is_ours(email)

    def is_third_party(self, email: str) -> bool:
        domain = email.rpartition("@")[2]
        return domain_matches(domain, self.classify.third_party_domains) is not None

    def directory(self) -> tuple[dict[str, str], dict[str, str]]:
        """The directory's addresses and domains, each with its organisation's name: read
        once per batch (staff change the directory, ingest never does)."""
        return self.memo.get(DIRECTORY, lambda: directory.known_senders(self.session))

    def may_be_party(self, email: str) -> bool:
        """False when crm.followups.parties.party_for is sure to find no third party for the
        address: not in the directory, under no third-party domain. Most mail is from
        constituents, and their follow-up and reference lookups were two queries each."""
        address = email.strip().lower()
        if "@" not in address:
            return False
        domain = address.rpartition("@")[2]
        if under(domain, self.settings.third_party_domains):
            return True
        addresses, domains = self.memo.get(DIRECTORY_KEYS, self._directory_keys)
        labels = domain.split(".")
        suffixes = (".".join(labels[i:]) for i in range(len(labels) - 1))
        return address in addresses or any(suffix in domains for suffix in suffixes)

    def _directory_keys(self) -> tuple[frozenset[str], frozenset[str]]:
        addresses, domains = self.directory()
        return frozenset(a.lower() for a in addresses), frozenset(d.lower() for d in domains)
