"""A large office for the web benchmark, written into PostgreSQL with COPY in a minute or two.

100,000 cases over four years for 85,000 constituents in a dozen postcode districts, four tags
each (a tenth with a secondary issue), eight caseworkers, one councillor, and about
1,000,000 timeline entries: on average ten per case, a third of them emails with bodies, the
rest notes, requests, assignments, status changes, follow-up lines and failed sends; a few
long-running cases carry 2,000 entries each. A fifth of the cases wait on a third party,
some of them overdue. Rows get explicit ids, so COPY can write every table without
round trips; the sequences are moved past them at the end.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import psycopg
from sqlalchemy import select

from crm.db import Database
from crm.outgoing.directory import seed_directory
from crm.outgoing.models import Organisation
from crm.tags.models import TagValue
from crm.tags.seed import ensure_seeded
from crm.users.service import create_user
from tagging.axes import AXES, Axis

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
YEARS = 4
LARGE_CASES = 20
LARGE_TIMELINE = 2_000
PASSWORD = "benchmark password"
CASEWORKERS = tuple(f"caseworker{n}@office.example.org.uk" for n in range(1, 9))
MANAGER = "manager@office.example.org.uk"
COUNCILLOR = "cllr.exeter@council.example.org.uk"
COUNCILLOR_WARDS = ("EX4",)
SEARCH_WORD = "asbestos"  # in about 0.5% of the letters
SEARCH_POSTCODE = "EX4 6PQ"
DISTRICTS = ("EX1", "EX2", "EX4", "EX5", "EX6", "EX8", "EX14", "EX16", "EX20", "TQ12", "TQ13")
FIRST = [
    "Mary",
    "Jane",
    "Sam",
    "Priya",
    "Mohammed",
    "Olivia",
    "Amelia",
    "Jack",
    "Harry",
    "Oliver",
    "Noah",
    "George",
    "Leo",
    "Isla",
    "Ava",
    "Mia",
    "Grace",
    "Ivy",
    "Freya",
    "Lily",
    "Arthur",
    "Oscar",
    "Charlie",
    "Muhammad",
    "Henry",
    "Theo",
    "Alfie",
    "Sofia",
    "Aisha",
    "Tomasz",
    "Agnieszka",
    "Chloe",
    "Emily",
    "Daniel",
    "David",
    "Peter",
    "Susan",
    "Margaret",
    "Linda",
    "Barbara",
    "Kevin",
    "Gary",
    "Sandra",
    "Fatima",
    "Yusuf",
    "Chen",
    "Wei",
    "Anna",
    "Marta",
    "Kofi",
    "Ama",
    "Siobhan",
    "Ciaran",
    "Rhys",
    "Megan",
    "Bethan",
    "Ewan",
    "Morag",
]
LAST = [
    "Jones",
    "Smith",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Roberts",
    "Johnson",
    "Lewis",
    "Walker",
    "Robinson",
    "Wood",
    "Thompson",
    "White",
    "Watson",
    "Jackson",
    "Wright",
    "Green",
    "Harris",
    "Cooper",
    "King",
    "Lee",
    "Martin",
    "Clarke",
    "James",
    "Morgan",
    "Hughes",
    "Edwards",
    "Hill",
    "Moore",
    "Clark",
    "Harrison",
    "Scott",
    "Young",
    "Morris",
    "Hall",
    "Ward",
    "Turner",
    "Carter",
    "Phillips",
    "Mitchell",
    "Patel",
    "Khan",
    "Ahmed",
    "Ali",
    "Nowak",
    "Kowalski",
    "Murphy",
    "Kelly",
    "O'Brien",
    "Campbell",
    "Stewart",
    "Anderson",
    "Macdonald",
    "Reid",
    "Okafor",
    "Mensah",
    "Chowdhury",
    "Begum",
    "Hussain",
    "Singh",
    "Kaur",
]
STREETS = [
    "Acacia Avenue",
    "Station Road",
    "Church Street",
    "Victoria Road",
    "Mill Lane",
    "Park View",
    "Queen Street",
    "Orchard Close",
    "Meadow Way",
    "Fore Street",
    "Cowick Street",
    "Sidwell Street",
    "Heavitree Road",
    "Topsham Road",
    "Pinhoe Road",
    "Blackboy Road",
    "Polsloe Road",
    "Alphington Road",
    "Beacon Lane",
]
TOPICS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "Housing › Damp and mould",
        ("Damp and mould in my flat", "Black mould in the children's bedroom"),
        (
            "There is black mould on the walls of the bedroom and it keeps coming back.",
            "The landlord painted over the damp patches but the mould returned within weeks.",
            "My daughter has asthma and the damp is making it worse.",
        ),
    ),
    (
        "Housing › Repairs",
        ("Repairs not done by the housing association", "Broken boiler since October"),
        (
            "The boiler has been broken for six weeks and we have no hot water.",
            "I reported the leaking roof three times and nobody has come out.",
            "The window frames are rotten and the draught is unbearable.",
        ),
    ),
    (
        "Benefits and Universal Credit › Universal Credit",
        ("Universal Credit stopped without warning", "Universal Credit payment missing"),
        (
            "My Universal Credit payment did not arrive this month and I have no money for food.",
            "The journal says my claim is closed but nobody told me why.",
            "I have rent arrears because the housing element was wrong.",
        ),
    ),
    (
        "Benefits and Universal Credit › PIP",
        ("PIP assessment appeal", "PIP award reduced after review"),
        (
            "My PIP was reduced after an assessment that lasted twenty minutes.",
            "I have asked for a mandatory reconsideration and heard nothing for four months.",
        ),
    ),
    (
        "Immigration and visas › Visa applications and delays",
        ("Visa application delayed for eight months", "Spouse visa still waiting"),
        (
            "My wife's visa application was submitted in March and we have had no decision.",
            "The Home Office helpline cannot tell us anything about the delay.",
        ),
    ),
    (
        "Council tax › Enforcement and bailiffs",
        ("Council tax bailiffs", "Enforcement agents at my door"),
        (
            "Enforcement agents came to the house about council tax I had already paid.",
            "I agreed a payment plan with the council but the bailiffs still wrote to me.",
        ),
    ),
    (
        "Roads and transport › Potholes and road repairs",
        ("Pothole outside number 12", "Road surface dangerous for cyclists"),
        (
            "There is a deep pothole outside my house that has damaged two cars.",
            "The road surface on the hill is breaking up and it is dangerous at night.",
        ),
    ),
    (
        "Schools and SEND › SEND and EHCPs",
        ("EHCP assessment refused", "School transport for my son"),
        (
            "The council refused an EHCP assessment although the school supports it.",
            "My son's school transport was withdrawn with a week's notice.",
        ),
    ),
    (
        "NHS and health › Hospital waiting lists",
        ("Hospital waiting list for a hip operation", "Cancelled operation"),
        (
            "My mother has been waiting eighteen months for a hip replacement.",
            "The operation was cancelled on the day for the second time.",
        ),
    ),
    (
        "Environment and waste › Bin collections",
        ("Bins not collected", "Missed recycling collection"),
        (
            "Our bins were missed again this week, the third time this month.",
            "The recycling has not been collected since the new rounds started.",
        ),
    ),
)
COMMON = (
    "I would be grateful for anything you can do to help.",
    "I have attached the letters I received.",
    "Please call me on the number below if you need more information.",
    "I have lived at this address for eleven years.",
    "Thank you for your help with this matter.",
    "I am writing again because I have not had a reply.",
    "We have been waiting far too long for an answer.",
)
RARE = (
    "The surveyor said the ceiling tiles may contain asbestos and must not be disturbed.",
    "Nobody has tested the garage roof for asbestos although it is cracked.",
)
REPLIES = (
    "Thank you for your email. We have referred your case to the department concerned.",
    "We have written to the council on your behalf and will let you know their reply.",
    "The department has replied and we enclose their letter.",
    "We are sorry for the delay in responding to your enquiry.",
)
# (kind, weight); message kinds carry a Message row, the others only a line.
KINDS = (
    ("email_in", 17),
    ("email_out", 11),
    ("third_party_reply", 5),
    ("auto_reply", 2),
    ("note", 16),
    ("request", 4),
    ("status", 9),
    ("assigned", 10),
    ("follow_up", 20),
    ("send_failed", 6),
)
SENDERS = {
    "email_out": ("casework@office.example.org.uk", "Office of Jane Smith MP"),
    "third_party_reply": ("replies@dwp.gov.uk", "DWP Correspondence"),
    "auto_reply": ("noreply@exampleshire.gov.uk", "Exampleshire Council"),
}
NOTES = (
    "Called the constituent: the landlord has now booked a surveyor.",
    "Left a voicemail for the housing officer.",
    "Constituent dropped in with copies of the tenancy agreement.",
    "Please can you chase this, the family is struggling.",
)
LINES = {
    "status": "Reopened by Caseworker 2: constituent wrote again",
    "assigned": "Assigned to Caseworker 3",
    "follow_up": "Waiting for a reply from Department for Work and Pensions (due in 21 days)",
    "send_failed": "Not sent: chase_first to replies@dwp.gov.uk (attempt 1): 451 try later",
}
MESSAGE_KINDS = {
    "email_in": ("in", "constituent"),
    "email_out": ("out", "outgoing"),
    "third_party_reply": ("in", "third_party"),
    "auto_reply": ("in", "auto_reply"),
}


@dataclass(frozen=True)
class Generated:
    """What the benchmark needs to know about the office it generated."""

    cases: int
    entries: int
    messages: int
    large_cases: list[str]
    search_postcode: str
    filter_owner: int
    filter_issue: str = "Housing"
    counts: dict[str, int] = field(default_factory=dict)


class Person(NamedTuple):
    id: int
    name: str
    email: str
    signature: str  # name, address and postcode, as letters end


@dataclass
class Ids:
    """Next id per table: every row is written with its id."""

    constituent: int = 0
    email: int = 0
    case: int = 0
    tag: int = 0
    message: int = 0
    entry: int = 0
    note: int = 0
    follow_up: int = 0

    def next(self, name: str) -> int:
        value = getattr(self, name) + 1
        setattr(self, name, value)
        return value


@dataclass
class Tables:
    """Rows waiting to be copied, per table."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.rows.setdefault(table, []).append(row)


