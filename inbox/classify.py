"""Classification rules: each says whether a message is outgoing, a bounce, an auto-reply..."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from typing import Protocol

from inbox.forwarded import original_sender
from inbox.message import Address, Classification, Kind, ParsedMessage
from inbox.parse import EMAIL_PACKAGE_ERRORS, parse_message_ids

# The first kind with a matching rule wins.
# Constituent mail is the default; a rule claims it first only for a forward by the office.
PRECEDENCE = (Kind.CONSTITUENT, Kind.OUTGOING, Kind.BOUNCE, Kind.AUTO_REPLY, Kind.THIRD_PARTY)

_MAILER_DAEMONS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
# Senders of non-delivery notices besides the RFC 5321 names: other MTAs' daemons, gateways'
# "Mail Delivery System" display names, and the null sender ("Mail Delivery System <>").
_DAEMON_LOCAL_RE = re.compile(
    r"mailer-?daemon|mail-?daemon|^mdaemon$|postmaster|mail[._-]?delivery", re.IGNORECASE
)
_DAEMON_NAME_RE = re.compile(
    r"mail delivery (?:system|subsystem|service)|mailer[- ]?daemon|postmaster"
    r"|mail (?:system|administrator)|system administrator",
    re.IGNORECASE,
)
# What a non-delivery notice says in its subject or its first lines, in the wording of the
# MTAs that do not send RFC 3464 reports (qmail, old Exchange, Yahoo, GroupWise, ...).
_NON_DELIVERY_RE = re.compile(
    r"undeliver|\bnot (?:yet )?(?:been |be )?delivered|non-?delivery"
    r"|(?:could not|couldn't|unable to|wasn't able to|was not able to|cannot) (?:be )?deliver"
    r"|delivery (?:status|fail|report|problem|notification|warning|error|has failed)"
    r"|returned mail|mail (?:delivery )?(?:failed|failure|error|warning)|failed mail"
    r"|failure notice|(?:message|mail) delayed|\bdelayed \d+ (?:hours|days)"
    r"|user unknown|unknown user|no such (?:user|mailbox|recipient)",
    re.IGNORECASE,
)
NON_DELIVERY_TEXT_LIMIT = 2000  # the notice says what happened first; quoted mail follows
# Evidence only a mail server writes: an SMTP reply or enhanced status code, a rejected box.
_SMTP_EVIDENCE_RE = re.compile(
    r"\b[45]\d\d[ -]#?[45]\.\d{1,3}\.\d{1,3}\b|\b[45]\.[0-7]\.\d{1,3}\b"
    r"|user unknown|unknown user|no such (?:user|mailbox|recipient)"
    r"|mailbox (?:unavailable|is full|full|not found)|recipient address rejected"
    r"|host unknown|permanent (?:fatal )?error"
    r"|non-delivery report|could not be delivered to the following",
    re.IGNORECASE,
)
# Anchored at the start, so a constituent forwarding a bounce ("Fwd: Undeliverable: ...")
# is still a constituent.
_BOUNCE_SUBJECT_RE = re.compile(
    r"^(?:undelivered mail returned to sender|undeliverable ?:"
    r"|delivery status notification \((?:failure|delay)\)|mail delivery failed"
    r"|delivery has failed to these recipients|returned mail ?:|failure notice$)",
    re.IGNORECASE,
)
_DSN_TEXT_RE = re.compile(
    r"^(?:final-recipient|original-recipient|action\s*:\s*failed|status\s*:\s*5\.\d)",
    re.IGNORECASE | re.MULTILINE,
)
# Subjects that auto-responders put first, in English, Welsh and the languages we see most.
_OUT_OF_OFFICE_PHRASES = (
    r"out of (?:the )?office(?: auto[- ]?reply)?",
    r"automatic reply",
    r"auto[- ]?reply",
    r"auto[- ]?response",
    r"automatic response",
    r"autoresponder",
    r"on leave",
    r"away from (?:the )?office",
    r"abwesenheitsnotiz",
    r"automatische antwort",
    r"r[ée]ponse automatique",
    r"absence du bureau",
    r"respuesta autom[áa]tica",
    r"fuera de la oficina",
    r"risposta automatica",
    r"automatisch antwoord",
    r"resposta autom[áa]tica",
    r"autosvar",
    r"fr[åa]nvaro",
    r"automaattinen vastaus",
    r"odpowied[źz] automatyczna",
    r"ateb awtomatig",
    r"allan o['’]r swyddfa",
)
# The phrase must end the subject or be followed by ":", "-", "(" or "]" so that
# "Out of office hours noise" from a constituent is not taken for an auto-reply.
# Subject patterns run on collapsed whitespace (single spaces), so none can backtrack far.
_OUT_OF_OFFICE_RE = re.compile(
    r"^\[? ?(?:" + "|".join(_OUT_OF_OFFICE_PHRASES) + r") ?(?:\]|:|-|–|\(|$)",
    re.IGNORECASE,
)
_SUPPRESS_TOKENS = frozenset({"oof", "all"})
# Addresses no person reads: web forms' senders, no-reply and auto-acknowledgement boxes.
NO_REPLY = re.compile(
    r"no-?reply|do-?not-?reply|webforms?|forms?@|website@|auto-?(?:reply|ack)", re.IGNORECASE
)
_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})


@dataclass(frozen=True)
class ClassifyContext:
    """What the rules need to know besides the message: where it was found and who we are."""

    folder_is_sent: bool
    office_addresses: frozenset[str]
    third_party_domains: tuple[str, ...]
    staff_addresses: frozenset[str] = frozenset()  # staff and members who forward mail to us
    # The third-party directory (address or domain -> organisation), read once per batch.
    directory_addresses: dict[str, str] = field(default_factory=dict)
    directory_domains: dict[str, str] = field(default_factory=dict)

    def is_ours(self, email: str) -> bool:
        """An address of the office itself or of one of its people."""
        email = email.lower()
        return email in self.office_addresses or email in self.staff_addresses


class Rule(Protocol):
    """A named check that returns a reason a caseworker can read when it matches."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def kind(self) -> Kind: ...

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None: ...


