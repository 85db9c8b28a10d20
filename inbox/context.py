"""What every pipeline step may use besides the message: session, settings, clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from crm.settings import Settings
from inbox.classify import ClassifyContext, domain_matches


@dataclass(frozen=True)
class StepEnv:
    session: Session
    settings: Settings
    classify: ClassifyContext
    now: datetime

    def is_office(self, email: str) -> bool:
        return email.lower() in self.settings.office_addresses

    def is_third_party(self, email: str) -> bool:
        domain = email.rpartition("@")[2]
        return domain_matches(domain, self.classify.third_party_domains) is not None
