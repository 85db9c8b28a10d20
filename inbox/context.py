"""What every pipeline step may use besides the message: session, settings, clock, memo."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from crm.settings import Settings
from inbox.classify import ClassifyContext, domain_matches

T = TypeVar("T")


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

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        if key not in self.values:
            self.values[key] = load()
        value: T = self.values[key]
        return value

    def hold(self, row: T) -> T:
        self.held.append(row)
        return row


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