COLUMNS = {
    "constituents": "id, name, address, postcode, phone, created_at",
    "constituent_emails": "id, email, constituent_id",
    "cases": "id, reference, subject, subject_key, status, constituent_id, opened_at, "
    "last_activity_at, closed_at, owner_id",
    "case_tags": "id, case_id, tag_id, axis, slot, source, rule_name, priority, reason, who, "
    "tagged_at",
    "messages": "id, dedupe_key, message_id, blob_sha256, direction, kind, kind_reasons, "
    "case_id, constituent_id, from_address, from_name, to_addresses, subject, in_reply_to, "
    '"references", sent_at, received_at, body_text, body_html, defects, thread_reason',
    "timeline_entries": "id, case_id, kind, message_pk, occurred_at, summary, created_at",
    "case_notes": "id, case_id, author_id, kind, body, pinned, created_at",
    "follow_ups": "id, case_id, organisation_id, party_key, party_address, opened_at, "
    "recorded_at, due_at, grace_days, working_days, grace_source, status, attempts_reserved, "
    "chases_sent, needs_approval, satisfied_at, satisfied_reason, satisfied_by, extended_days, "
    "extension_reason, updated_at",
}
BLOB = "0" * 64


def generate(database: Database, libpq_url: str, cases: int, seed: int = 6) -> Generated:
    """Users, taxonomy and directory through the services; everything bulky by COPY."""
    rng = random.Random(seed)
    people = _people(database)
    tags, orgs = _reference_rows(database)
    postcodes = _postcodes(rng)
    office = Office(rng, people, tags, orgs, postcodes, Ids(), cases)
    with psycopg.connect(libpq_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO blobs (sha256, size, data, created_at) VALUES (%s, 0, '', now())", (BLOB,)
        )
        for chunk in office.chunks(5_000):
            _copy(conn, chunk)
        _finish(conn)
    counts = office.ids
    return Generated(
        cases=counts.case,
        entries=counts.entry,
        messages=counts.message,
        large_cases=office.large_references,
        search_postcode=postcodes[0],
        filter_owner=people["caseworkers"][0],
    )


