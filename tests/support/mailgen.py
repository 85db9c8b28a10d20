"""Deterministic generator of realistic constituent email, for benchmarks and load tests.

``generate_messages(n, seed)`` yields ``n`` raw RFC 5322 messages (``bytes``, CRLF line
endings), always the same for the same seed. The mix is roughly what an MP's shared inbox
receives:

* new enquiries on a pool of casework topics, from many different senders, with bodies of
  5-40 lines ending in a signature that carries a UK address, postcode and often a phone;
* ~20% follow-ups from the same constituent (``Re:`` subject, ``In-Reply-To`` and
  ``References`` pointing at earlier generated Message-IDs);
* ~5% out-of-office replies, each recognisable by one of the usual signals
  (``Auto-Submitted``, ``X-Autoreply``, ``Precedence: auto_reply``, or only the subject);
* ~10% with a ``multipart/alternative`` HTML part, ~3% with a small attachment (PDF/PNG);
* non-ASCII names and text (RFC 2047 headers; quoted-printable or 8-bit UTF-8 bodies).

Every Message-ID is unique within a run and across seeds. The generator streams: memory use
does not grow with ``n`` (it remembers only a bounded window of recent threads), and it is
fast enough to produce 20,000 messages in a few seconds.

Everything is fictional: constituents use example.com/.org/.net and mail.example.co.uk,
phone numbers come from Ofcom's drama ranges, and postcodes are well-formed but invented.
"""

from __future__ import annotations

import base64
import binascii
import html
import random
import struct
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

__all__ = ["OFFICE_ADDRESS", "generate_messages"]

OFFICE_ADDRESS = "casework@office.example.org.uk"
OFFICE_NAME = "Office of Jane Doe MP"

_CRLF = "\r\n"
_START = datetime(2026, 1, 5, 8, 0, 0, tzinfo=UTC)
_RECENT_THREADS = 2000  # how many threads a reply may pick from
_MAX_REFERENCES = 10  # References keeps the root and the most recent ids

# --------------------------------------------------------------------------------------
# Pools

