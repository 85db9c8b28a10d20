"""Classification rules: each rule for and against, precedence, and readable reasons."""

from __future__ import annotations

from dataclasses import replace

import pytest

from crm.settings import DEFAULT_THIRD_PARTY_DOMAINS
from inbox.classify import (
    RULES,
    ClassifyContext,
    bounced_message_ids,
    classify,
    domain_matches,
    is_bulk,
)
from inbox.message import Address, Attachment, Kind, ParsedMessage
from inbox.parse import parse

OFFICE = "casework@office.example.org.uk"
CTX = ClassifyContext(
    folder_is_sent=False,
    office_addresses=frozenset({OFFICE}),
    third_party_domains=DEFAULT_THIRD_PARTY_DOMAINS,
)


def message(
    sender: str = "mary.jones@example.com",
    subject: str = "Damp and mould in my flat",
    headers: dict[str, str] | None = None,
    text: str = "My flat has black mould.\n",
    content_type: str = "text/plain",
    attachments: list[Attachment] | None = None,
) -> ParsedMessage:
    """A parsed message with just the fields the rules read."""
    all_headers = {"content-type": [content_type]}
    all_headers.update({k.lower(): [v] for k, v in (headers or {}).items()})
    return ParsedMessage(
        message_id="m1@example.com",
        in_reply_to=[],
        references=[],
        subject=subject,
        sender=Address("", sender),
        to=[Address("", OFFICE)],
        cc=[],
        date=None,
        text=text,
        html=None,
        attachments=attachments or [],
        headers=all_headers,
        content_type=content_type.split(";")[0].strip().lower(),
    )


def test_plain_mail_is_constituent_with_a_reason() -> None:
    result = classify(message(), CTX)
    assert result.kind is Kind.CONSTITUENT
    assert result.reasons and "constituent" in result.reasons[0]


def test_every_rule_says_who_it_is() -> None:
    for rule in RULES:
        assert rule.name and rule.description and rule.kind in Kind