def _subject(msg: ParsedMessage) -> str:
    """The subject with whitespace collapsed, which the subject patterns rely on."""
    return " ".join(msg.subject.split())


def _sender_email(msg: ParsedMessage) -> str:
    """The sender's address, lower-cased, or "" when there is none."""
    return msg.sender.email.lower() if msg.sender else ""


def _first_token(value: str) -> str:
    """A header's main value without parameters or comments, lower-cased."""
    return re.split(r"[;(\s]", value.strip(), maxsplit=1)[0].lower()


def domain_matches(domain: str, suffixes: tuple[str, ...]) -> str | None:
    """The suffix a domain falls under ("nhs.net" for "trust.nhs.net"), or None."""
    domain = domain.lower().rstrip(".")
    for suffix in suffixes:
        suffix = suffix.lower().strip(".")
        if suffix and (domain == suffix or domain.endswith("." + suffix)):
            return suffix
    return None


# -- forwarded by the office ----------------------------------------------------------


class OfficeForward:
    name = "office-forward"
    description = (
        "Someone in the office forwarded a constituent's mail to the office only: the case is "
        "the original sender's."
    )
    kind = Kind.CONSTITUENT

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None:
        writer = forwarded_writer(msg, ctx)
        if writer is None:
            return None
        return f"forwarded by {_sender_email(msg)}: written by {writer.email}"


def forwarded_writer(msg: ParsedMessage, ctx: ClassifyContext) -> Address | None:
    """The original sender of mail one of ours forwarded to the office and no one else."""
    sender = _sender_email(msg)
    if ctx.folder_is_sent or not sender or not ctx.is_ours(sender):
        return None
    if not all(ctx.is_ours(a.email) for a in [*msg.to, *msg.cc]):
        return None  # a forward to a council with a copy to us is a referral, not new casework
    writer = original_sender(msg.text, skip=ctx.is_ours)
    if writer is None:
        return None
    domain = writer.email.rpartition("@")[2]
    return None if domain_matches(domain, ctx.third_party_domains) else writer


# -- outgoing -------------------------------------------------------------------


