"""Step: recognise the constituent a message is from (or, for outgoing mail, to)."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import getaddresses
from functools import partial

from crm import constituents
from crm.constituents import ContactHints
from crm.models import Constituent
from inbox.classify import NO_REPLY
from inbox.context import StepEnv
from inbox.forwarded import forwarded_text
from inbox.message import Address, Kind, MessageContext, ParsedMessage
from inbox.names import reading_order
from inbox.prefetch import KNOWN_PEOPLE
from inbox.signature import extract_contact


def match_constituent(ctx: MessageContext, env: StepEnv) -> None:
    assert ctx.parsed is not None and ctx.classification is not None
    kind = ctx.classification.kind
    writer = _writer(ctx, env)
    if kind is Kind.CONSTITUENT and writer is not None:
        forwarded = ctx.classification.writer is not None
        hints = partial(_hints, writer, ctx.parsed, forwarded)
        person = _find_or_create(ctx, env, writer.email, hints)
        ctx.constituent_id = env.memo.hold(person).id
        ctx.constituent_address = writer.email
    elif kind is Kind.OUTGOING:
        counterpart = _counterpart(ctx, env)
        if counterpart is not None:
            person = _find_or_create(
                ctx, env, counterpart.email, partial(ContactHints, name=counterpart.name)
            )
            ctx.constituent_id = env.memo.hold(person).id
    elif kind is Kind.AUTO_REPLY and ctx.parsed.sender is not None:
        known = _find(env, ctx.parsed.sender.email)
        ctx.constituent_id = known.id if known else None


def _find_or_create(
    ctx: MessageContext, env: StepEnv, email: str, hints: Callable[[], ContactHints]
) -> Constituent:
    """The batch's prefetch asked about the addresses it names: no lookup for those here.

    The hints are read from the message only when they can be used: reading a signature
    is wasted on someone whose record has no gap left, as most regular writers' soon has.
    """
    known: dict[str, Constituent | None] | None = env.memo.values.get(KNOWN_PEOPLE)
    email = email.lower()
    if known is None or email not in known:  # e.g. the writer of a forwarded letter
        return constituents.find_or_create(env.session, email, hints())
    person = known[email]
    if person is not None:
        return constituents.heard_from(person, hints()) if constituents.has_gaps(person) else person
    ctx.new_constituent = True
    known[email] = person = constituents.create(env.session, email, hints())
    return person


def _find(env: StepEnv, email: str) -> Constituent | None:
    """The person behind an address: from the prefetch when it asked about that address."""
    known: dict[str, Constituent | None] | None = env.memo.values.get(KNOWN_PEOPLE)
    email = email.lower()
    if known is None or email not in known:
        return constituents.find_by_email(env.session, email)
    return known[email]


def _writer(ctx: MessageContext, env: StepEnv) -> Address | None:
    """The person who wrote: Reply-To when a web form or no-reply address sent the mail."""
    assert ctx.parsed is not None and ctx.classification is not None
    if ctx.classification.writer is not None:  # a constituent's mail forwarded by the office
        return ctx.classification.writer
    sender = ctx.parsed.sender
    reply_to = [
        Address(name, email.lower())
        for name, email in getaddresses(ctx.parsed.headers.get("reply-to", []))
        if "@" in email
    ]
    if not reply_to or env.is_office(reply_to[0].email):
        return sender
    if sender is None or NO_REPLY.search(sender.email) or _same_domain_as_office(sender, env):
        return reply_to[0]
    return sender


def _same_domain_as_office(sender: Address, env: StepEnv) -> bool:
    domain = sender.email.rpartition("@")[2]
    return any(office.endswith("@" + domain) for office in env.settings.office_addresses)


def _hints(sender: Address, parsed: ParsedMessage, forwarded: bool) -> ContactHints:
    """Name from the From header (in reading order), else the signature; address and phone
    from the signature (of the constituent's own words, below the office's forward)."""
    contact = extract_contact(forwarded_text(parsed.text)) if forwarded else parsed.contact
    return ContactHints(
        name=reading_order(sender.name) or (contact.name or ""),
        address="\n".join(contact.address_lines),
        postcode=contact.postcode,
        phone=contact.phone,
    )


def _counterpart(ctx: MessageContext, env: StepEnv) -> Address | None:
    """The first recipient of outgoing mail who is neither the office nor a third party."""
    assert ctx.parsed is not None
    for address in [*ctx.parsed.to, *ctx.parsed.cc]:
        email = address.email
        if "@" in email and not env.is_office(email) and not env.is_third_party(email):
            return address
    return None