_FIRST_NAMES = (
    "Margaret",
    "David",
    "Priya",
    "Brian",
    "Gareth",
    "Chloe",
    "Kyle",
    "Tendai",
    "Sophie",
    "Daniel",
    "Aisha",
    "Wayne",
    "Raymond",
    "Dennis",
    "Bernadette",
    "Lee",
    "Gillian",
    "Patricia",
    "Harold",
    "Nkechi",
    "Fatima",
    "Eileen",
    "Tom",
    "Anika",
    "Rhys",
    "Helen",
    "Joseph",
    "Mary",
    "Yusuf",
    "Ada",
    "Grace",
    "Mohammed",
    "Olivia",
    "Jack",
    "Amelia",
    "Connor",
    "Bethan",
    "Hamza",
    "Emily",
    "Ravi",
    "Shauna",
    "Callum",
    "Leah",
    "Imran",
    "Kerry-Ann",
    "Tomasz",
    "Agnieszka",
    "Kwame",
    "Precious",
    "Stuart",
    "Zoë",
    "Siobhán",
    "Łukasz",
    "Renée",
    "Aoife",
    "José",
    "Chloé",
    "Bożena",
    "Dáithí",
)
_SURNAMES = (
    "Okafor",
    "Thompson",
    "Raman",
    "Walsh",
    "Lewis",
    "Bennett",
    "Robertson",
    "Moyo",
    "Clarke",
    "Reid",
    "Rahman",
    "Hollis",
    "Fox",
    "Okoro",
    "Kowalski",
    "Carter",
    "Marsh",
    "Nolan",
    "Finch",
    "Achebe",
    "Begum",
    "Hargreaves",
    "Fletcher",
    "Sharma",
    "Baptiste",
    "Ward",
    "Adeyemi",
    "Quinn",
    "Hassan",
    "Nwosu",
    "Jones",
    "Williams",
    "Evans",
    "Davies",
    "Hughes",
    "Patel",
    "Khan",
    "Ali",
    "Smith",
    "Taylor",
    "Brown",
    "Wilson",
    "Murphy",
    "Mitchell",
    "Mensah",
    "Campbell",
    "Singh",
    "Hussain",
    "Ahmed",
    "Morris",
    "O'Connell",
    "Ní Bhriain",
    "Wójcik",
    "Müller",
    "Nuñez",
    "Ó Súilleabháin",
)
_TITLES = ("Mr", "Mrs", "Ms", "Miss", "Dr", "Mx", "")
_DOMAINS = (
    "example.com",
    "example.org",
    "example.net",
    "mail.example.co.uk",
    "example.co.uk",
)
_STREETS = (
    "Acacia Avenue",
    "Station Road",
    "Mill Lane",
    "High Street",
    "Church View",
    "Elm Grove",
    "Orchard Close",
    "Canal Street",
    "Victoria Road",
    "Foundry Lane",
    "Poplar Drive",
    "Cedar Walk",
    "Kingsway",
    "Rectory Lane",
    "Meadow Close",
    "Harbour Row",
    "Chapel Street",
    "Tannery Row",
    "Linden Road",
    "Brook Street",
    "The Crescent",
    "Park Terrace",
    "Wellington Road",
    "Quarry Cottages",
    "School Lane",
    "Beech Crescent",
    "Sycamore Court",
)
_TOWNS = (
    "Exampletown",
    "Exampleton",
    "Lower Exampleton",
    "Exampleford",
    "Exampleport",
    "Upper Exampleby",
    "Examplebridge",
)
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters allowed in a postcode's inward code
_OPENERS = (
    "Dear Jane Doe,",
    "Dear Ms Doe,",
    "Dear Jane,",
    "Dear Mrs Doe,",
    "Hello,",
    "Hi Jane,",
    "Dear Jane Doe MP,",
    "Good morning,",
    "To whom it may concern,",
    "Dear Sir/Madam,",
)
_CLOSERS = (
    "Kind regards,",
    "Yours sincerely,",
    "Many thanks,",
    "Best wishes",
    "Regards,",
    "Thank you,",
    "Yours faithfully,",
    "Thanks",
    "With thanks,",
)
_CLIENTS = (
    "X-Mailer: Example Mail for iPhone",
    "User-Agent: Example Webmail/4.2",
    "X-Mailer: Example Mail 16.0 (Windows)",
    "User-Agent: Example Mail for Android",
    "",
    "",
)
_ZONES = (
    (UTC, 70),
    (timezone(timedelta(hours=1)), 12),
    (timezone(timedelta(hours=-5)), 5),
    (timezone(timedelta(hours=5, minutes=30)), 4),
    (timezone(timedelta(hours=2)), 4),
    (timezone(timedelta(hours=-8)), 3),
    (timezone(timedelta(hours=13)), 2),
)


@dataclass(frozen=True)
class _Topic:
    issue: str
    subjects: tuple[str, ...]
    paragraphs: tuple[tuple[str, ...], ...]  # each paragraph: pre-wrapped lines
    followups: tuple[tuple[str, ...], ...]