class OfficeSender:
    name = "office-sender"
    description = "The From address is one of the office's own addresses or one of its staff."
    kind = Kind.OUTGOING

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None:
        sender = _sender_email(msg)
        if sender in ctx.office_addresses:
            return f"sender {sender} is an office address"
        return f"sender {sender} is a member of staff" if sender in ctx.staff_addresses else None


class SentFolder:
    name = "sent-folder"
    description = "The message was found in a Sent folder, so the office sent it."
    kind = Kind.OUTGOING

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None:
        return "found in the Sent folder" if ctx.folder_is_sent else None


# -- bounces ----------------------------------------------------------------------


class DeliveryStatusReport:
    name = "delivery-status-report"
    description = "A multipart/report of report-type delivery-status (RFC 3464)."
    kind = Kind.BOUNCE

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None:
        if msg.content_type != "multipart/report":
            return None
        if _report_type(msg.header("content-type")) != "delivery-status":
            return None
        if delivered_only(msg):
            return None  # a receipt that the mail arrived: see DeliveryOrReadReceipt
        return "multipart/report with report-type=delivery-status (RFC 3464)"


_DELIVERED_ACTIONS = frozenset({"delivered", "relayed", "expanded"})
_ACTION_RE = re.compile(rb"^action[ \t]*:[ \t]*([a-z-]+)", re.IGNORECASE | re.MULTILINE)


def delivered_only(msg: ParsedMessage) -> bool:
    """A delivery report whose every recipient line says delivered, relayed or expanded."""
    actions = {
        action.decode("ascii").lower()
        for part in msg.attachments
        if part.content_type == "message/delivery-status"
        for action in _ACTION_RE.findall(part.payload)
    }
    return bool(actions) and actions <= _DELIVERED_ACTIONS


def is_report(msg: ParsedMessage) -> bool:
    """A machine's report on another message (RFC 6522): its original can be named."""
    return msg.content_type == "multipart/report"


def _report_type(content_type: str) -> str:
    """The report-type parameter of a Content-Type value, lower-cased."""
    holder = Message()
    holder["Content-Type"] = content_type
    value = holder.get_param("report-type")
    return value.lower() if isinstance(value, str) else ""


class MailerDaemon:
    name = "mailer-daemon"
    description = "Sent by MAILER-DAEMON or postmaster and carrying delivery-status details."
    kind = Kind.BOUNCE

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None:
        local = _sender_email(msg).partition("@")[0]
        if local not in _MAILER_DAEMONS or not _has_delivery_status(msg):
            return None
        if delivered_only(msg):
            return None
        return f"sender {local.upper()} with delivery-status details"


def _has_delivery_status(msg: ParsedMessage) -> bool:
    """A delivery-status part, a report, or RFC 3464 fields quoted in the text."""
    if msg.content_type == "multipart/report":
        return _report_type(msg.header("content-type")) == "delivery-status"
    if any(a.content_type == "message/delivery-status" for a in msg.attachments):
        return True
    return _DSN_TEXT_RE.search(msg.text) is not None


class NonDeliveryNotice:
    name = "non-delivery-notice"
    description = (
        "A mail server's plain-text notice that mail was not delivered: from a daemon, a "
        "postmaster or the null sender and saying so, or under a non-delivery subject with an "
        "SMTP error in its text."
    )
    kind = Kind.BOUNCE

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None:
        if delivered_only(msg) or any(rule.check(msg, ctx) for rule in _REPORT_RULES):
            return None  # a report or a daemon's status fields: those rules give the reason
        subject = _subject(msg)
        head = msg.text[:NON_DELIVERY_TEXT_LIMIT]
        daemon = _daemon_sender(msg)
        if daemon:
            found = _NON_DELIVERY_RE.search(subject) or _NON_DELIVERY_RE.search(head)
            return f'{daemon} says "{found.group()}"' if found else None
        if _REPLY_PREFIX_RE.match(subject):
            return None  # a constituent forwarding or answering a bounce writes their own mail
        found = _NON_DELIVERY_RE.search(subject)
        evidence = _SMTP_EVIDENCE_RE.search(head) if found else None
        if found is None or evidence is None:
            return None
        return f'non-delivery subject "{found.group()}" with "{evidence.group()}" in the text'


