"""Who a third party is: a directory organisation, or else an unlisted body known by domain.

An address under a third-party domain (gov.uk, nhs.uk...) that is not in the directory is
*not* added to the directory: the follow-up remembers the domain instead, so the directory
stays what staff curated and no automatic entry ever claims a whole domain.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import ConstituentEmail
from crm.outgoing import directory
from crm.outgoing.models import Organisation
from crm.settings import Settings


@dataclass(frozen=True)
class Party:
    """A third party as follow-ups and references key it: "org:12" or "domain:x.gov.uk"."""

    key: str
    name: str
    organisation: Organisation | None


def party_for(session: Session, settings: Settings, address: str) -> Party | None:
    """The third party an address belongs to, or None for anyone else (constituents, us)."""
    address = address.strip().lower()
    if "@" not in address:
        return None
    org = directory.find_by_address(session, address)
    if org is not None:
        return Party(f"org:{org.id}", org.name, org)
    domain = address.rpartition("@")[2]
    if not under(domain, settings.third_party_domains) or _is_constituent(session, address):
        return None
    return Party(f"domain:{domain}", domain, None)


def party_name(session: Session, key: str) -> str:
    """A readable name for a party key, for timelines and lists."""
    kind, _, value = key.partition(":")
    if kind == "org":
        org = session.get(Organisation, int(value))
        return org.name if org is not None else key
    return value


def under(domain: str, suffixes: tuple[str, ...]) -> bool:
    domain = domain.lower().rstrip(".")
    return any(domain == s or domain.endswith("." + s) for s in suffixes if s)


def _is_constituent(session: Session, address: str) -> bool:
    """An NHS nurse writing about her own case is a constituent, not the NHS."""
    found = session.scalar(select(ConstituentEmail.id).where(ConstituentEmail.email == address))
    return found is not None
