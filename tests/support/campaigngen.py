"""Deterministic campaign mail: one template letter sent by hundreds of people, each copy
with its own greeting, sign-off, name, address, postcode, a sentence or two of their own,
sometimes reordered paragraphs or an HTML body — and the truth of which letter is which.

``campaign_letters(n, seed)`` makes one campaign's copies; ``mixed_mailbox`` interleaves two
campaigns with ordinary casework from ``tests.support.mailgen``. Everything is fictional.
"""

from __future__ import annotations

import html
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from tests.support.mailgen import OFFICE_ADDRESS, generate_messages

PROBLEM = (
    "My landlord is evicting us tomorrow and we have no food in the house, "
    "please can someone call me."
)

TEMPLATES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "libraries": (
        "Save our libraries",
        (
            "I am writing to ask you to oppose the plan to close eleven of the county's "
            "public libraries and to speak up for them in Parliament. Libraries are one of "
            "the few places left where anyone can go, stay warm, read, study and get help "
            "without having to spend any money at all.",
            "The proposal would leave whole towns without a library within walking distance. "
            "Children would lose their after-school homework clubs, older people would lose "
            "the reading groups and the help with online forms that they depend on, and "
            "jobseekers would lose free access to computers and printers.",
            "The savings are small compared with the harm. The council's own consultation "
            "showed that most residents are against the closures and would rather see shorter "
            "opening hours or shared buildings than lose their branch for good.",
            "Will you write to the council leader and to the minister responsible for "
            "libraries, and ask them to keep every branch open? I would be grateful if you "
            "could tell me what you intend to do.",
        ),
        ("Save our libraries", "Please save our libraries", "Library closures", "Libraries"),
    ),
    "buses": (
        "Keep the rural bus routes",
        (
            "I am deeply concerned about the decision to withdraw the subsidised bus routes "
            "that connect our villages with the market towns, the hospital and the college. "
            "For many residents these buses are the only way to get anywhere at all.",
            "Without them, people who do not drive will be cut adrift from work, from their "
            "doctor and from the shops. Young people will struggle to reach college, and "
            "carers will not be able to visit the people they look after.",
            "The routes cost little to run compared with the roads budget. When the service "
            "was cut back two years ago, the surgery saw more missed appointments and the "
            "village shops lost trade, and the parish councils have written to say so.",
            "I ask you to press the transport authority to reverse the decision, and to "
            "support a fair national funding settlement for rural buses so that these routes "
            "are not lost for good.",
        ),
        ("Keep our buses running", "Rural bus cuts", "Save the village buses"),
    ),
}

PERSONAL_SENTENCES = (
    "My children go to the Saturday story time every week and love it.",
    "I learned to read English at my local library when I first came here.",
    "As a retired teacher I have seen how much these places matter.",
    "I volunteer at the reading group on Tuesday mornings.",
    "My mother uses the large print books because she cannot afford to buy them.",
    "I did my college course using the library computers.",
    "Our branch is the only warm public building left in the village.",
    "I have lived here for thirty years and used the library all my life.",
    "My son did his homework there every evening while I was at work.",
    "The staff there are wonderful and know everyone by name.",
    "I use the bus every Thursday to get to the market.",
    "My daughter relies on the bus to reach her apprenticeship.",
    "I gave up driving last year on my optician's advice.",
    "The nearest station is nine miles from my house.",
    "I am a member of the parish council and we discussed this last month.",
    "Please do not let this happen to our community.",
    "I have never written to my MP before.",
    "It would be a real loss for the whole town.",
)
FIRST = (
    "Alice",
    "Ben",
    "Carys",
    "Dev",
    "Esther",
    "Farid",
    "Gwen",
    "Hugo",
    "Ines",
    "Jonah",
    "Kezia",
    "Liam",
    "Maya",
    "Nadia",
    "Owen",
    "Pia",
    "Quentin",
    "Rosa",
    "Sami",
    "Tilly",
)
LAST = (
    "Abbott",
    "Bishop",
    "Chowdhury",
    "Doyle",
    "Ellis",
    "Fraser",
    "Gupta",
    "Holt",
    "Iqbal",
    "Jenkins",
    "Kaur",
    "Lloyd",
    "Mercer",
    "Nash",
    "Osei",
    "Parry",
    "Rowe",
    "Sutton",
)
STREETS = (
    "Mill Lane",
    "Church Street",
    "Orchard Way",
    "Victoria Road",
    "The Green",
    "Quarry Hill",
    "Station Approach",
    "Meadow Rise",
)
GREETINGS = (
    "Dear Jane Doe,",
    "Dear Ms Doe,",
    "Dear Jane,",
    "Hello Jane,",
    "Dear MP,",
    "Dear Jane Doe MP,",
    "Good morning,",
    "Hi,",
)
SIGNOFFS = (
    "Yours sincerely,",
    "Kind regards,",
    "Best wishes,",
    "Regards,",
    "Thank you,",
    "Many thanks,",
    "Yours faithfully,",
)
_START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Letter:
    """One generated message and what it truly is."""

    raw: bytes
    message_id: str  # without angle brackets, as Mailbag stores it
    sender: str
    campaign: str | None  # the campaign it belongs to, None for ordinary casework
    problem: bool = False  # a campaign letter hiding a real personal problem


