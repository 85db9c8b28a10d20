"""Contact details from signatures: the layouts constituents use, and what must not be guessed."""

from __future__ import annotations

import pytest

from inbox.signature import POSTCODE_RE, ContactDetails, extract_contact, normalise_postcode

POSTCODE_PAIRS = [
    ("EX1 2AB", "EX1 2AB"),
    ("ex12ab", "EX1 2AB"),
    (" sw1a  1aa ", "SW1A 1AA"),
    ("M1 1AE", "M1 1AE"),
    ("B33 8TH", "B33 8TH"),
    ("CR2 6XH", "CR2 6XH"),
    ("DN55 1PT", "DN55 1PT"),
    ("W1A 0AX", "W1A 0AX"),
    ("EC1A 1BB", "EC1A 1BB"),
    ("gir 0aa", "GIR 0AA"),
    ("EX1 2CB", None),  # C never appears in the inward code
    ("QX1 2AB", None),  # Q never starts a postcode
    ("EX1", None),
    ("12345", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), POSTCODE_PAIRS)
def test_normalise_postcode(text: str, expected: str | None) -> None:
    assert normalise_postcode(text) == expected


def test_postcode_re_finds_postcodes_in_running_text() -> None:
    found = [m.group() for m in POSTCODE_RE.finditer("from EX4 3SR to sw1a1aa today")]
    assert found == ["EX4 3SR", "sw1a1aa"]


SIGNATURES = [
    pytest.param(
        "Dear Jane,\n\nThe damp is getting worse.\n\nKind regards,\nMary Jones\n"
        "12 High Street\nExeter\nEX1 2AB\n07700 900123\n",
        ContactDetails("Mary Jones", ("12 High Street", "Exeter"), "EX1 2AB", "07700 900123"),
        id="sign-off, name, address, postcode on its own line, mobile",
    ),
    pytest.param(
        "Please help.\n\nMary Jones\n12 High Street, Exeter, ex1 2ab\nTel: 01392 123456\n",
        ContactDetails("Mary Jones", ("12 High Street", "Exeter"), "EX1 2AB", "01392 123456"),
        id="no sign-off, comma-separated address with the postcode on the same line",
    ),
    pytest.param(
        "Thanks\nJane\n\nJane Smith\nFlat 2, 5 Queen Street\nExeter EX4 3SR\n"
        "Mobile: +44 7700 900456\n",
        ContactDetails(
            "Jane Smith", ("Flat 2, 5 Queen Street", "Exeter"), "EX4 3SR", "+44 7700 900456"
        ),
        id="short sign-off name, fuller name above the address",
    ),
    pytest.param(
        "Yours sincerely\n\nMr Peter O'Brien-Smith\nRose Cottage\nLong Lane\nLittle Snoring\n"
        "Norfolk\nNR21 0AB\n",
        ContactDetails(
            "Mr Peter O'Brien-Smith",
            ("Rose Cottage", "Long Lane", "Little Snoring", "Norfolk"),
            "NR21 0AB",
            None,
        ),
        id="four address lines under a titled name after a blank line",
    ),
    pytest.param(
        "Many thanks, Ahmed\n\n14 Station Road\nLeeds LS1 4DY\n+44 (0)113 496 0000\n",
        ContactDetails("Ahmed", ("14 Station Road", "Leeds"), "LS1 4DY", "+44 (0)113 496 0000"),
        id="name on the sign-off line",
    ),
    pytest.param(
        "Thanks\n\n-- \nR. Baptiste | 9 The Crescent | Exampleford | EX9 1ZZ | 020 7946 0321\n",
        ContactDetails(
            "R. Baptiste", ("9 The Crescent", "Exampleford"), "EX9 1ZZ", "020 7946 0321"
        ),
        id="one line separated by pipes",
    ),
    pytest.param(
        "Good morning,\n\nPlease help.\n\nŁukasz Wójcik\nKind regards, Łukasz\n"
        "18 Station Approach, Exampletown EX2 6SA\nTel. 07700 900612\n",
        ContactDetails(
            "Łukasz Wójcik", ("18 Station Approach", "Exampletown"), "EX2 6SA", "07700 900612"
        ),
        id="full name above a first-name sign-off",
    ),
    pytest.param(
        "A new message was submitted.\n\nName:      Harold Finch\nEmail:     h@example.org\n"
        "Phone:     01632 960 842\nAddress:   6 Church View, Exampleton\nPostcode:  EX6 9AA\n"
        "Topic:     Health\n\nMessage:\nI have waited 68 weeks for a knee operation.\n",
        ContactDetails("Harold Finch", ("6 Church View, Exampleton",), "EX6 9AA", "01632 960 842"),
        id="web form fields",
    ),
    pytest.param(
        "Best wishes,\nSam\n",
        ContactDetails("Sam", (), None, None),
        id="name only",
    ),
    pytest.param(
        "I have lived at 4 Elm Road for years and the council will not listen.\n",
        ContactDetails(None, (), None, None),
        id="no signature at all",
    ),
]