_REPLY_PREFIX_RE = re.compile(r"^\W*(?:re|fw|fwd|aw|wg|tr|sv|vs)\s*(?:\[\d+\])?\s*:", re.IGNORECASE)


def _daemon_sender(msg: ParsedMessage) -> str | None:
    """How the sender shows it is a mail server (a daemon's name, the null sender), or None."""
    if msg.header("return-path").strip() == "<>":
        return "the null sender (Return-Path: <>)"
    if msg.sender is None or not msg.sender.email:
        # A name without an address is no evidence ("From: Residents Association"), unless it
        # is a daemon's or the From is the null sender itself.
        written = " ".join(msg.header("from").split())
        if written == "<>" or _DAEMON_NAME_RE.search(written):
            return f'sender "{written}"'
        return None
    local = msg.sender.email.rpartition("@")[0]
    if _DAEMON_LOCAL_RE.search(local):
        return f"sender {msg.sender.email}"
    if _DAEMON_NAME_RE.search(msg.sender.name) or _DAEMON_NAME_RE.search(local):
        return f'sender "{msg.sender.name or msg.sender.email}"'
    return None


class BounceSubject:
    name = "bounce-subject"
    description = "A subject that mail servers give to non-delivery reports."
    kind = Kind.BOUNCE

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None:
        found = _BOUNCE_SUBJECT_RE.match(_subject(msg))
        return f'bounce subject "{found.group().strip()}"' if found else None


# -- auto-replies ---------------------------------------------------------------------


class DeliveryOrReadReceipt:
    name = "delivery-or-read-receipt"
    description = (
        "A report that mail arrived (delivery-status saying delivered) or was read "
        "(disposition-notification, RFC 8098): a machine's receipt, not an answer."
    )
    kind = Kind.AUTO_REPLY

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None:
        if msg.content_type != "multipart/report":
            return None
        report_type = _report_type(msg.header("content-type"))
        if report_type == "disposition-notification" or any(
            part.content_type == "message/disposition-notification" for part in msg.attachments
        ):
            return "read receipt (multipart/report, disposition-notification)"
        if report_type == "delivery-status" and delivered_only(msg):
            return "delivery report saying the mail was delivered"
        return None


class AutoSubmitted:
    name = "auto-submitted"
    description = "RFC 3834 Auto-Submitted header with a value other than 'no'."
    kind = Kind.AUTO_REPLY

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None:
        value = _first_token(msg.header("auto-submitted"))
        return f"header Auto-Submitted: {value} (RFC 3834)" if value not in ("", "no") else None


@dataclass(frozen=True)
class PresentHeader:
    """An auto-responder's own marker header; any value but 'no' counts."""

    header: str
    name: str
    description: str
    kind: Kind = Kind.AUTO_REPLY

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None:
        if self.header.lower() not in msg.headers:
            return None
        value = _first_token(msg.header(self.header))
        return (
            None if value in ("no", "false", "0") else f"header {self.header}: {value or '(set)'}"
        )


class PrecedenceAutoReply:
    name = "precedence-auto-reply"
    description = "Precedence: auto_reply, set by some vacation responders."
    kind = Kind.AUTO_REPLY

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None:
        value = _first_token(msg.header("precedence"))
        return "header Precedence: auto_reply" if value == "auto_reply" else None


class SuppressWithAutoSubject:
    name = "auto-response-suppress"
    description = "Exchange's X-Auto-Response-Suppress (OOF or All) on a mail with an auto subject."
    kind = Kind.AUTO_REPLY

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None:
        value = msg.header("x-auto-response-suppress")
        tokens = {token.strip().lower() for token in value.split(",")}
        if not tokens & _SUPPRESS_TOKENS or not _OUT_OF_OFFICE_RE.match(_subject(msg)):
            return None
        return f"header X-Auto-Response-Suppress: {value.strip()} with an automatic subject"