def _people(database: Database) -> dict[str, Any]:
    with database.session() as session:
        workers = [
            create_user(session, email, PASSWORD, role="caseworker", name=f"Caseworker {n}").id
            for n, email in enumerate(CASEWORKERS, 1)
        ]
        manager = create_user(session, MANAGER, PASSWORD, role="office_manager", name="Manager")
        councillor = create_user(
            session,
            COUNCILLOR,
            PASSWORD,
            role="councillor",
            name="Cllr Exeter",
            wards=list(COUNCILLOR_WARDS),
        )
        session.flush()
        return {"caseworkers": workers, "manager": manager.id, "councillor": councillor.id}


def _reference_rows(database: Database) -> tuple[dict[str, dict[str, int]], list[int]]:
    """Tag ids by axis and path, and the directory's organisations."""
    with database.session() as session:
        ensure_seeded(session)
        seed_directory(session)
    with database.session() as session:
        tags: dict[str, dict[str, int]] = {axis.value: {} for axis in AXES}
        for tag_id, axis, path in session.execute(
            select(TagValue.id, TagValue.axis, TagValue.path)
        ):
            tags[axis.value][path] = tag_id
        orgs = list(session.scalars(select(Organisation.id).order_by(Organisation.id)))
    return tags, orgs


def _postcodes(rng: random.Random) -> list[str]:
    """3,000 postcodes: about thirty constituents each."""
    found: set[str] = set()
    while len(found) < 3_000:
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        found.add(
            f"{rng.choice(DISTRICTS)} {rng.randrange(10)}{rng.choice(letters)}{rng.choice(letters)}"
        )
    found.discard(SEARCH_POSTCODE)
    return [SEARCH_POSTCODE, *sorted(found)][:3_000]


