"""Campaigns at ingest: a letter joins a campaign instead of opening a case, and the first
few letters, which came before the campaign was recognised, are folded in with it.

The pipeline calls `consider` for each new constituent letter, before threading, in the
message's own transaction: everything here is undone with the message if a later step fails.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm import cases
from crm.campaigns import detect
from crm.campaigns.models import ACTIVE, Campaign, CampaignMember, CampaignSignature
from crm.campaigns.normalise import name_words
from crm.campaigns.personal import Personal, derive_template, personal_part, template_sentences
from crm.models import Case, Constituent, Message, TimelineEntry
from crm.outgoing.models import OutboxLetter
from crm.settings import Settings
from crm.tags.rulebook import rule_set
from tagging.axes import HIGH, IMMEDIATE, SAFEGUARDING, Axis
from tagging.features import MessageFeatures
from tagging.postcodes import within

BANDED_PER_CAMPAIGN = 20  # enough copies to find the campaign by; more only slow the lookup
REFRESH_AT = frozenset({10, 30, 100})  # member counts at which the template is worked out again
TEMPLATE_SAMPLE = 100
_PREFIX_RE = re.compile(r"^\s*(?:(?:re|fwd?|aw|sv)\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class Letter:
    """What the reader of a message tells us about a new constituent letter."""

    message_key: str
    constituent_id: int
    subject: str
    text: str
    sender_name: str
    written_at: datetime


@dataclass(frozen=True)
class Joined:
    """The campaign a letter joined, and why it still gets a case of its own if it does."""

    campaign_id: int
    kept_as_case: bool
    reason: str


def consider(session: Session, settings: Settings, letter: Letter) -> Joined | None:
    """Join the letter to a campaign when enough other senders wrote the same; else remember it."""
    person = session.get(Constituent, letter.constituent_id)
    drop = name_words(letter.sender_name, person.name if person else "")
    fp = detect.fingerprint(letter.text, drop)
    if fp is None:
        return None
    matches = detect.similar(session, fp, settings.campaign_threshold)
    campaign = _campaign_among(session, matches)
    if campaign is None:
        senders = {m.constituent_id for m in matches} | {letter.constituent_id}
        if len(senders) < settings.campaign_min_senders:
            detect.store(
                session,
                fp,
                message_key=letter.message_key,
                constituent_id=letter.constituent_id,
                written_at=letter.written_at,
                campaign_id=None,
                banded=True,
            )
            return None
        campaign = _recognise(session, letter, matches)
    banded = campaign.banded < BANDED_PER_CAMPAIGN
    signature_id = detect.store(
        session,
        fp,
        message_key=letter.message_key,
        constituent_id=letter.constituent_id,
        written_at=letter.written_at,
        campaign_id=campaign.id,
        banded=banded,
    )
    campaign.banded += int(banded)
    fold_in(session, settings, campaign, [m for m in matches if m.campaign_id is None])
    member = _add_member(
        session,
        settings,
        campaign,
        signature_id=signature_id,
        constituent_id=letter.constituent_id,
        text=letter.text,
        drop=drop,
        written_at=letter.written_at,
        folded_in=False,
    )
    return Joined(campaign.id, member.kept_as_case, _describe(campaign, member))


def fold_in(
    session: Session, settings: Settings, campaign: Campaign, matches: Sequence[detect.Match]
) -> int:
    """Earlier copies join too; the cases they opened are closed into the campaign, kept."""
    if not matches:
        return 0
    messages = _messages_by_key(session, [m.message_key for m in matches])
    session.execute(
        update(CampaignSignature)
        .where(CampaignSignature.id.in_([m.signature_id for m in matches]))
        .values(campaign_id=campaign.id)
    )
    campaign.banded += len(matches)  # they were stored with their bands
    for match in matches:
        message = messages.get(match.message_key)
        if message is None:  # its message was never recorded (should not happen): skip it
            continue
        member = _add_member(
            session,
            settings,
            campaign,
            signature_id=match.signature_id,
            constituent_id=match.constituent_id,
            text=message.body_text,
            drop=name_words(message.from_name),
            written_at=message.sent_at or message.received_at,
            folded_in=True,
        )
        _settle_case(session, campaign, member, message)
    return len(matches)


def campaign_of_case(session: Session, case_id: int) -> Campaign | None:
    """The campaign a case's letter belongs to (a kept or folded-in case), if any."""
    campaign_id = session.scalar(
        select(CampaignMember.campaign_id)
        .join(CampaignSignature, CampaignSignature.id == CampaignMember.signature_id)
        .join(Message, Message.dedupe_key == CampaignSignature.message_key)
        .where(Message.case_id == case_id)
        .limit(1)
    )
    return session.get(Campaign, campaign_id) if campaign_id is not None else None


def _campaign_among(session: Session, matches: Sequence[detect.Match]) -> Campaign | None:
    """The campaign most of the similar letters already belong to."""
    votes = Counter(m.campaign_id for m in matches if m.campaign_id is not None)
    if not votes:
        return None
    return session.get(Campaign, votes.most_common(1)[0][0])


def _recognise(session: Session, letter: Letter, matches: Sequence[detect.Match]) -> Campaign:
    """A new campaign, its template worked out from this letter and the copies before it."""
    messages = _messages_by_key(session, [m.message_key for m in matches[:TEMPLATE_SAMPLE]])
    texts = [letter.text, *(m.body_text for m in messages.values())]
    subjects = [letter.subject, *(m.subject for m in messages.values())]
    template = derive_template(texts)
    campaign = Campaign(
        name=_campaign_name(subjects),
        template_text=template,
        template_from=len(texts),
        status=ACTIVE,
        members=0,
        banded=0,
    )
    session.add(campaign)
    session.flush()
    return campaign