class OutOfOfficeSubject:
    name = "out-of-office-subject"
    description = "A subject such as 'Out of Office:' or 'Automatic reply:', in several languages."
    kind = Kind.AUTO_REPLY

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None:
        found = _OUT_OF_OFFICE_RE.match(_subject(msg))
        if not found:
            return None
        return f'out-of-office subject "{found.group().strip(" []:-–(")}"'


# A body must be short and say it was sent automatically; real answers can be long and
# still end "please do not reply to this email".
_ACK_SUBJECT_RE = re.compile(
    r"^(?:(?:re|fw|fwd) ?: ?)*(?:thank you for (?:your (?:e-?mail|enquiry|message|correspondence)"
    r"|contacting)|we have received your|(?:automatic |automated )?acknowledge?ment(?: of|:| -|$)"
    r"|receipt of your (?:e-?mail|enquiry|correspondence)"
    r"|your (?:e-?mail|enquiry) has been received)",
    re.IGNORECASE,
)
_AUTOMATED_BODY_RE = re.compile(
    r"\b(?:this is an|this (?:e-?mail|message|response) is an|an) automat(?:ed|ic)"
    r" (?:response|reply|acknowledge?ment|message|e-?mail|notification)",
    re.IGNORECASE,
)
ACK_BODY_LIMIT = 1500


class ThirdPartyAcknowledgement:
    name = "third-party-acknowledgement"
    description = (
        "A government body's or no-reply address's receipt ('Thank you for contacting us', "
        "'This is an automated response'): it does not answer anything."
    )
    kind = Kind.AUTO_REPLY

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None:
        sender = _sender_email(msg)
        domain = sender.rpartition("@")[2]
        if not (NO_REPLY.search(sender) or domain_matches(domain, ctx.third_party_domains)):
            return None  # a constituent thanking us is casework, whatever the subject says
        subject = _ACK_SUBJECT_RE.match(_subject(msg))
        if subject:
            return f'acknowledgement subject "{subject.group().strip()}" from {sender}'
        if len(msg.text) <= ACK_BODY_LIMIT and (found := _AUTOMATED_BODY_RE.search(msg.text)):
            return f'short message saying "{found.group()}" from {sender}'
        return None


# -- third parties -------------------------------------------------------------------


class DirectoryMember:
    name = "directory-member"
    description = (
        "The sender's address or domain is in the office's third-party directory (a housing "
        "association or utility the office writes to, not only government)."
    )
    kind = Kind.THIRD_PARTY

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None:
        sender = _sender_email(msg)
        if not sender:
            return None
        if sender in ctx.directory_addresses:
            return f"sender {sender} is {ctx.directory_addresses[sender]}'s, in the directory"
        labels = sender.rpartition("@")[2].split(".")
        for start in range(len(labels) - 1):  # the closest domain first
            domain = ".".join(labels[start:])
            if domain in ctx.directory_domains:
                name = ctx.directory_domains[domain]
                return f"sender domain {domain} is {name}'s, in the directory"
        return None


class ThirdPartyDomain:
    name = "third-party-domain"
    description = "The sender's domain belongs to a government body, council, NHS or police."
    kind = Kind.THIRD_PARTY

    def check(self, msg: ParsedMessage, ctx: ClassifyContext) -> str | None:
        domain = _sender_email(msg).rpartition("@")[2]
        suffix = domain_matches(domain, ctx.third_party_domains) if domain else None
        return f"sender domain {domain} is under {suffix}" if suffix else None


# The rules that read a machine's report fields; they speak first for what they recognise.
_REPORT_RULES: tuple[Rule, ...] = (DeliveryStatusReport(), MailerDaemon(), DeliveryOrReadReceipt())
RULES: tuple[Rule, ...] = (
    OfficeForward(),
    OfficeSender(),
    SentFolder(),
    DeliveryStatusReport(),
    MailerDaemon(),
    NonDeliveryNotice(),
    BounceSubject(),
    AutoSubmitted(),
    DeliveryOrReadReceipt(),
    PresentHeader("X-Autoreply", "x-autoreply", "X-Autoreply header set by a responder."),
    PresentHeader("X-Autorespond", "x-autorespond", "X-Autorespond header set by a responder."),
    PrecedenceAutoReply(),
    SuppressWithAutoSubject(),
    OutOfOfficeSubject(),
    ThirdPartyAcknowledgement(),
    DirectoryMember(),
    ThirdPartyDomain(),
)

