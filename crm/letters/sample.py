"""A fictional case to try a letter template on, and the variables a template may use."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from jinja2 import TemplateNotFound, TemplateSyntaxError, meta, nodes
from jinja2.environment import Environment

from crm.letters.context import (
    CaseView,
    ConstituentView,
    LetterContext,
    OfficeView,
    ThirdPartyView,
    constituent_recipient,
    third_party_recipient,
)
from crm.letters.templates import CONSTITUENT, LetterInfo

SAMPLE_DAY = date(2026, 3, 2)


@dataclass(frozen=True)
class Variable:
    """One name a template can use, with the sample's value, for the template page."""

    name: str
    example: str


def sample_context(info: LetterInfo) -> LetterContext:
    """Every variable the letter's senders provide, filled with made-up values."""
    constituent = ConstituentView(
        name="Alex Sample",
        email="alex.sample@example.com",
        address_lines=("1 Sample Street", "Exampletown"),
        postcode="EX1 1AA",
    )
    third_party = None
    if info.audience != CONSTITUENT:
        third_party = ThirdPartyView(
            name="Department for Examples",
            kind="department",
            email="mp.enquiries@examples.gov.uk",
            address_lines=("1 Whitehall", "London", "SW1A 2AA"),
            reply_standard_days=20,
            reply_by="23 March 2026",
            first_written_on="2 February 2026",
            last_written_on="16 February 2026",
            letters_sent=2,
        )
    return LetterContext(
        case=CaseView(
            reference="MB-2026-000123",
            subject="Damp and mould in a council flat",
            opened_on="26 January 2026",
            tags=("Housing › Repairs",),
            referred_to=("Department for Examples",),
        ),
        constituent=constituent,
        office=OfficeView(
            representative="Jane Doe MP",
            name="Office of Jane Doe MP",
            email="casework@office.example.org.uk",
            address_lines=("1 Market Square", "Exampletown", "EX1 1NS"),
            phone="020 7946 0123",
            signature_lines=("Jane Doe MP", "Member of Parliament for Exampletown"),
        ),
        recipient=third_party_recipient(third_party)
        if third_party is not None
        else constituent_recipient(constituent),
        today=SAMPLE_DAY,
        third_party=third_party,
        note="A paragraph the caseworker adds when sending.",
    )


def variables(context: LetterContext) -> list[Variable]:
    """Each variable and attribute of the context, as `case.reference`, with its sample value."""
    found: list[Variable] = []
    for name, value in context.as_mapping().items():
        if not dataclasses.is_dataclass(value):
            found.append(Variable(name, str(value)))
            continue
        attributes = [f.name for f in dataclasses.fields(value)]
        attributes += [n for n, v in vars(type(value)).items() if isinstance(v, property)]
        found += [Variable(f"{name}.{a}", _shown(getattr(value, a))) for a in attributes]
    return found


def used_variables(env: Environment, source: str) -> set[str]:
    """The variables a template names (`case.reference`, `note`); empty if it does not parse."""
    try:
        tree = env.parse(source)
    except TemplateSyntaxError:  # reported beside the field when it is rendered
        return set()
    used = {
        f"{n.node.name}.{n.attr}"
        for n in tree.find_all(nodes.Getattr)
        if isinstance(n, nodes.Getattr) and isinstance(n.node, nodes.Name)
    }
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "store"}
    plain = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"} - assigned
    return used | {name for name in plain if not any(u.startswith(f"{name}.") for u in used)}


def sender_variables(env: Environment, files: Iterable[str], known: Iterable[str]) -> set[str]:
    """Names the letter's standard files use that no sample has (a status link, a date):
    the code that sends this letter gives them, so a new wording may use them too."""
    found: set[str] = set()
    seen: set[str] = set()
    todo = list(files)
    while todo:
        name = todo.pop()
        if name in seen or env.loader is None:
            continue
        seen.add(name)
        try:
            tree = env.parse(env.loader.get_source(env, name)[0])
        except (TemplateNotFound, TemplateSyntaxError):
            continue
        found |= meta.find_undeclared_variables(tree)
        todo += [t for t in meta.find_referenced_templates(tree) if t]
    return found - set(known) - set(env.globals)


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return " / ".join(str(v) for v in value)
    return str(value)
