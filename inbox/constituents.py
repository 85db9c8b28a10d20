"""Step: recognise the constituent a message is from (or, for outgoing mail, to)."""

from __future__ import annotations

from crm import constituents
from crm.constituents import ContactHints
from inbox.context import StepEnv
from inbox.message import Address, Kind, MessageContext
from inbox.signature import extract_contact


def match_constituent(ctx: MessageContext, env: StepEnv) -> None:
    assert ctx.parsed is not None and ctx.classification is not None
    kind = ctx.classification.kind
    if kind is Kind.CONSTITUENT and ctx.parsed.sender is not None:
        person = constituents.find_or_create(
            env.session, ctx.parsed.sender.email, _hints(ctx.parsed.sender, ctx.parsed.text)
        )
        ctx.constituent_id = person.id
    elif kind is Kind.OUTGOING:
        counterpart = _counterpart(ctx, env)
        if counterpart is not None:
            person = constituents.find_or_create(
                env.session, counterpart.email, ContactHints(name=counterpart.name)
            )
            ctx.constituent_id = person.id
    elif kind is Kind.AUTO_REPLY and ctx.parsed.sender is not None:
        known = constituents.find_by_email(env.session, ctx.parsed.sender.email)
        ctx.constituent_id = known.id if known else None


def _hints(sender: Address, body: str) -> ContactHints:
    """Name from the From header, else the signature; address and phone from the signature."""
    contact = extract_contact(body)
    return ContactHints(
        name=sender.name or (contact.name or ""),
        address="\n".join(contact.address_lines),
        postcode=contact.postcode,
        phone=contact.phone,
    )


def _counterpart(ctx: MessageContext, env: StepEnv) -> Address | None:
    """The first recipient of outgoing mail who is neither the office nor a third party."""
    assert ctx.parsed is not None
    for address in [*ctx.parsed.to, *ctx.parsed.cc]:
        if "@" in address.email and not env.is_office(address.email):
            if not env.is_third_party(address.email):
                return address
    return None