@pytest.mark.parametrize(("body", "expected"), SIGNATURES)
def test_extract_contact(body: str, expected: ContactDetails) -> None:
    assert extract_contact(body) == expected


def test_sentences_above_the_address_are_not_address_lines() -> None:
    body = "Dear Sir,\nThanks for your help with this.\n12 High Street\nExeter\nEX1 2AB\n"
    assert extract_contact(body).address_lines == ("12 High Street", "Exeter")


def test_trailing_device_line_does_not_hide_the_signature() -> None:
    body = "Help please.\n\nRegards\nMary Jones\n4 Elm Road\nLeeds LS6 1AA\n\nSent from my iPhone\n"
    assert extract_contact(body) == ContactDetails(
        "Mary Jones", ("4 Elm Road", "Leeds"), "LS6 1AA", None
    )


def test_signature_after_a_dash_dash_line() -> None:
    body = (
        "Please call me.\n\n-- \n"
        "Dr Aisha Khan\n27 Castle Street\nCardiff\nCF10 1BS\n029 2087 0000\n"
    )
    assert extract_contact(body) == ContactDetails(
        "Dr Aisha Khan", ("27 Castle Street", "Cardiff"), "CF10 1BS", "029 2087 0000"
    )


def test_quoted_reply_is_ignored() -> None:
    # Given a short reply above a quoted message that carries someone else's signature
    body = (
        "Thank you, that is helpful.\n\nRegards,\nMary Jones\n\n"
        "On Mon, 2 Nov 2026 at 09:30, Casework Office <casework@office.example.org.uk>\n"
        "wrote:\n> Dear Mary,\n> Kind regards,\n> Jane Caseworker\n> 1 Parliament Street\n"
        "> London\n> SW1A 0AA\n"
    )
    # Then only the sender's own lines count
    assert extract_contact(body) == ContactDetails("Mary Jones", (), None, None)


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "From: Housing Team <housing@council.gov.uk>\nSent: 02 November 2026 09:30",
        "________________________________\nFrom: Housing Team\nSent: Monday",
        "---------- Forwarded message ---------",
    ],
)
def test_reply_headers_end_the_senders_own_text(separator: str) -> None:
    body = (
        f"Please see below.\n\nKind regards\nMary Jones\n\n{separator}\n"
        "Kind regards\nHousing Officer\nCivic Centre\nExeter\nEX1 1JN\n01392 000000\n"
    )
    assert extract_contact(body) == ContactDetails("Mary Jones", (), None, None)


@pytest.mark.parametrize(
    "body",
    [
        "We moved in 2019 and the flat b12 3rd floor has mould everywhere, please help.\n",
        "My reference is AB12345 and my NI number is QQ 12 34 56 C.\n",
        "The bus route x1 2ab was cancelled last week again, which is a disgrace\n",
        "Thanks for your help with this\n",
        "Kind regards\nMary\n\nPS the fly-tipping is at the end of Mill Lane, EX2 8AA.\n",
        "Regards\nMary\n\nI live near ex2 8aa\n",
    ],
)
def test_no_postcode_guessed_from_running_text(body: str) -> None:
    assert extract_contact(body).postcode is None


def test_only_the_last_lines_are_read() -> None:
    # A postcode far up the letter is about the problem, not the sender's address
    body = "The fly-tipping is at the end of Mill Lane, EX2 8AA.\n" + "More detail.\n" * 30
    assert extract_contact(body).postcode is None


@pytest.mark.parametrize(
    ("line", "phone"),
    [
        ("Tel: 01392 123456", "01392 123456"),
        ("07700900123", "07700900123"),
        ("Call 020 7946 0000 any time", "020 7946 0000"),
        ("(01392) 123456", "(01392) 123456"),
        ("Ref 0123", None),
        ("Date 01/02/2026", None),
        ("07700 9001", None),  # too short for a mobile
        ("Case MB-2026-000123", None),
    ],
)
def test_phone_numbers(line: str, phone: str | None) -> None:
    assert extract_contact(f"Hello\n\n{line}\n").phone == phone