# Each case: a message, the kind it must get, and a word the reason must contain.
POSITIVE = [
    pytest.param(message(sender=OFFICE), Kind.OUTGOING, "office address", id="office sender"),
    pytest.param(
        message(sender="CaseWork@Office.Example.org.uk"),
        Kind.OUTGOING,
        "office address",
        id="office sender in capitals",
    ),
    pytest.param(
        message(
            sender="mailer-daemon@mx.example.net",
            subject="Returned mail",
            content_type='multipart/report; report-type="delivery-status"; boundary=x',
        ),
        Kind.BOUNCE,
        "RFC 3464",
        id="delivery-status report",
    ),
    pytest.param(
        message(
            sender="MAILER-DAEMON@mx.example.net",
            subject="failure",
            text="Final-Recipient: rfc822; nobody@example.net\nAction: failed\n",
        ),
        Kind.BOUNCE,
        "MAILER-DAEMON",
        id="mailer-daemon with delivery-status fields",
    ),
    pytest.param(
        message(
            sender="postmaster@example.net",
            subject="note",
            attachments=[Attachment("a.bin", "message/delivery-status", b"Action: failed")],
        ),
        Kind.BOUNCE,
        "POSTMASTER",
        id="postmaster with a delivery-status part",
    ),
    pytest.param(
        message(sender="x@example.net", subject="Undelivered Mail Returned to Sender"),
        Kind.BOUNCE,
        "bounce subject",
        id="postfix bounce subject",
    ),
    pytest.param(
        message(subject="Delivery Status Notification (Failure)"),
        Kind.BOUNCE,
        "Delivery Status Notification (Failure)",
        id="gmail bounce subject",
    ),
    pytest.param(
        message(subject="Mail delivery failed: returning message to sender"),
        Kind.BOUNCE,
        "Mail delivery failed",
        id="exim bounce subject",
    ),
    pytest.param(
        message(subject="Undeliverable: Housing repair"),
        Kind.BOUNCE,
        "Undeliverable",
        id="exchange bounce subject",
    ),
    pytest.param(
        message(subject="Re: Housing", headers={"Auto-Submitted": "auto-replied"}),
        Kind.AUTO_REPLY,
        "Auto-Submitted: auto-replied (RFC 3834)",
        id="auto-submitted",
    ),
    pytest.param(
        message(headers={"Auto-Submitted": "auto-generated; owner-email=x@example.com"}),
        Kind.AUTO_REPLY,
        "auto-generated",
        id="auto-submitted with parameters",
    ),
    pytest.param(
        message(headers={"X-Autoreply": "yes"}), Kind.AUTO_REPLY, "X-Autoreply", id="x-autoreply"
    ),
    pytest.param(
        message(headers={"X-Autorespond": "Re: Housing"}),
        Kind.AUTO_REPLY,
        "X-Autorespond",
        id="x-autorespond",
    ),
    pytest.param(
        message(headers={"Precedence": "auto_reply"}),
        Kind.AUTO_REPLY,
        "Precedence: auto_reply",
        id="precedence auto_reply",
    ),
    pytest.param(
        message(subject="Out of Office: Damp", headers={"X-Auto-Response-Suppress": "All"}),
        Kind.AUTO_REPLY,
        "X-Auto-Response-Suppress: All",
        id="exchange suppress header with an auto subject",
    ),
    pytest.param(
        message(subject="Automatic reply: Damp and mould"),
        Kind.AUTO_REPLY,
        'out-of-office subject "Automatic reply"',
        id="outlook automatic reply",
    ),
    pytest.param(
        message(subject="Out of Office AutoReply: Damp"),
        Kind.AUTO_REPLY,
        "Out of Office AutoReply",
        id="old exchange subject",
    ),
    pytest.param(message(subject="[Auto-Reply] Damp"), Kind.AUTO_REPLY, "Auto-Reply", id="tag"),
    pytest.param(message(subject="Autoreply"), Kind.AUTO_REPLY, "Autoreply", id="autoreply"),
    pytest.param(
        message(subject="On leave until 3 March"),
        Kind.CONSTITUENT,
        "constituent",
        id="on leave in a sentence is not enough",
    ),
    pytest.param(message(subject="On leave"), Kind.AUTO_REPLY, "On leave", id="on leave"),
    pytest.param(
        message(subject="Abwesenheitsnotiz: Antrag"),
        Kind.AUTO_REPLY,
        "Abwesenheitsnotiz",
        id="german",
    ),
    pytest.param(
        message(subject="Réponse automatique : Dossier"),
        Kind.AUTO_REPLY,
        "Réponse automatique",
        id="french",
    ),
    pytest.param(
        message(subject="Ateb awtomatig: Tai"), Kind.AUTO_REPLY, "Ateb awtomatig", id="welsh"
    ),
    pytest.param(
        message(sender="housing@exeter.gov.uk"),
        Kind.THIRD_PARTY,
        "exeter.gov.uk is under gov.uk",
        id="council",
    ),
    pytest.param(
        message(sender="pals@rde.nhs.uk"), Kind.THIRD_PARTY, "under nhs.uk", id="nhs trust"
    ),
    pytest.param(
        message(sender="someone@nhs.net"), Kind.THIRD_PARTY, "under nhs.net", id="nhs.net itself"
    ),
    pytest.param(
        message(sender="ceo@transport.gov.scot"),
        Kind.THIRD_PARTY,
        "under gov.scot",
        id="a devolved government by default",
    ),
    pytest.param(
        message(content_type='multipart/report; report-type="disposition-notification"'),
        Kind.AUTO_REPLY,
        "read receipt",
        id="a read receipt is a machine's receipt, not a bounce or casework",
    ),
    pytest.param(
        message(sender="enquiries@exeter.gov.uk", subject="Thank you for contacting Exeter"),
        Kind.AUTO_REPLY,
        'acknowledgement subject "Thank you for contacting"',
        id="council receipt by subject",
    ),
    pytest.param(
        message(sender="noreply@crm.example.com", subject="RE: We have received your enquiry"),
        Kind.AUTO_REPLY,
        "We have received your",
        id="no-reply receipt",
    ),
    pytest.param(
        message(
            sender="mp.enquiries@dwp.gov.uk",
            subject="RE: Universal Credit [MB-2026-000001]",
            text="This is an automated response. Your email is logged as 1234.\n",
        ),
        Kind.AUTO_REPLY,
        'saying "This is an automated response"',
        id="short automated body",
    ),
    pytest.param(
        message(
            sender="mp.enquiries@dwp.gov.uk",
            subject="RE: Universal Credit [MB-2026-000001]",
            text="Dear Ms Doe,\n"
            + "We have reviewed the claim and restored it. " * 40
            + "\nThis is an automated message: please do not reply.\n",
        ),
        Kind.THIRD_PARTY,
        "dwp.gov.uk is under gov.uk",
        id="a long real answer that ends with the automated footer",
    ),
]