DEFAULT_REASON = "no other rule matched: mail from a constituent"


def classify(
    msg: ParsedMessage, ctx: ClassifyContext, rules: tuple[Rule, ...] = RULES
) -> Classification:
    """The first kind in PRECEDENCE with a matching rule, with every reason given for it."""
    for kind in PRECEDENCE:
        reasons = tuple(
            reason
            for rule in rules
            if rule.kind is kind and (reason := rule.check(msg, ctx)) is not None
        )
        if reasons:
            writer = forwarded_writer(msg, ctx) if kind is Kind.CONSTITUENT else None
            return Classification(kind, reasons, writer)
    return Classification(Kind.CONSTITUENT, (DEFAULT_REASON,))


def is_bulk(msg: ParsedMessage) -> str | None:
    """Why a message looks like list or bulk mail (no acknowledgement), or None."""
    reasons = []
    if "list-id" in msg.headers:
        reasons.append(f"header List-Id: {msg.header('list-id').strip()}")
    precedence = _first_token(msg.header("precedence"))
    if precedence in _BULK_PRECEDENCE:
        reasons.append(f"header Precedence: {precedence}")
    return "; ".join(reasons) or None


# -- the original of a bounce ----------------------------------------------------------


def bounced_message_ids(raw: bytes) -> list[str]:
    """Message-IDs of the message a bounce reports on, most certain first."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        found = [*_ids_in_parts(msg)]
        for header in ("in-reply-to", "references"):
            found.extend(parse_message_ids(" ".join(str(v) for v in msg.get_all(header, []))))
        found = found or _ids_in_text(msg)
    except (RecursionError, *EMAIL_PACKAGE_ERRORS):  # unreadable: no original can be named
        return []
    own = set(parse_message_ids(str(msg.get("message-id", ""))))
    return [i for i in dict.fromkeys(found) if i not in own]


def _ids_in_parts(msg: Message) -> Iterator[str]:
    """Message-IDs from the returned original or its headers, however the MTA typed them."""
    for part in msg.walk():
        if part is msg:
            continue
        ctype = part.get_content_type()
        if ctype in _RETURNED_MESSAGE_TYPES and part.is_multipart():
            inner = part.get_payload(0)
            if isinstance(inner, Message):
                yield from parse_message_ids(str(inner.get("message-id", "")))
        elif ctype == "text/rfc822-headers":
            yield from parse_message_ids(_message_id_in_headers(part))
        elif ctype == "message/disposition-notification":
            yield from parse_message_ids(_original_message_id(part))


def _original_message_id(part: Message) -> str:
    """The Original-Message-ID field of a read receipt's notification part (RFC 8098)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):  # parsed as a message of fields: its first block
        inner = part.get_payload(0) if part.is_multipart() else None
        return str(inner.get("original-message-id", "")) if isinstance(inner, Message) else ""
    text = payload.decode("ascii", "replace")
    return str(HeaderParser().parsestr(text).get("original-message-id", ""))


def _message_id_in_headers(part: Message) -> str:
    """The Message-ID field of a text/rfc822-headers part."""
    payload = part.get_payload(decode=True)
    text = payload.decode("ascii", "replace") if isinstance(payload, bytes) else ""
    return str(HeaderParser().parsestr(text).get("message-id", ""))


# message/rfc822-headers is not standard (RFC 6522 says text/rfc822-headers) but is seen.
_RETURNED_MESSAGE_TYPES = frozenset({"message/rfc822", "message/rfc822-headers", "message/global"})
_QUOTED_ID_RE = re.compile(r"^[ \t]*Message-ID:[ \t]*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)


def _ids_in_text(msg: Message) -> list[str]:
    """Last resort for plain-text bounces that quote the original headers in the body."""
    found: list[str] = []
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                text = payload.decode("ascii", "replace")
                found.extend(i.strip("<>") for i in _QUOTED_ID_RE.findall(text))
    return found