_TOPICS: tuple[_Topic, ...] = (
    _Topic(
        "Housing > Repairs",
        (
            "Repairs not done",
            "Housing association repairs - {weeks} weeks waiting",
            "Broken boiler and no hot water",
            "Leaking roof still not fixed",
        ),
        (
            (
                "I rent from Examplehomes and reported a leak in the bathroom ceiling",
                "{weeks} weeks ago (ref {ref}). Nobody has come out and the ceiling is",
                "now bowing.",
            ),
            (
                "Our boiler has broken down four times this winter. Each time an",
                "engineer patches it up and it fails again within days.",
            ),
            (
                "I have rung the repairs line so many times that I have lost count.",
                "I am always told the job is 'with the contractor'.",
            ),
        ),
        (
            ("The contractor came but left without doing the job.",),
            ("Still nothing. The damp patch is spreading.",),
        ),
    ),
    _Topic(
        "Housing > Damp and mould",
        (
            "Damp and mould in my flat",
            "Black mould - children keep getting ill",
            "Mould in bedroom - urgent help please",
            "Damp flat, landlord ignoring me",
        ),
        (
            (
                "There is black mould on the bedroom walls and around the windows.",
                "I wipe it down every week and it comes straight back.",
            ),
            (
                "My youngest has been to the GP {count} times this winter with her",
                "chest. The GP says the damp is not helping.",
            ),
            (
                "The landlord says it is condensation and that we should open the",
                "windows, but it is freezing and we cannot afford the heating.",
            ),
        ),
        (
            ("A surveyor came and said works need 'approval'.",),
            ("The mould has spread to the children's clothes now.",),
        ),
    ),
    _Topic(
        "Benefits > Universal Credit",
        (
            "Universal Credit payment stopped",
            "Universal Credit deductions too high",
            "UC sanction - I was never told about the appointment",
            "Universal Credit – payment missing this month",
        ),
        (
            (
                "My Universal Credit was stopped on {date} with no warning. My journal",
                "just says 'payment suspended pending review'.",
            ),
            (
                "They have taken £{amount} this month for an advance I already paid",
                "back. After rent I have almost nothing left for food.",
            ),
            ("I have put notes in my journal {count} times and nobody answers.",),
        ),
        (
            ("They have now taken another deduction.",),
            ("I got a letter saying there is an overpayment too. Is that on top?",),
        ),
    ),
    _Topic(
        "Benefits > PIP",
        (
            "PIP assessment cancelled again",
            "PIP decision - I scored 0 points",
            "Help with a PIP appeal",
            "PIP review taking months",
        ),
        (
            (
                "My PIP assessment has been cancelled {count} times, each time on the",
                "day. The next appointment is months away.",
            ),
            (
                "The assessor wrote that I can walk 200 metres. I cannot walk to the",
                "end of my road without stopping.",
            ),
            (
                "I had to give up work because of my condition and we are living on",
                "my partner's wage.",
            ),
        ),
        (("The mandatory reconsideration came back unchanged.",),),
    ),
    _Topic(
        "Immigration > Visa delay",
        (
            "Spouse visa - {weeks} weeks and no decision",
            "Visa application delay",
            "Husband's visa still not decided",
            "EU Settlement Scheme status pending",
        ),
        (
            (
                "My {relative} applied for a spouse visa on {date} (GWF{gwf}). The",
                "standard service time is 12 weeks; it has now been {weeks} weeks.",
            ),
            (
                "We have only had automated replies from UKVI. We have been apart",
                "for nearly a year.",
            ),
            (
                "My employer is asking for proof of my right to work and I cannot",
                "give it to them.",
            ),
        ),
        (("Still no decision from UKVI.",),),
    ),
    _Topic(
        "Immigration > Passport delay",
        (
            "Passport renewal delay - travelling soon",
            "URGENT passport needed",
            "Passport application stuck",
        ),
        (
            (
                "I applied to renew my passport on {date} and the tracker still says",
                "'we're working on your application'.",
            ),
            (
                "I fly on {date2} for a family wedding and HM Passport Office cannot",
                "give me an appointment.",
            ),
        ),
        (("The passport still has not come. I fly in a few days.",),),
    ),
    _Topic(
        "Education > SEND",
        (
            "School place for my son (SEND)",
            "EHCP delay - {weeks} weeks",
            "No school transport for my daughter",
            "Secondary school place refused",
        ),
        (
            (
                "My son has autism and an EHCP. The plan was due {weeks} weeks ago and",
                "is still in draft.",
            ),
            (
                "He has been offered a school {count} miles away with no transport,",
                "even though the local school is named in his plan.",
            ),
            ("He is only managing two hours a day at school at the moment.",),
        ),
        (("The council still has not replied to me.",),),
    ),
    _Topic(
        "Council > Council tax",
        (
            "Council tax reduction refused",
            "Bailiffs letter over council tax",
            "Council tax bill wrong",
            "Council tax summons",
        ),
        (
            (
                "I lost my job and applied for council tax reduction. It was refused",
                "because they say I did not send bank statements, but I did.",
            ),
            (
                "I have a letter from enforcement agents for £{amount}. I was paying",
                "under an arrangement until my hours were cut.",
            ),
        ),
        (("Now I have a court summons as well.",),),
    ),
    _Topic(
        "Transport > Potholes",
        (
            "Pothole on {street}",
            "Potholes on {street} - someone will be hurt",
            "Road surface dangerous",
        ),
        (
            (
                "The pothole on {street} outside number {num} has burst {count} tyres",
                "on our road. I reported it in the autumn (ref HW-{ref}).",
            ),
            (
                "It is about a foot across and fills with water so you cannot see it.",
                "Someone on a bike is going to be badly hurt.",
            ),
        ),
        (("It has got bigger since I last wrote.",),),
    ),
    _Topic(
        "Crime > Anti-social behaviour",
        (
            "Anti-social behaviour from neighbours",
            "ASB on our estate",
            "Noise and intimidation every night",
        ),
        (
            (
                "For months a group has gathered in the stairwell every night,",
                "shouting, smoking and setting fire to the bins.",
            ),
            (
                "I have reported it to the police (ref EX/26/{ref}) and to the",
                "council's ASB team and kept a diary, but nothing changes.",
            ),
            ("I no longer feel safe in my own home.",),
        ),
        (("It happened again last night.",),),
    ),
    _Topic(
        "Health > NHS waiting list",
        (
            "Hip operation - waited {weeks} weeks",
            "NHS waiting list",
            "Still waiting for surgery",
            "Cancer referral delay",
        ),
        (
            (
                "I was put on the waiting list at Exampleshire General {weeks} weeks",
                "ago. I am in pain day and night.",
            ),
            ("When I ring the booking line they just say I am on the list.",),
            ("The letter said the maximum wait should be 18 weeks.",),
        ),
        (("The hospital has now cancelled my pre-op appointment.",),),
    ),
    _Topic(
        "Energy > Bills",
        (
            "Energy bill doubled",
            "Prepayment meter forced on me",
            "Energy supplier taking £{amount} a week",
            "Smart meter bills wrong",
        ),
        (
            (
                "Since the smart meter was fitted my bill has gone from £90 to £{amount}",
                "a month. The supplier says the readings are correct.",
            ),
            (
                "They moved me onto a prepayment meter without my agreement and take",
                "£15 every week for a debt I do not recognise.",
            ),
            ("I sit in the cold in the evenings to make the credit last.",),
        ),
        (("The supplier has not replied to my complaint.",),),
    ),
    _Topic(
        "Benefits > Child maintenance",
        (
            "Child maintenance not being paid",
            "CMS not enforcing payments",
            "Child Maintenance Service arrears",
        ),
        (
            (
                "My ex-partner has not paid child maintenance for {count} months. The",
                "Child Maintenance Service says it is with enforcement.",
            ),
            ("We are now owed more than £{amount}.",),
        ),
        (("Still nothing has been paid.",),),
    ),
    _Topic(
        "Tax > HMRC",
        ("HMRC tax code wrong", "Emergency tax code - overpaid £{amount}", "HMRC refund delay"),
        (
            (
                "Since I started a second job I have been on an emergency tax code",
                "and have overpaid about £{amount}.",
            ),
            ("I have waited on the phone to HMRC for an hour at a time and been", "cut off twice."),
        ),
        (("HMRC have sent yet another wrong code.",),),
    ),
)