@pytest.mark.parametrize(("msg", "kind", "reason_part"), POSITIVE)
def test_rules_match_with_readable_reasons(
    msg: ParsedMessage, kind: Kind, reason_part: str
) -> None:
    result = classify(msg, CTX)
    assert result.kind is kind
    assert any(reason_part in reason for reason in result.reasons), result.reasons


NEGATIVE = [
    pytest.param(message(sender="casework@office.example.org.uk.evil.com"), id="office lookalike"),
    pytest.param(message(sender="mailer-daemon@example.net"), id="mailer-daemon without report"),
    pytest.param(
        message(subject="Fwd: Undelivered Mail Returned to Sender"), id="forwarded bounce"
    ),
    pytest.param(message(headers={"Auto-Submitted": "no"}), id="auto-submitted no"),
    pytest.param(
        message(headers={"Auto-Submitted": "No (manual)"}), id="auto-submitted no comment"
    ),
    pytest.param(message(headers={"Precedence": "bulk"}), id="bulk is not an auto-reply"),
    pytest.param(message(headers={"X-Auto-Response-Suppress": "OOF"}), id="suppress alone"),
    pytest.param(message(subject="Out of office hours noise from the pub"), id="noise complaint"),
    pytest.param(message(subject="Re: Automatic reply needed?"), id="subject mentions it later"),
    pytest.param(message(sender="someone@notgov.uk"), id="domain that only ends alike"),
    pytest.param(message(sender="someone@gov.uk.example.com"), id="domain that only starts alike"),
    pytest.param(
        message(subject="Thank you for your email"), id="a constituent's thanks is casework"
    ),
    pytest.param(
        message(text="I got an automated response from the council and nothing since.\n"),
        id="a constituent quoting an automated response",
    ),
]


@pytest.mark.parametrize("msg", NEGATIVE)
def test_rules_do_not_match(msg: ParsedMessage) -> None:
    assert classify(msg, CTX).kind is Kind.CONSTITUENT


def test_sent_folder_is_outgoing_whoever_sent_it() -> None:
    result = classify(message(), replace(CTX, folder_is_sent=True))
    assert result.kind is Kind.OUTGOING
    assert result.reasons == ("found in the Sent folder",)


def test_office_sender_in_sent_folder_gives_both_reasons() -> None:
    result = classify(message(sender=OFFICE), replace(CTX, folder_is_sent=True))
    assert result.kind is Kind.OUTGOING
    assert len(result.reasons) == 2


def test_auto_reply_from_gov_uk_is_an_auto_reply_not_a_third_party() -> None:
    msg = message(
        sender="housing@exeter.gov.uk",
        subject="Automatic reply: Damp",
        headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    )
    result = classify(msg, CTX)
    assert result.kind is Kind.AUTO_REPLY
    # Then every auto-reply reason is given, and none from the losing third-party rule
    assert len(result.reasons) == 3
    assert not any("gov.uk" in reason for reason in result.reasons)


def test_bounce_beats_auto_reply_and_outgoing_beats_both() -> None:
    bounce = message(subject="Undeliverable: x", headers={"Auto-Submitted": "auto-replied"})
    assert classify(bounce, CTX).kind is Kind.BOUNCE
    assert classify(replace(bounce, sender=Address("", OFFICE)), CTX).kind is Kind.OUTGOING


