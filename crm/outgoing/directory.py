"""The directory of third parties: who they are, where to write, how soon they should answer."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from crm.db import AnySelect, plain_rows
from crm.errors import MailbagError, NotFound
from crm.outgoing.models import Organisation, OrganisationAddress

KINDS = (
    "department",
    "agency",
    "council",
    "housing_association",
    "nhs",
    "police",
    "utility",
    "minister",
    "other",
)


class DirectoryError(MailbagError):
    """A directory change that would make lookups ambiguous or wrong."""


@dataclass(frozen=True)
class Seed:
    """One body the directory ships with; offices add their own MP-hotline addresses."""

    name: str
    kind: str
    domains: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    postal_address: str = ""
    reply_standard_days: int = 21
    notes: str = ""


# Government bodies ship with their public domains only: the MP-enquiry addresses are given
# to each office by the department, and a guessed address would send casework astray.
# The council entries are examples (Exampleshire) to copy for the office's own council.
SEED: tuple[Seed, ...] = (
    Seed(
        "Department for Work and Pensions",
        "department",
        ("dwp.gov.uk",),
        notes="Universal Credit, PIP, State Pension. Add the office's MP enquiry address.",
    ),
    Seed(
        "Home Office – UK Visas and Immigration MP Account",
        "department",
        ("homeoffice.gov.uk",),
        notes="Visa, asylum and settlement cases through the MP Account.",
    ),
    Seed("HM Revenue and Customs", "department", ("hmrc.gov.uk",), notes="Tax and tax credits."),
    Seed(
        "Driver and Vehicle Licensing Agency",
        "agency",
        ("dvla.gov.uk",),
        postal_address="DVLA, Swansea, SA6 7JL",
    ),
    Seed(
        "HM Passport Office",
        "agency",
        ("hmpo.gov.uk", "hmpo.homeoffice.gov.uk"),
        notes="Urgent travel: say so and give the travel date.",
    ),
    Seed(
        "Child Maintenance Service",
        "agency",
        notes="Part of DWP: add the CMS MP team's own address, or its replies count as DWP's.",
    ),
    Seed(
        "Exampleshire Council",
        "council",
        ("exampleshire.gov.uk",),
        postal_address="County Hall, Exampletown, EX1 1AA",
        reply_standard_days=14,
        notes="Example council: replace with the office's own council.",
    ),
    Seed(
        "Exampleshire Council – Housing Options",
        "council",
        emails=("housingoptions@exampleshire.gov.uk",),
        reply_standard_days=14,
    ),
    Seed(
        "Exampleshire Council – Council Tax",
        "council",
        emails=("counciltax@exampleshire.gov.uk",),
        reply_standard_days=14,
    ),
    Seed(
        "Exampleshire Council – Highways",
        "council",
        emails=("highways@exampleshire.gov.uk",),
        reply_standard_days=14,
    ),
    Seed(
        "Exampleshire Council – SEND Team",
        "council",
        emails=("send@exampleshire.gov.uk",),
        reply_standard_days=14,
    ),
    Seed(
        "Exampleshire Council – Community Safety and ASB",
        "council",
        emails=("asb@exampleshire.gov.uk",),
        reply_standard_days=14,
    ),
)


def seed_directory(session: Session) -> int:
    """Add the shipped bodies that are missing by name; never touches what staff edited."""
    added = 0
    for seed in SEED:
        if _by_exact_name(session, seed.name) is not None:
            continue
        add_organisation(
            session,
            seed.name,
            kind=seed.kind,
            emails=seed.emails,
            domains=seed.domains,
            postal_address=seed.postal_address,
            reply_standard_days=seed.reply_standard_days,
            notes=seed.notes,
        )
        added += 1
    return added


def organisations(session: Session) -> list[Organisation]:
    return list(
        session.scalars(
            select(Organisation)
            .options(selectinload(Organisation.addresses))
            .order_by(Organisation.name)
        )
    )


def organisation_names(session: Session) -> list[str]:
    """The directory's names alone, for the pages' drop-downs (no addresses to load)."""
    return list(plain_rows(session, _names()).scalars())


@functools.cache  # one statement object, reused: see crm.db.built_once
def _names() -> AnySelect:
    return select(Organisation.name).order_by(Organisation.name)


def add_organisation(
    session: Session,
    name: str,
    *,
    kind: str | None = None,
    emails: Sequence[str] = (),
    domains: Sequence[str] = (),
    postal_address: str | None = None,
    reply_standard_days: int | None = None,
    auto_chase: bool | None = None,
    notes: str | None = None,
) -> Organisation:
    """Create an organisation, or update the one of that name: given fields only."""
    name = " ".join(name.split())
    if not name:
        raise DirectoryError("an organisation needs a name")
    if kind is not None and kind not in KINDS:
        raise DirectoryError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    if reply_standard_days is not None and not 1 <= reply_standard_days <= 365:
        raise DirectoryError("the reply standard is a number of days between 1 and 365")
    org = _by_exact_name(session, name)
    if org is None:
        org = Organisation(name=name[:200], kind=kind or "other")
        session.add(org)
        session.flush()
    for field, value in (
        ("kind", kind),
        ("postal_address", postal_address),
        ("reply_standard_days", reply_standard_days),
        ("auto_chase", auto_chase),
        ("notes", notes),
    ):
        if value is not None:
            setattr(org, field, value)
    for email in emails:
        add_address(session, org, _email(email), is_domain=False)
    for domain in domains:
        add_address(session, org, _domain(domain), is_domain=True)
    return org


def add_address(session: Session, org: Organisation, value: str, *, is_domain: bool) -> None:
    """An address or domain belongs to one organisation only, so a lookup has one answer."""
    existing = session.scalar(select(OrganisationAddress).where(OrganisationAddress.value == value))
    if existing is not None:
        if existing.organisation_id != org.id:
            owner = session.get(Organisation, existing.organisation_id)
            raise DirectoryError(f"{value} already belongs to {owner.name if owner else '?'}")
        return
    session.add(OrganisationAddress(organisation_id=org.id, value=value, is_domain=is_domain))
    session.flush()
    session.refresh(org, ["addresses"])


def known_senders(session: Session) -> tuple[dict[str, str], dict[str, str]]:
    """Every address and every domain in the directory, each with its organisation's name."""
    rows = session.execute(
        select(OrganisationAddress.value, OrganisationAddress.is_domain, Organisation.name).join(
            Organisation, Organisation.id == OrganisationAddress.organisation_id
        )
    )
    addresses: dict[str, str] = {}
    domains: dict[str, str] = {}
    for value, is_domain, name in rows:
        (domains if is_domain else addresses)[value] = name
    return addresses, domains