def _add_member(
    session: Session,
    settings: Settings,
    campaign: Campaign,
    *,
    signature_id: int,
    constituent_id: int,
    text: str,
    drop: set[str],
    written_at: datetime,
    folded_in: bool,
) -> CampaignMember:
    campaign.members += 1
    if campaign.members in REFRESH_AT:
        refresh_template(session, campaign, extra_text=text)
    personal = personal_part(text, template_sentences(campaign.template_text), drop)
    reason = why_kept(session, settings, personal)
    member = CampaignMember(
        campaign_id=campaign.id,
        signature_id=signature_id,
        constituent_id=constituent_id,
        personal_text=personal.text,
        personal_words=personal.words,
        is_constituent=_in_constituency(session.get(Constituent, constituent_id), settings),
        kept_as_case=bool(reason),
        kept_reason=reason,
        folded_in=folded_in,
        written_at=written_at,
    )
    session.add(member)
    return member


def why_kept(session: Session, settings: Settings, personal: Personal) -> str:
    """Why a letter's own words make it casework: a long story, or words the rules flag."""
    if not personal.text:
        return ""
    if personal.words >= settings.campaign_personal_words:
        return f"a personal part of {personal.words} words"
    features = MessageFeatures(text=personal.text, kind="constituent")
    for match in rule_set(session, settings).matches(features):
        axis, value = match.rule.axis, match.rule.value.casefold()
        if (axis is Axis.URGENCY and value in (IMMEDIATE, HIGH)) or (
            axis is Axis.SENSITIVITY and value == SAFEGUARDING
        ):
            return f"its own words are {axis.value} {value}: {match.reason}"[:1000]
    return ""


def refresh_template(session: Session, campaign: Campaign, *, extra_text: str = "") -> None:
    """Work the template out again from more copies; members' own parts follow it."""
    rows = session.execute(
        select(CampaignMember, Message.body_text, Message.from_name)
        .join(CampaignSignature, CampaignSignature.id == CampaignMember.signature_id)
        .join(Message, Message.dedupe_key == CampaignSignature.message_key)
        .where(CampaignMember.campaign_id == campaign.id)
        .order_by(CampaignMember.id.desc())
        .limit(TEMPLATE_SAMPLE)
    ).all()
    texts = [text for _member, text, _name in rows] + ([extra_text] if extra_text else [])
    template = derive_template(texts)
    if not template:
        return
    campaign.template_text, campaign.template_from = template, len(texts)
    sentences = template_sentences(template)
    for member, text, from_name in rows:
        personal = personal_part(text, sentences, name_words(from_name))
        member.personal_text, member.personal_words = personal.text, personal.words


def _settle_case(
    session: Session, campaign: Campaign, member: CampaignMember, message: Message
) -> None:
    """Close the case a folded-in letter opened, unless it is casework or more has happened."""
    case = session.get(Case, message.case_id) if message.case_id is not None else None
    if case is None:
        return
    about = f"campaign {campaign.id} ({campaign.name})"
    if member.kept_as_case:
        _note(session, case, f"Part of {about}; kept as its own case: {member.kept_reason}")
    elif case.status == cases.OPEN and _only_this_letter(session, case, message):
        cases.set_status(
            session, case, cases.CLOSED, f"closed into {about}: the same letter as other senders"
        )
    else:
        _note(session, case, f"The letter of {message.subject!r} is part of {about}")


def _only_this_letter(session: Session, case: Case, message: Message) -> bool:
    """Nothing on the case but this letter and our automatic acknowledgement of it."""
    others = session.execute(
        select(Message.message_id, Message.direction).where(
            Message.case_id == case.id, Message.id != message.id
        )
    ).all()
    if not others:
        return True
    automatic = set(
        session.scalars(
            select(OutboxLetter.message_id).where(
                OutboxLetter.case_id == case.id, OutboxLetter.auto_submitted != ""
            )
        )
    )
    return all(direction == "out" and mid in automatic for mid, direction in others)


def _note(session: Session, case: Case, summary: str) -> None:
    session.add(
        TimelineEntry(
            case_id=case.id, kind="campaign", occurred_at=case.last_activity_at, summary=summary
        )
    )


def _messages_by_key(session: Session, keys: Sequence[str]) -> dict[str, Message]:
    if not keys:
        return {}
    found = session.scalars(select(Message).where(Message.dedupe_key.in_(list(keys))))
    return {message.dedupe_key: message for message in found}


def _campaign_name(subjects: Sequence[str]) -> str:
    """The subject most copies carry, without Re:/Fwd:."""
    cleaned = [" ".join(_PREFIX_RE.sub("", s).split()) for s in subjects]
    named = [s for s in cleaned if s] or ["(no subject)"]
    return Counter(named).most_common(1)[0][0][:200]


def _in_constituency(person: Constituent | None, settings: Settings) -> bool | None:
    """True or False when both the postcode and the office's list are known; else None."""
    if person is None or not person.postcode or not settings.constituency_postcodes:
        return None
    return within(person.postcode, frozenset(settings.constituency_postcodes)) is not None


def _describe(campaign: Campaign, member: CampaignMember) -> str:
    if member.kept_as_case:
        return f"campaign {campaign.id}: kept as its own case ({member.kept_reason})"
    return f"campaign {campaign.id}: joined, no case of its own"