def campaign_letters(
    n: int,
    seed: int = 0,
    *,
    campaign: str = "libraries",
    problem_at: int | None = None,
    start: datetime = _START,
) -> list[Letter]:
    """n copies of one campaign letter; copy number `problem_at` hides a real problem."""
    rng = random.Random(f"{campaign}-{seed}")
    letters: list[Letter] = []
    senders: list[tuple[str, str, str]] = []
    when = start + timedelta(minutes=rng.randrange(60))
    for index in range(n):
        when += timedelta(seconds=rng.randint(5, 60))
        if senders and rng.random() < 0.03:
            person = rng.choice(senders)  # someone who sends it twice
        else:
            person = _person(rng, len(senders), campaign)
            senders.append(person)
        problem = index == problem_at
        letters.append(_letter(rng, campaign, person, when, index, seed, problem))
    return letters


def mixed_mailbox(
    campaign_sizes: dict[str, int], casework: int, seed: int = 0, problem_at: int | None = None
) -> list[Letter]:
    """Campaign copies interleaved with ordinary casework, in one deterministic order."""
    rng = random.Random(seed)
    streams: list[Iterator[Letter]] = [
        iter(campaign_letters(size, seed, campaign=name, problem_at=problem_at))
        for name, size in campaign_sizes.items()
    ]
    streams.append(_casework(casework, seed))
    sizes = [*campaign_sizes.values(), casework]
    out: list[Letter] = []
    while any(sizes):
        pick = rng.choices(range(len(streams)), weights=sizes)[0]
        out.append(next(streams[pick]))
        sizes[pick] -= 1
    return out


def _casework(n: int, seed: int) -> Iterator[Letter]:
    from email import message_from_bytes
    from email.utils import parseaddr

    for raw in generate_messages(n, seed=seed + 1000):
        headers = message_from_bytes(raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")
        message_id = str(headers["Message-ID"]).strip().strip("<>")
        yield Letter(raw, message_id, parseaddr(str(headers["From"]))[1].lower(), None)


def _person(rng: random.Random, number: int, campaign: str) -> tuple[str, str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    email = f"{first}.{last}.{campaign[:3]}{number}@example.net".lower()
    inward = "".join(rng.choice("ABDEFGHJLNPQRSTUWXYZ") for _ in range(2))
    postcode = f"EX{rng.randint(1, 9)} {rng.randint(1, 9)}{inward}"
    address = f"{rng.randint(1, 99)} {rng.choice(STREETS)}\nExampletown\n{postcode}"
    return f"{first} {last}", email, address


def _letter(
    rng: random.Random,
    campaign: str,
    person: tuple[str, str, str],
    when: datetime,
    index: int,
    seed: int,
    problem: bool,
) -> Letter:
    name, email, address = person
    _title, paragraphs, subjects = TEMPLATES[campaign]
    body = [list(p.split(". ")) for p in paragraphs]
    if rng.random() < 0.15:  # reordered paragraphs
        middle = body[1:-1]
        rng.shuffle(middle)
        body = [body[0], *middle, body[-1]]
    paras = [". ".join(sentences) for sentences in body]
    for _ in range(rng.choice((0, 1, 1, 2))):  # a sentence or two of one's own
        spot = rng.randrange(len(paras) + 1)
        paras.insert(spot, rng.choice(PERSONAL_SENTENCES))
    if rng.random() < 0.1 and len(paras) > 3:  # one template sentence left out
        first = paras[1].split(". ")
        paras[1] = ". ".join(first[1:]) if len(first) > 1 else paras[1]
    if problem:
        paras.insert(1, PROBLEM)
    greeting, signoff = rng.choice(GREETINGS), rng.choice(SIGNOFFS)
    signature = [signoff, name, *address.split("\n")]
    message = EmailMessage()
    message["From"] = f"{name} <{email}>"
    message["To"] = OFFICE_ADDRESS
    message["Subject"] = rng.choice(subjects)
    message["Date"] = format_datetime(when)
    message_id = f"campaign-{campaign}-{seed}-{index}@example.net"
    message["Message-ID"] = f"<{message_id}>"
    text = "\n\n".join([greeting, *paras, "\n".join(signature)]) + "\n"
    style = rng.random()
    if style < 0.12:  # HTML only, as some campaign websites send it
        message.set_content(_html(greeting, paras, signature), subtype="html")
    elif style < 0.25:
        message.set_content(text)
        message.add_alternative(_html(greeting, paras, signature), subtype="html")
    else:
        message.set_content(text)
    return Letter(message.as_bytes(), message_id, email, campaign, problem)


def _html(greeting: str, paras: list[str], signature: list[str]) -> str:
    blocks = [f"<p>{html.escape(greeting)}</p>"]
    blocks += [f"<p>{html.escape(p)}</p>" for p in paras]
    blocks.append("<p>" + "<br>".join(html.escape(line) for line in signature) + "</p>")
    return "<html><body>" + "\n".join(blocks) + "</body></html>\n"