_RELATIVES = ("wife", "husband", "partner", "fiancée", "mother", "son")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_TIMELINE_EVENTS = (
    "rang the helpline, waited 50 minutes, was cut off",
    "sent an email, no reply",
    "wrote a letter by recorded delivery",
    "was told someone would call back within 48 hours",
    "nobody called back",
    "visited the office in person and was told to use the website",
    "got an automated reply with a reference number",
    "was promised an appointment that never came",
    "my GP wrote a supporting letter",
    "made a formal complaint (stage 1)",
    "the complaint was not answered within the deadline",
    "Citizens Advice wrote on my behalf",
    "received a letter asking for documents I had already sent",
    "an officer said the case had been escalated",
)

_OOO_BODIES = (
    "I am out of the office until {date} with limited access to email.",
    "Thank you for your email. I am on annual leave and will reply on my return.",
    "I am away at the moment and will respond when I am back. For urgent matters please "
    "call 01632 960 000.",
)


# --------------------------------------------------------------------------------------
# Small helpers


def _encoded_word(text: str) -> str:
    """RFC 2047 B-encoding of ``text``, split into words of at most 75 characters."""
    words: list[str] = []
    chunk = ""
    for ch in text:
        if len((chunk + ch).encode("utf-8")) > 45:  # 45 bytes -> 60 base64 chars
            words.append(chunk)
            chunk = ""
        chunk += ch
    words.append(chunk)
    return "\r\n ".join(
        "=?UTF-8?B?" + base64.b64encode(w.encode("utf-8")).decode("ascii") + "?=" for w in words
    )