class Office:
    """Draws the office's rows chunk by chunk, so memory stays flat."""

    def __init__(
        self,
        rng: random.Random,
        people: dict[str, Any],
        tags: dict[str, dict[str, int]],
        orgs: list[int],
        postcodes: list[str],
        ids: Ids,
        cases: int,
    ) -> None:
        self.rng, self.people, self.tags, self.orgs = rng, people, tags, orgs
        self.postcodes, self.ids, self.cases = postcodes, ids, cases
        self.constituents = int(cases * 0.85)
        step = max(1, cases // LARGE_CASES)
        self.large = {n * step + 7 for n in range(LARGE_CASES) if n * step + 7 <= cases}
        self.large_references: list[str] = []
        self.people_seen: list[Person] = []
        self.counters: dict[int, int] = {}
        self.kinds = [k for k, _ in KINDS]
        self.weights = [w for _, w in KINDS]

    def chunks(self, size: int) -> Iterator[Tables]:
        for start in range(0, self.cases, size):
            tables = Tables()
            for _ in range(start, min(self.cases, start + size)):
                self._case(tables)
            yield tables

    def _constituent(self, tables: Tables) -> Person:
        """A new person for most cases, someone who wrote before for the rest."""
        rng = self.rng
        if self.ids.constituent >= self.constituents:
            return self.people_seen[rng.randrange(self.constituents)]
        cid = self.ids.next("constituent")
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        postcode = rng.choice(self.postcodes)
        address = f"{rng.randrange(1, 200)} {rng.choice(STREETS)}\nExeter"
        phone = f"07700 9{rng.randrange(100000):05d}" if rng.random() < 0.6 else None
        tables.add("constituents", (cid, name, address, postcode, phone, NOW))
        email = f"{name.lower().replace(' ', '.').replace(chr(39), '')}.{cid}@example.com"
        tables.add("constituent_emails", (self.ids.next("email"), email, cid))
        if rng.random() < 0.05:
            tables.add("constituent_emails", (self.ids.next("email"), f"alt{cid}@example.net", cid))
        person = Person(cid, name, email, f"{name}\n{address}\n{postcode}")
        self.people_seen.append(person)
        return person

    def _case(self, tables: Tables) -> None:
        rng = self.rng
        case_id = self.ids.next("case")
        large = case_id in self.large
        person = self._constituent(tables)
        opened = NOW - timedelta(minutes=rng.randrange(YEARS * 365 * 24 * 60))
        if large:
            opened = NOW - timedelta(days=700 + rng.randrange(300))
        age = NOW - opened
        closed_share = 0.9 if age > timedelta(days=120) else 0.3
        closed = not large and rng.random() < closed_share
        issue, subjects, lines = rng.choice(TOPICS)
        subject = rng.choice(subjects)
        year = opened.year
        self.counters[year] = self.counters.get(year, 0) + 1
        reference = f"MB-{year}-{self.counters[year]:06d}"
        if large:
            self.large_references.append(reference)
        workers = self.people["caseworkers"]
        owner = None if rng.random() < (0.05 if closed else 0.2) else rng.choice(workers)
        count = LARGE_TIMELINE if large else max(2, int(rng.expovariate(1 / 8)) + 2)
        span = min(age, timedelta(days=rng.randrange(5, 200))) if not large else age
        moments = sorted(opened + span * rng.random() for _ in range(count - 1))
        moments.insert(0, opened)
        last = moments[-1]
        closed_at = last if closed else None
        tables.add(
            "cases",
            (
                case_id,
                reference,
                subject,
                subject.lower(),
                "closed" if closed else "open",
                person.id,
                opened,
                last,
                closed_at,
                owner,
            ),
        )
        self._tags(tables, case_id, issue, opened, large)
        for n, moment in enumerate(moments):
            kind = "email_in" if n == 0 else rng.choices(self.kinds, self.weights)[0]
            self._entry(tables, case_id, person, kind, moment, (subject, lines), reference)
        self._follow_up(tables, case_id, opened, closed)

    def _tags(self, tables: Tables, case_id: int, issue: str, at: datetime, large: bool) -> None:
        rng = self.rng
        picks = {
            Axis.ISSUE: issue,
            Axis.URGENCY: rng.choices(("immediate", "high", "normal", "low"), (5, 20, 60, 15))[0],
            Axis.SENSITIVITY: "standard"
            if large
            else rng.choices(
                ("standard", "personal", "special category", "safeguarding"), (70, 22, 5, 3)
            )[0],
            Axis.TRANSFERABILITY: rng.choices(
                (
                    "office can resolve",
                    "refer to a government department",
                    "refer to the council",
                    "not for this representative",
                ),
                (40, 30, 25, 5),
            )[0],
        }
        for axis, path in picks.items():
            source = rng.choices(("rule", "default", "manual"), (60, 25, 15))[0]
            reason = {
                "rule": f'rule "{path}": words in the letter',
                "default": "no rule matched",
                "manual": "set by a caseworker",
            }[source]
            tables.add(
                "case_tags",
                (
                    self.ids.next("tag"),
                    case_id,
                    self.tags[axis.value][path],
                    axis.value,
                    axis.value,
                    source,
                    path if source == "rule" else None,
                    50 if source == "rule" else None,
                    reason,
                    "caseworker1@office.example.org.uk" if source == "manual" else "rules",
                    at,
                ),
            )
        if rng.random() < 0.1:
            other = rng.choice([t for t, *_ in TOPICS if t != issue])
            tables.add(
                "case_tags",
                (
                    self.ids.next("tag"),
                    case_id,
                    self.tags["issue"][other],
                    "issue",
                    None,
                    "manual",
                    None,
                    None,
                    "also about this",
                    "caseworker1@office.example.org.uk",
                    at,
                ),
            )

    def _entry(
        self,
        tables: Tables,
        case_id: int,
        person: Person,
        kind: str,
        at: datetime,
        about: tuple[str, Sequence[str]],
        reference: str,
    ) -> None:
        """One timeline line; emails carry a message, notes and requests a note."""
        message_pk = None
        if kind in MESSAGE_KINDS:
            message_pk = self._message(tables, case_id, person, kind, at, about, reference)
            summary = about[0] if kind == "email_in" else f"Re: {about[0]} [{reference}]"
        elif kind in ("note", "request"):
            summary = self._note(tables, case_id, kind, at)
        else:
            summary = LINES[kind]
        entry = (self.ids.next("entry"), case_id, kind, message_pk, at, summary[:500], at)
        tables.add("timeline_entries", entry)

    def _message(
        self,
        tables: Tables,
        case_id: int,
        person: Person,
        kind: str,
        at: datetime,
        about: tuple[str, Sequence[str]],
        reference: str,
    ) -> int:
        rng = self.rng
        subject, lines = about
        message_pk = self.ids.next("message")
        direction, message_kind = MESSAGE_KINDS[kind]
        body = self._body(kind, lines, person)
        paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
        html = paragraphs if rng.random() < 0.4 else None
        sender = SENDERS.get(kind, (person.email, person.name))
        to = ["casework@office.example.org.uk"] if direction == "in" else [person.email]
        full_subject = subject if kind == "email_in" else f"Re: {subject} [{reference}]"
        key = f"<bench-{message_pk}@example.com>"
        from_constituent = person.id if direction == "in" else None
        tables.add(
            "messages",
            (message_pk, key, key, BLOB, direction, message_kind, "[]", case_id,
             from_constituent, sender[0], sender[1], _json(to), full_subject, "[]", "[]", at,
             at, body, html, "[]", "reference in subject"),
        )  # fmt: skip
        return message_pk

    def _note(self, tables: Tables, case_id: int, kind: str, at: datetime) -> str:
        rng = self.rng
        body = rng.choice(NOTES)
        staff = kind == "note"
        author = rng.choice(self.people["caseworkers"]) if staff else self.people["councillor"]
        pinned = staff and rng.random() < 0.1
        tables.add("case_notes", (self.ids.next("note"), case_id, author, kind, body, pinned, at))
        return f"{'Note' if staff else 'Request'} from {'Caseworker' if staff else 'Cllr'}: {body}"

    def _body(self, kind: str, lines: Sequence[str], person: Person) -> str:
        rng = self.rng
        if kind == "email_out":
            return (
                f"Dear {person.name},\n\n{rng.choice(REPLIES)}\n\nYours sincerely,\nJane Smith MP"
            )
        if kind == "auto_reply":
            return "Thank you for your email. This mailbox is not monitored over the weekend."
        if kind == "third_party_reply":
            return (
                f"Dear Ms Smith,\n\nThank you for your letter about {person.name}. "
                + rng.choice(REPLIES)
            )
        chosen = rng.sample(list(lines), k=min(2, len(lines))) + rng.sample(COMMON, k=2)
        if rng.random() < 0.005:
            chosen.insert(1, rng.choice(RARE))
        return "Dear Jane,\n\n" + "\n\n".join(chosen) + f"\n\nKind regards,\n{person.signature}"

    def _follow_up(self, tables: Tables, case_id: int, opened: datetime, closed: bool) -> None:
        """A fifth of cases wait on a third party; open ones are due, overdue or chased."""
        rng = self.rng
        if rng.random() >= 0.2:
            return
        sent = opened + timedelta(days=rng.randrange(1, 10))
        due = sent + timedelta(days=21)
        if closed:
            status, satisfied = "satisfied", sent + timedelta(days=rng.randrange(3, 40))
        else:
            status, satisfied = rng.choices(("open", "chased", "held"), (70, 25, 5))[0], None
            if status == "open" and rng.random() < 0.5:
                due = NOW + timedelta(days=rng.randrange(1, 21))  # not yet due
        org = rng.choice(self.orgs)
        tables.add(
            "follow_ups",
            (
                self.ids.next("follow_up"),
                case_id,
                org,
                f"org:{org}",
                "replies@dwp.gov.uk",
                sent,
                sent,
                due,
                21,
                False,
                "default",
                status,
                1 if status == "chased" else 0,
                1 if status == "chased" else 0,
                status == "held",
                satisfied,
                "reply received" if satisfied else "",
                "",
                0,
                "",
                sent,
            ),
        )


def _json(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def _copy(conn: psycopg.Connection[Any], tables: Tables) -> None:
    """Parents before children, in one transaction per chunk."""
    order = (
        "constituents",
        "constituent_emails",
        "cases",
        "case_tags",
        "messages",
        "timeline_entries",
        "case_notes",
        "follow_ups",
    )
    with conn.transaction(), conn.cursor() as cursor:
        for table in order:
            rows = tables.rows.get(table, [])
            if not rows:
                continue
            with cursor.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


def _finish(conn: psycopg.Connection[Any]) -> None:
    """Sequences past the copied ids, the case counters, then fresh statistics."""
    with conn.transaction():
        for table in COLUMNS:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        conn.execute(
            "INSERT INTO case_counters (prefix, year, last) "
            "SELECT 'MB', split_part(reference, '-', 2)::int, "
            "max(split_part(reference, '-', 3)::int) FROM cases GROUP BY 2"
        )
    conn.execute("VACUUM ANALYZE")