def test_message_without_sender_is_constituent() -> None:
    assert classify(replace(message(), sender=None), CTX).kind is Kind.CONSTITUENT


@pytest.mark.parametrize(
    ("suffixes", "domain", "expected"),
    [
        (("gov.uk",), "exeter.gov.uk", "gov.uk"),
        (("gov.uk",), "GOV.UK", "gov.uk"),
        ((".gov.uk",), "dwp.gov.uk", "gov.uk"),
        (("gov.uk",), "notgov.uk", None),
        ((), "exeter.gov.uk", None),
    ],
)
def test_domain_matches(suffixes: tuple[str, ...], domain: str, expected: str | None) -> None:
    assert domain_matches(domain, suffixes) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"List-Id": "Residents <residents.lists.example.org>"}, "List-Id"),
        ({"Precedence": "bulk"}, "Precedence: bulk"),
        ({"Precedence": "list"}, "Precedence: list"),
        ({"Precedence": "junk"}, "Precedence: junk"),
        ({"Precedence": "auto_reply"}, None),
        ({}, None),
    ],
)
def test_is_bulk(headers: dict[str, str], expected: str | None) -> None:
    reason = is_bulk(message(headers=headers))
    assert (reason is None) if expected is None else (reason is not None and expected in reason)


def test_bulk_mail_is_still_constituent() -> None:
    assert classify(message(headers={"List-Id": "x <x.example.org>"}), CTX).kind is Kind.CONSTITUENT


# -- bounces through the real parser -------------------------------------------------------

DSN = b"""From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: casework@office.example.org.uk
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; nobody@example.net
Action: failed
Status: 5.1.1

--B
Content-Type: message/rfc822

From: casework@office.example.org.uk
To: nobody@example.net
Subject: Your case [MB-2026-000123]
Message-ID: <original-1@office.example.org.uk>

Dear Sir,
--B--
"""

HEADERS_ONLY_DSN = DSN.replace(
    b"Content-Type: message/rfc822", b"Content-Type: text/rfc822-headers"
)
NONSTANDARD_DSN = DSN.replace(
    b"Content-Type: message/rfc822", b"Content-Type: message/rfc822-headers"
)

PLAIN_TEXT_BOUNCE = b"""From: MAILER-DAEMON@old.example.net
To: casework@office.example.org.uk
Subject: failure notice
Message-ID: <bounce-2@old.example.net>

Hi. This is the qmail-send program. I'm afraid I wasn't able to deliver your message.

--- Below this line is a copy of the message.

From: casework@office.example.org.uk
Message-ID: <original-2@office.example.org.uk>
Subject: Your case
"""


def test_parsed_delivery_status_report_is_a_bounce() -> None:
    result = classify(parse(DSN), CTX)
    assert result.kind is Kind.BOUNCE
    assert len(result.reasons) == 3  # report, MAILER-DAEMON, subject


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(DSN, ["original-1@office.example.org.uk"], id="message/rfc822"),
        pytest.param(HEADERS_ONLY_DSN, ["original-1@office.example.org.uk"], id="rfc822-headers"),
        pytest.param(
            NONSTANDARD_DSN, ["original-1@office.example.org.uk"], id="message/rfc822-headers"
        ),
        pytest.param(PLAIN_TEXT_BOUNCE, ["original-2@office.example.org.uk"], id="quoted text"),
        pytest.param(
            b"From: postmaster@x.example\nSubject: Undeliverable: hi\n"
            b"Message-ID: <b3@x.example>\nIn-Reply-To: <original-3@office.example.org.uk>\n"
            b"References: <earlier@office.example.org.uk> <original-3@office.example.org.uk>\n\n"
            b"Could not deliver.\n",
            ["original-3@office.example.org.uk", "earlier@office.example.org.uk"],
            id="threading headers",
        ),
        pytest.param(b"", [], id="empty"),
        pytest.param(b"From: a@b.example\n\nno ids here\n", [], id="nothing to find"),
    ],
)
def test_bounced_message_ids(raw: bytes, expected: list[str]) -> None:
    assert bounced_message_ids(raw) == expected