def find_by_address(session: Session, address: str) -> Organisation | None:
    """The organisation an email belongs to: its own address first, then the closest domain."""
    address = address.strip().lower()
    exact = session.scalar(
        select(OrganisationAddress).where(
            OrganisationAddress.value == address, OrganisationAddress.is_domain.is_(False)
        )
    )
    if exact is not None:
        return exact.organisation
    domain = address.rpartition("@")[2]
    labels = domain.split(".")
    candidates = [".".join(labels[i:]) for i in range(len(labels) - 1)]
    if not candidates:
        return None
    rows = session.scalars(
        select(OrganisationAddress).where(
            OrganisationAddress.value.in_(candidates), OrganisationAddress.is_domain.is_(True)
        )
    ).all()
    if not rows:
        return None
    return max(rows, key=lambda row: len(row.value)).organisation


def find_by_name(session: Session, name: str) -> Organisation:
    """By exact name (any case), else the one organisation whose name contains the words."""
    exact = _by_exact_name(session, name)
    if exact is not None:
        return exact
    words = name.lower().split()
    everyone = organisations(session)
    matches = [org for org in everyone if words and all(w in org.name.lower() for w in words)]
    if not matches:  # "dwp", "hmrc": the short name people use is often the domain's
        matches = [org for org in everyone if name.strip().lower() in _short_names(org)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFound(f"no organisation in the directory matches {name!r}")
    names = "; ".join(org.name for org in matches[:5])
    raise DirectoryError(f"{name!r} matches several organisations: {names}")


def _short_names(org: Organisation) -> set[str]:
    return {address.value.rpartition("@")[2].split(".")[0] for address in org.addresses}


def _by_exact_name(session: Session, name: str) -> Organisation | None:
    return session.scalar(
        select(Organisation).where(func.lower(Organisation.name) == " ".join(name.split()).lower())
    )


def _email(value: str) -> str:
    email = value.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in email):
        raise DirectoryError(f"not an email address: {value!r}")
    return email


def _domain(value: str) -> str:
    domain = value.strip().lower().lstrip("@.")
    if "." not in domain or "@" in domain or any(c.isspace() for c in domain):
        raise DirectoryError(f"not a domain: {value!r}")
    return domain