def _header_text(text: str) -> str:
    return text if text.isascii() else _encoded_word(text)


def _display_name(name: str) -> str:
    if not name.isascii():
        return _encoded_word(name)
    if any(c in name for c in ",.()<>@;:\"'"):
        return '"' + name.replace('"', "") + '"'
    return name


def _b64_lines(data: bytes) -> str:
    raw = base64.b64encode(data).decode("ascii")
    return _CRLF.join(raw[i : i + 76] for i in range(0, len(raw), 76))


def _tiny_pdf() -> bytes:
    stream = b"BT /F1 12 Tf 72 760 Td (Letter from Exampleshire Council) Tj ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1,
        xref,
    )
    return bytes(out)


def _tiny_png() -> bytes:
    width, height = 8, 8
    rows = b"".join(
        b"\x00" + b"".join(bytes((120 + x * 10, 130, 110 + y * 5)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


_ATTACHMENTS: tuple[tuple[str, str, str], ...] = (
    ("letter.pdf", "application/pdf", _b64_lines(_tiny_pdf())),
    ("photo.png", "image/png", _b64_lines(_tiny_png())),
    ("council letter scan.pdf", "application/pdf", _b64_lines(_tiny_pdf())),
)


@dataclass
class _Person:
    first: str
    name: str
    email: str
    street: str
    town: str
    postcode: str
    phone: str
    layout: int
    from_header: str = ""


@dataclass
class _Thread:
    person: _Person
    topic: _Topic
    subject: str
    ids: list[str] = field(default_factory=list)


class _Generator:
    """Holds the random state and the bounded window of recent threads."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = _START
        self.count = 0
        self.people: list[_Person] = []
        self.threads: deque[_Thread] = deque(maxlen=_RECENT_THREADS)
        self.zones = [z for z, _ in _ZONES]
        self.zone_weights = [w for _, w in _ZONES]

    # -- identities -----------------------------------------------------------------

    def postcode(self) -> str:
        rng = self.rng
        return (
            f"EX{rng.randint(1, 39)} {rng.randint(0, 9)}"
            f"{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"
        )

    def phone(self) -> str:
        rng = self.rng
        if rng.random() < 0.6:
            return rng.choice(("07700 900{:03d}", "07700 900 {:03d}", "+44 7700 900{:03d}")).format(
                rng.randrange(1000)
            )
        return rng.choice(("01632 960{:03d}", "01632 960 {:03d}", "020 7946 0{:03d}")).format(
            rng.randrange(1000)
        )

    def new_person(self) -> _Person:
        rng = self.rng
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_SURNAMES)
        local = "".join(
            c for c in f"{first}.{last}".lower() if c.isascii() and (c.isalnum() or c == ".")
        )
        local = local.strip(".") or "resident"
        email = f"{local}{len(self.people) if rng.random() < 0.7 else ''}@{rng.choice(_DOMAINS)}"
        title = rng.choice(_TITLES)
        name = f"{first} {last}"
        person = _Person(
            first=first,
            name=f"{title} {name}".strip() if rng.random() < 0.15 else name,
            email=email,
            street=f"{rng.choice(('', 'Flat 2, ', 'Flat 14, '))}{rng.randint(1, 120)} "
            f"{rng.choice(_STREETS)}",
            town=rng.choice(_TOWNS),
            postcode=self.postcode(),
            phone=self.phone(),
            layout=rng.randrange(5),
        )
        person.from_header = (
            email if rng.random() < 0.08 else f"{_display_name(person.name)} <{email}>"
        )
        if len(self.people) < 5000:
            self.people.append(person)
        else:
            self.people[rng.randrange(5000)] = person
        return person

    def pick_person(self) -> _Person:
        if self.people and self.rng.random() < 0.15:
            return self.rng.choice(self.people)
        return self.new_person()

    # -- text ----------------------------------------------------------------------

    def fill(self, text: str, person: _Person) -> str:
        if "{" not in text:
            return text
        rng = self.rng
        return text.format(
            weeks=rng.randint(6, 80),
            count=rng.randint(2, 9),
            amount=rng.choice(("212", "640", "1,146", "85.40", "1,960", "900", "185", "2,400")),
            ref=f"{rng.randint(100000, 999999)}",
            date=f"{rng.randint(1, 28)} {rng.choice(_MONTHS)}",
            date2=f"{rng.randint(1, 28)} {rng.choice(_MONTHS)}",
            relative=rng.choice(_RELATIVES),
            gwf=f"{rng.randint(10**8, 10**9 - 1):09d}",
            street=person.street.split(", ")[-1].split(" ", 1)[-1],
            num=rng.randint(1, 99),
        )

    def signature(self, person: _Person, closer: str) -> list[str]:
        p = person
        plain_name = p.name
        layout = p.layout
        if layout == 0:
            return [closer, "", plain_name, p.street, p.town, p.postcode, p.phone]
        if layout == 1:
            return [
                f"{closer.rstrip(',')}, {plain_name}",
                f"{p.street}, {p.town}, {p.postcode}",
                p.phone,
            ]
        if layout == 2:
            return [
                closer,
                p.first,
                "",
                plain_name,
                p.street,
                f"{p.town} {p.postcode}",
                f"Tel {p.phone}",
                "",
                "Sent from my phone",
            ]
        if layout == 3:
            return [
                closer,
                "",
                "-- ",
                f"{plain_name} | {p.street} | {p.town} | {p.postcode} | {p.phone}",
            ]
        return [closer, plain_name, f"{p.street}, {p.town} {p.postcode}"]

    def timeline(self) -> list[str]:
        """A dated list of what the constituent has already tried (makes longer bodies)."""
        rng = self.rng
        day = rng.randint(1, 20)
        month = rng.randrange(12)
        lines = ["What has happened so far:", ""]
        for _ in range(rng.randint(3, 14)):
            lines.append(f"- {day} {_MONTHS[month]}: {rng.choice(_TIMELINE_EVENTS)}")
            day += rng.randint(1, 9)
            if day > 28:
                day -= 28
                month = (month + 1) % 12
        return [*lines, ""]

    def body_lines(self, thread: _Thread, followup: bool) -> list[str]:
        rng = self.rng
        person, topic = thread.person, thread.topic
        lines = [rng.choice(_OPENERS), ""]
        if followup:
            lines += [self.fill(ln, person) for ln in rng.choice(topic.followups)]
            lines += ["", "Is there any news on my case?"]
        else:
            paras = list(topic.paragraphs)
            rng.shuffle(paras)
            for para in paras[: rng.randint(1, len(paras))]:
                lines += [self.fill(ln, person) for ln in para]
                lines.append("")
            if rng.random() < 0.3:
                lines += ["Please can you help? I don't know who else to ask.", ""]
            if rng.random() < 0.3:
                lines += self.timeline()
        lines += self.signature(person, rng.choice(_CLOSERS))
        if followup and thread.ids and rng.random() < 0.5:
            lines += [
                "",
                f"On an earlier date, {OFFICE_NAME} <{OFFICE_ADDRESS}> wrote:",
                "> Thank you for contacting Jane Doe MP.",
                "> We have written to the organisation concerned.",
            ]
        return lines[:40]

    # -- message assembly ----------------------------------------------------------

    def next_date(self) -> str:
        rng = self.rng
        self.now += timedelta(seconds=rng.randint(5, 900))
        zone = rng.choices(self.zones, self.zone_weights)[0]
        return format_datetime(self.now.astimezone(zone))

    def message_id(self, domain: str) -> str:
        self.count += 1
        return f"<mg{self.seed:x}.{self.count:x}.{self.rng.getrandbits(40):010x}@{domain}>"

    def text_part(self, text: str) -> tuple[list[str], str]:
        """Headers and encoded body (CRLF) of a text/plain part."""
        if text.isascii():
            return (
                ['Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: 7bit"],
                text.replace("\n", _CRLF),
            )
        if self.rng.random() < 0.3:
            return (
                ['Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: 8bit"],
                text.replace("\n", _CRLF),
            )
        encoded = binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii")
        return (
            [
                'Content-Type: text/plain; charset="utf-8"',
                "Content-Transfer-Encoding: quoted-printable",
            ],
            encoded.replace("\n", _CRLF),
        )

    def assemble(self, headers: list[str], lines: list[str]) -> bytes:
        rng = self.rng
        text = "\n".join(lines) + "\n"
        part_headers, part_body = self.text_part(text)
        want_html = rng.random() < 0.10
        want_attachment = rng.random() < 0.03
        tag = f"{self.seed:x}x{self.count:x}"
        if want_html:
            paras = "\n".join(
                f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>"
                for p in text.split("\n\n")
                if p.strip()
            )
            html_doc = f'<html><body><div dir="ltr">{paras}</div></body></html>\n'
            html_body = binascii.b2a_qp(html_doc.encode("utf-8"), istext=True).decode("ascii")
            alt = f"alt_{tag}"
            part_body = _CRLF.join(
                [
                    f"--{alt}",
                    *part_headers,
                    "",
                    part_body,
                    f"--{alt}",
                    'Content-Type: text/html; charset="utf-8"',
                    "Content-Transfer-Encoding: quoted-printable",
                    "",
                    html_body.replace("\n", _CRLF),
                    f"--{alt}--",
                    "",
                ]
            )
            part_headers = [f'Content-Type: multipart/alternative; boundary="{alt}"']
        if want_attachment:
            fname, ctype, data = rng.choice(_ATTACHMENTS)
            mix = f"mix_{tag}"
            part_body = _CRLF.join(
                [
                    f"--{mix}",
                    *part_headers,
                    "",
                    part_body,
                    f"--{mix}",
                    f'Content-Type: {ctype}; name="{fname}"',
                    f'Content-Disposition: attachment; filename="{fname}"',
                    "Content-Transfer-Encoding: base64",
                    "",
                    data,
                    f"--{mix}--",
                    "",
                ]
            )
            part_headers = [f'Content-Type: multipart/mixed; boundary="{mix}"']
        head = _CRLF.join([*headers, "MIME-Version: 1.0", *part_headers])
        body = part_body if part_body.endswith(_CRLF) else part_body + _CRLF
        return (head + _CRLF + _CRLF + body).encode("utf-8")

    def base_headers(
        self, from_header: str, subject: str, message_id: str, extra: list[str]
    ) -> list[str]:
        headers = [
            f"From: {from_header}",
            f"To: {OFFICE_NAME} <{OFFICE_ADDRESS}>"
            if self.rng.random() < 0.3
            else f"To: {OFFICE_ADDRESS}",
            f"Date: {self.next_date()}",
            f"Subject: {_header_text(subject)}",
            f"Message-ID: {message_id}",
        ]
        client = self.rng.choice(_CLIENTS)
        if client:
            headers.append(client)
        return headers + extra

    def new_enquiry(self) -> bytes:
        rng = self.rng
        person = self.pick_person()
        topic = rng.choice(_TOPICS)
        subject = self.fill(rng.choice(topic.subjects), person)
        thread = _Thread(person, topic, subject)
        mid = self.message_id(person.email.rsplit("@", 1)[1])
        thread.ids.append(mid)
        self.threads.append(thread)
        headers = self.base_headers(person.from_header, subject, mid, [])
        return self.assemble(headers, self.body_lines(thread, followup=False))

    def references(self, thread: _Thread) -> str:
        ids = thread.ids
        if len(ids) > _MAX_REFERENCES:
            ids = [ids[0], *ids[-(_MAX_REFERENCES - 1) :]]
        return "\r\n ".join(ids)

    def followup(self) -> bytes:
        rng = self.rng
        thread = self.threads[rng.randrange(len(self.threads))]
        person = thread.person
        mid = self.message_id(person.email.rsplit("@", 1)[1])
        extra = [f"In-Reply-To: {thread.ids[-1]}", f"References: {self.references(thread)}"]
        subject = rng.choice(("Re: ", "RE: ", "Re: ")) + thread.subject
        headers = self.base_headers(person.from_header, subject, mid, extra)
        raw = self.assemble(headers, self.body_lines(thread, followup=True))
        thread.ids.append(mid)
        return raw

    def out_of_office(self) -> bytes:
        """An autoresponder answering an (unseen) office reply on a recent thread."""
        rng = self.rng
        thread = self.threads[rng.randrange(len(self.threads))]
        person = thread.person
        office_id = f"<office.{self.seed:x}.{self.count:x}@office.example.org.uk>"
        mid = self.message_id(person.email.rsplit("@", 1)[1])
        signal = rng.randrange(4)
        subject = "Re: " + thread.subject
        extra = [f"In-Reply-To: {office_id}", f"References: {thread.ids[0]}\r\n {office_id}"]
        if signal == 0:
            extra.append("Auto-Submitted: auto-replied")
        elif signal == 1:
            extra.append("X-Autoreply: yes")
        elif signal == 2:
            extra += ["Precedence: auto_reply", "X-Auto-Response-Suppress: All"]
        else:
            subject = rng.choice(("Out of Office: ", "Automatic reply: ")) + thread.subject
        headers = self.base_headers(person.from_header, subject, mid, extra)
        lines = [
            "This is an automatic reply.",
            "",
            self.fill(rng.choice(_OOO_BODIES), person),
            "",
            person.name,
        ]
        return self.assemble(headers, lines)

    def next_message(self) -> bytes:
        r = self.rng.random()
        if self.threads:
            if r < 0.05:
                return self.out_of_office()
            if r < 0.25:
                return self.followup()
        return self.new_enquiry()


def generate_messages(n: int, seed: int = 0) -> Iterator[bytes]:
    """Yield ``n`` realistic raw constituent messages, deterministically for ``seed``.

    About 20% are follow-ups threaded by ``In-Reply-To``/``References`` to earlier messages
    of the same run, 5% are out-of-office replies, 10% carry an HTML alternative and 3% a
    small attachment. Message-IDs are unique. The iterator is lazy: messages are produced
    one at a time and memory stays bounded however large ``n`` is.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    gen = _Generator(seed)
    for _ in range(n):
        yield gen.next_message()
