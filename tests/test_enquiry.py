"""The public enquiry form and the status page, through Litestar's test client, both databases."""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import delete, func, select

from crm import cases, casework
from crm.blobs import load_blob
from crm.db import Database
from crm.enquiries import formstamp, status_links, throttle
from crm.enquiries.errors import ScreenerError
from crm.enquiries.form import normalise_postcode
from crm.enquiries.models import Enquiry, StatusLink
from crm.enquiries.screener_file import DEFAULT_FILE, load_screener
from crm.errors import SettingsError
from crm.models import Case, Constituent, ConstituentEmail, Message, MessageSource
from crm.notes import add_note
from crm.outgoing import directory
from crm.settings import Settings
from crm.tags.models import CaseTag
from crm.tags.names import require_active
from crm.tags.service import set_manual
from crm.types import utcnow
from crm.users.service import create_user
from inbox.message import Source
from inbox.pipeline import Pipeline
from mailbag.cli import main
from tagging.axes import Axis
from tests.support.enquiry import (
    EXE,
    MARY,
    PDF,
    PNG,
    old_stamp,
    post_enquiry,
    status_link,
    valid_fields,
)
from tests.support.mail import make_message
from tests.support.smtp import SmtpServer
from tests.support.smtp_fixtures import office_settings
from tests.support.web import csrf_token
from tests.support.workers import settings_env
from web import status_page
from web.app import create_app

SECRET = "enquiry-test-secret-" + "x" * 32
BASE = "http://testserver.local"
_uids = itertools.count(1)

COUNCIL_SCREENER = """
[area]
name = "Exampletown"
postcodes = ["EX1", "EX2"]
find_representative_url = "https://members.parliament.uk/FindYourMP"
find_representative_text = "Find your MP"

[council]
name = "Exampletown Council"
url = "https://www.exampletown.example/report"
out_of_hours = "01632 960 999"

[consent]
text = "I agree that the office may act for me."

[[emergency_numbers]]
number = "999"
label = "Police, fire or ambulance"

[[emergency_numbers]]
number = "116 123"
label = "Samaritans"

[[questions]]
id = "danger"
legend = "Is anyone in danger now?"
  [[questions.answers]]
  id = "yes"
  label = "Yes"
  route = "emergency"
  [[questions.answers]]
  id = "no"
  label = "No"

[[questions]]
id = "area"
legend = "Do you live in Exampletown?"
  [[questions.answers]]
  id = "yes"
  label = "Yes"
  [[questions.answers]]
  id = "no"
  label = "No"
  route = "outside"

[[questions]]
id = "topic"
legend = "What is it about?"
  [[questions.answers]]
  id = "housing"
  label = "Housing"
  tags = { issue = "Housing" }
  [[questions.answers]]
  id = "council"
  label = "Bins and potholes"
  route = "council"
  tags = { transferability = "refer to the council" }
  priority = 60

[[questions]]
id = "urgency"
legend = "How soon must something happen?"
  [[questions.answers]]
  id = "days"
  label = "Within days"
  tags = { urgency = "high" }
  [[questions.answers]]
  id = "none"
  label = "No deadline"
  tags = { urgency = "low" }
"""


@pytest.fixture
def screener_file(tmp_path: Path) -> Path:
    path = tmp_path / "screener.toml"
    path.write_text(COUNCIL_SCREENER, encoding="utf-8")
    return path


@pytest.fixture
def office(tmp_path: Path, smtp_server: SmtpServer, screener_file: Path) -> Settings:
    return office_settings(
        tmp_path,
        smtp_server.port,
        secret_key=SECRET,
        base_url=BASE,
        screener_file=screener_file,
    )


@pytest.fixture
def client(database: Database, office: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(office, database, secret_key=SECRET)) as test_client:
        yield test_client


def count(database: Database, model: type) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def submit(client: TestClient, office: Settings, **changes: str) -> str:  # type: ignore[type-arg]
    """A valid enquiry; the case reference the confirmation page shows."""
    response = post_enquiry(client, office, valid_fields(**changes))
    assert response.status_code == 303, response.text[:2000]
    assert response.headers["location"] == "/enquiry/received"
    page = client.get("/enquiry/received")
    found = re.search(r'class="reference">([A-Z]+-\d{4}-\d{6})<', page.text)
    assert found, page.text[:2000]
    return found[1]


def feed(database: Database, settings: Settings, raw: bytes, folder: str = "INBOX") -> int:
    """One message through the real pipeline; the id of the case it landed on."""
    with database.session() as session:
        outcome = Pipeline(settings).process(
            session, raw, Source(folder, uidvalidity=3, uid=next(_uids))
        )
        assert outcome.status == "stored", outcome.failure
        assert outcome.ctx.case_id is not None
        return outcome.ctx.case_id


# --- the form itself --------------------------------------------------------------------------


def test_the_form_is_light_labelled_and_carries_its_tokens(client):
    page = client.get("/enquiry")
    assert page.status_code == 200
    html = page.text
    assert len(page.content) < 50_000
    assert '<html lang="en">' in html
    assert 'name="_csrf_token"' in html and 'name="stamp"' in html
    assert "<legend>Is anyone in danger now?</legend>" in html
    for field, purpose in (
        ("name", "name"),
        ("email", "email"),
        ("address", "street-address"),
        ("postcode", "postal-code"),
        ("phone", "tel"),
    ):
        assert f'<label for="{field}">' in html
        assert re.search(rf'id="{field}"[^>]*autocomplete="{purpose}"', html), field
    # the emergency numbers are on the form before anything is sent
    assert 'href="tel:999"' in html and "01632 960 999" in html
    assert "I agree that the office may act for me." in html


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ex12ab", "EX1 2AB"),
        (" EX1  2AB ", "EX1 2AB"),
        ("sw1a1aa", "SW1A 1AA"),
        ("M1 1AE", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("GIR 0AA", "GIR 0AA"),
        ("EX1", None),
        ("Q1 1AA", None),
        ("EX1 2AB4", None),
        ("12345", None),
        ("<script>", None),
    ],
)
def test_postcodes_are_uk_shaped_and_spelt_one_way(typed, expected):
    postcode, problem = normalise_postcode(typed)
    assert (postcode or None) == expected
    assert (problem is None) == (expected is not None)


def test_every_field_is_checked_with_its_message_beside_it_and_nothing_is_lost(
    client, office, database
):
    # Given a form with a mistake in every field (and the person's words typed in)
    fields = {
        "name": "",
        "email": "mary@",
        "address": "",
        "postcode": "ABC 123",
        "phone": "12",
        "problem": "help",
        "q_topic": "housing",
    }
    response = post_enquiry(client, office, fields, files=[("roof.pdf", PDF)])
    # Then it comes back with each problem beside its field, and listed at the top
    assert response.status_code == 400
    html = response.text
    expected = {
        "q_danger": "Choose an answer to “Is anyone in danger now?”",
        "q_area": "Choose an answer to “Do you live in Exampletown?”",
        "q_urgency": "Choose an answer to “How soon must something happen?”",
        "name": "Enter your full name",
        "email": "Enter an email address in the correct format, like name@example.com",
        "address": "Enter your postal address",
        "postcode": "Enter a real UK postcode, like EX1 2AB",
        "phone": "Enter a telephone number, like 01632 960 001, or leave it empty",
        "problem": "Tell us about the problem in your own words",
        "consent": "Tick the box to agree, so that the office can act for you",
    }
    assert "<title>Error: " in html
    summary = html.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    for key, message in expected.items():
        assert (
            f'<p class="error" id="{key}-error"><span class="vh">Error:</span> {message}</p>'
            in (html.replace("&#8220;", "“").replace("&#8221;", "”"))
        ), key
        assert message in summary.replace("&#8220;", "“").replace("&#8221;", "”"), key
    for key in ("name", "email", "address", "postcode", "phone", "problem"):
        control = re.search(rf'<(?:input|textarea)[^>]*id="{key}"[^>]*>', html)
        assert control, key
        assert f"{key}-error" in control[0] and 'aria-invalid="true"' in control[0], key
    assert 'href="#q_danger-yes"' in summary and 'href="#name"' in summary
    assert "q_topic-error" not in html
    # And nothing typed is lost; the file is asked for again, with a note saying so
    assert 'value="mary@"' in html and ">help</textarea>" in html and 'value="ABC 123"' in html
    assert 'value="housing" checked' in html
    assert "Please choose your files again" in html
    assert count(database, Case) == 0 and count(database, Constituent) == 0


# --- a submission becomes a case -------------------------------------------------------------


def test_an_enquiry_becomes_one_case_with_its_constituent_message_tags_and_acknowledgement(
    client, office, database, smtp_server
):
    # When Mary sends a valid enquiry with a photo of the ceiling
    response = post_enquiry(
        client, office, valid_fields(), files=[("ceiling.png", PNG), ("letter.pdf", PDF)]
    )
    assert response.status_code == 303
    page = client.get("/enquiry/received").text
    reference = re.search(r'class="reference">([^<]+)<', page)[1]  # type: ignore[index]
    assert f"We have sent an email to {MARY}" in page
    with database.session() as session:
        # Then one constituent, with the details she typed
        [person] = session.scalars(select(Constituent)).all()
        assert (person.name, person.postcode, person.phone) == (
            "Mary Jones",
            "EX1 2AB",
            "01632 960 001",
        )
        assert person.address == "12 Acacia Avenue\nExampletown"
        case = cases.get(session, reference)
        assert case.constituent_id == person.id
        assert case.subject.startswith("Online enquiry: The housing association has not fixed")
        # And her submission is a message on the case's timeline, with its raw RFC 5322 bytes
        [message] = session.scalars(select(Message).where(Message.direction == "in")).all()
        assert (message.case_id, message.kind, message.from_address) == (
            case.id,
            "constituent",
            MARY,
        )
        raw = load_blob(session, message.blob_sha256)
        assert f"<{message.message_id}>".encode() in raw
        assert b"X-Mailbag-Source: online enquiry form" in raw
        assert "leaking roof" in message.body_text and "EX1 2AB" in message.body_text
        files = {(a.filename, a.content_type) for a in message.attachments}
        assert files == {
            ("enquiry-form.txt", "text/plain"),
            ("ceiling.png", "image/png"),
            ("letter.pdf", "application/pdf"),
        }
        sources = select(MessageSource.folder).where(MessageSource.message_pk == message.id)
        assert session.scalars(sources).all() == ["web-form"]
        # And the consent she gave is kept, word for word, with the screener's answers
        [enquiry] = session.scalars(select(Enquiry)).all()
        assert enquiry.consent_text == "I agree that the office may act for me."
        assert enquiry.answers["urgency"] == "days" and enquiry.message_pk == message.id
        # And the answers preset the tags, each with its reason, like any rule
        tags = {row.axis: row for row in session.scalars(select(CaseTag)) if row.slot}
        urgency = tags[Axis.URGENCY]
        assert urgency.tag.path == "high"
        assert urgency.rule_name == "screener: urgency = days"
        assert (
            urgency.reason == "screener “How soon must something happen?”: answered “Within days”"
        )
        assert {row.tag.path for row in session.scalars(select(CaseTag))} >= {"Housing"}
        kinds = [entry.kind for entry in reversed(cases.timeline(session, case.id))]
    # And the same acknowledgement as email gets, with the reference and a private status link
    assert kinds == ["email_in", "email_out"]
    [ack] = smtp_server.received
    assert ack.rcpt_tos == (MARY,)
    mail = ack.message()
    assert f"[{reference}]" in mail["Subject"] and mail["Auto-Submitted"] == "auto-replied"
    assert mail["In-Reply-To"] == f"<{message.message_id}>"
    text = mail.get_body(("plain",)).get_content()
    assert f"Your case reference is {reference}." in text
    link = status_link(text)
    assert link.startswith(f"{BASE}/status/")
    shown = client.get(link.removeprefix(BASE))
    assert shown.status_code == 200 and reference in shown.text and "Received" in shown.text


def _case_tags(database: Database, reference: str) -> set[tuple[str, bool, str, str, str]]:
    """(axis, primary, value, source, rule) of every tag on the case."""
    with database.session() as session:
        case = cases.get(session, reference)
        rows = session.scalars(select(CaseTag).where(CaseTag.case_id == case.id)).all()
        return {
            (r.axis.value, r.slot is not None, r.tag.path, r.source, r.rule_name or "")
            for r in rows
        }


def test_replaying_the_rules_keeps_the_screener_s_and_staff_s_tags(
    client, office, database, smtp_server
):
    # Given an enquiry whose screener answers set the urgency (low) and the issue (Housing)
    reference = submit(client, office, q_urgency="none")
    with database.session() as session:
        set_manual(
            session,
            reference,
            Axis.ISSUE,
            "Benefits and Universal Credit",
            who="sam",
            secondary=True,
        )
        case = cases.get(session, reference)
        # and a secondary issue a rule set once, which no rule proposes any more
        energy = require_active(session, Axis.ISSUE, "Energy")
        session.add(
            CaseTag(
                case_id=case.id,
                tag_id=energy.id,
                axis=Axis.ISSUE,
                slot=None,
                source="rule",
                rule_name="a rule since removed",
                priority=10,
                reason="words: gas",
            )
        )
    before = _case_tags(database, reference)
    assert ("urgency", True, "low", "rule", "screener: urgency = none") in before
    assert ("issue", False, "Housing", "rule", "screener: topic = housing") in before
    # When the office replays the rules over every case
    env = settings_env(office, database.url)
    result = CliRunner().invoke(main, ["tags", "apply", "--all"], env=env)
    # Then only the rule-sourced tag no rule gives any more is gone
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{reference}  issue (secondary): Energy → —  (removed)",
        "1 change on 1 case(s)",
    ]
    after = _case_tags(database, reference)
    assert after == {t for t in before if t[2] != "Energy"}
    assert ("issue", False, "Benefits and Universal Credit", "manual", "") in after
    # And replaying again changes nothing
    again = CliRunner().invoke(main, ["tags", "apply", "--all"], env=env)
    assert again.output.strip() == "0 changes on 0 case(s)"


def test_a_later_email_from_the_same_person_threads_to_the_enquiry(
    client, office, database, smtp_server
):
    reference = submit(client, office)
    ack = smtp_server.received[0].message()
    with database.session() as session:
        case_id = cases.get(session, reference).id
    # When she answers the acknowledgement from her mail program
    reply = make_message(
        sender=f"Mary Jones <{MARY}>",
        subject=f"Re: {ack['Subject']}",
        body="The ceiling fell in last night.",
        in_reply_to=ack["Message-ID"],
        date=utcnow(),
    )
    # And writes again later with only the reference in the subject
    again = make_message(
        sender=f"Mary Jones <{MARY}>",
        subject=f"More photos [{reference}]",
        body="Photos attached.",
        date=utcnow(),
    )
    # Then both land on the enquiry's case, from the same constituent record
    assert feed(database, office, reply) == case_id
    assert feed(database, office, again) == case_id
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Constituent)) == 1
        assert session.scalar(select(func.count()).select_from(Case)) == 1
        senders = session.scalars(select(Message.constituent_id).where(Message.direction == "in"))
        assert len(set(senders)) == 1


# --- the screener's routes ------------------------------------------------------------------


def test_emergency_gives_the_numbers_at_once_and_keeps_nothing(client, office, database):
    # Even sent at once, with nothing else filled in
    response = post_enquiry(
        client, office, {"q_danger": "yes"}, stamp=formstamp.issue(office, utcnow())
    )
    assert response.status_code == 200
    html = response.text
    assert "If someone is in danger, get help now" in html
    for number in ('href="tel:999"', 'href="tel:116123"', 'href="tel:01632960999"'):
        assert number in html
    assert count(database, Case) == 0 and count(database, Constituent) == 0


@pytest.mark.parametrize(
    "changes",
    [{"q_area": "no"}, {"postcode": "SW1A 1AA"}],
    ids=["by answer", "by postcode"],
)
def test_outside_the_area_says_who_represents_them(client, office, database, changes):
    response = post_enquiry(client, office, valid_fields(**changes))
    assert response.status_code == 200
    assert "Contact your own representative" in response.text
    assert 'href="https://members.parliament.uk/FindYourMP"' in response.text
    assert count(database, Case) == 0 and count(database, Constituent) == 0


def test_a_council_matter_is_offered_to_be_passed_on_with_consent(client, office, database):
    fields = valid_fields(q_topic="council", q_urgency="none")
    # When the answers say it is for the council, the form asks whether to pass it on
    asked = post_enquiry(client, office, fields)
    assert asked.status_code == 400
    assert "Shall we pass your enquiry on to Exampletown Council?" in asked.text
    assert 'href="https://www.exampletown.example/report"' in asked.text
    assert 'id="pass_on-error"' in asked.text
    # And "no, I will contact them myself" keeps nothing and points to the council
    declined = post_enquiry(client, office, fields | {"pass_on": "no"})
    assert declined.status_code == 200 and "Contact Exampletown Council" in declined.text
    assert count(database, Case) == 0
    # And "yes, pass it on" opens a case tagged for the council, with the reason
    reference = submit(client, office, q_topic="council", q_urgency="none", pass_on="yes")
    with database.session() as session:
        case = cases.get(session, reference)
        [enquiry] = session.scalars(select(Enquiry)).all()
        assert (enquiry.route, enquiry.passed_on) == ("council", True)
        rows = session.scalars(select(CaseTag).where(CaseTag.case_id == case.id)).all()
        transfer = next(r for r in rows if r.slot is Axis.TRANSFERABILITY)
        assert transfer.tag.path == "refer to the council"
        assert transfer.reason == "screener “What is it about?”: answered “Bins and potholes”"
        urgency = next(r for r in rows if r.slot is Axis.URGENCY)
        assert urgency.tag.path == "low" and urgency.rule_name == "screener: urgency = none"


def test_the_shipped_screener_reads_and_a_broken_one_names_the_file_and_key(
    tmp_path, client, office, screener_file
):
    shipped = load_screener(DEFAULT_FILE)
    assert [q.id for q in shipped.questions] == ["danger", "area", "topic", "urgency"]
    assert {n.number for n in shipped.emergency_numbers} == {"999", "111", "116 123"}
    mistakes = [
        ('route = "council"', 'route = "counsil"', "answers[council].route: expected one of"),
        ('tags = { issue = "Housing" }', 'tags = { isue = "Housing" }', "tags.isue: unknown axis"),
        ('legend = "What is it about?"', "", "questions[topic].legend: expected some text"),
        ('id = "none"', 'id = "days"', "answers[2].id: 'days' is used by an earlier answer"),
        ('postcodes = ["EX1", "EX2"]', 'postcodes = ["EX1", "nowhere"]', "area.postcodes:"),
        ("[consent]", "[consent", "not valid TOML"),
        (
            'name = "Exampletown"',
            'name = "Exampletown"\ncolour = "blue"',
            "area.colour: unknown key",
        ),
    ]
    for old, new, expected in mistakes:
        broken = tmp_path / "broken.toml"
        broken.write_text(COUNCIL_SCREENER.replace(old, new, 1), encoding="utf-8")
        with pytest.raises(ScreenerError) as raised:
            load_screener(broken)
        message = str(raised.value)
        assert message.startswith(f"{broken}: ") and expected in message, message
        assert "\n" not in message
    # A broken file stops the form with a clear page, not a crash
    screener_file.write_text(COUNCIL_SCREENER.replace('route = "outside"', "route = 3"))
    assert client.get("/enquiry").status_code == 503
    with pytest.raises(SettingsError, match=r"^MAILBAG_SCREENER_FILE: expected an existing file"):
        Settings.from_env({"MAILBAG_SCREENER_FILE": str(tmp_path / "missing.toml")})


# --- bots and careless input ---------------------------------------------------------------


def test_a_bot_is_refused_without_token_with_honeypot_too_fast_or_forged(client, office, database):
    no_token = post_enquiry(client, office, valid_fields(), token=False)
    assert no_token.status_code == 403
    honeypot = post_enquiry(client, office, valid_fields(website="http://spam.example"))
    assert honeypot.status_code == 400 and "could not accept the form" in honeypot.text
    assert "Please choose your files again" not in honeypot.text  # none were chosen
    too_fast = post_enquiry(client, office, valid_fields(), stamp=formstamp.issue(office, utcnow()))
    assert too_fast.status_code == 400 and "too quickly" in too_fast.text
    stamp = old_stamp(office)
    forged = post_enquiry(client, office, valid_fields(), stamp=stamp[:-3] + "abc")
    assert forged.status_code == 400 and "could not be checked" in forged.text
    stale = post_enquiry(client, office, valid_fields(), stamp=old_stamp(office, 2 * 86_400))
    assert stale.status_code == 400 and "expired" in stale.text
    assert count(database, Case) == 0


def test_too_many_posts_from_one_connection_or_enquiries_from_one_address(client, office, database):
    # Given three enquiries from Mary today
    for _ in range(throttle.ENQUIRIES_PER_EMAIL.count):
        submit(client, office)
    # Then a fourth from her address is refused, with a way to reach the office
    fourth = post_enquiry(client, office, valid_fields())
    assert fourth.status_code == 429 and "already received several enquiries" in fourth.text
    assert count(database, Case) == throttle.ENQUIRIES_PER_EMAIL.count
    # And a connection posting over and over is stopped, whatever it posts
    used = throttle.ENQUIRIES_PER_EMAIL.count + 1
    for _ in range(throttle.FORM_POSTS_PER_IP.count - used):
        assert post_enquiry(client, office, {"name": "x"}).status_code == 400
    blocked = post_enquiry(client, office, valid_fields(email="other@example.com"))
    assert blocked.status_code == 429 and "from your connection" in blocked.text
    # The limits are rows in the database (every worker sees them), hashed, not addresses
    with database.session() as session:
        keys = set(session.scalars(select(throttle.Throttle.key)))
    assert MARY not in keys and all(len(k) == 64 for k in keys)


def test_disguised_oversized_and_too_many_attachments_are_refused(client, office, database):
    cases_ = [
        ([("invoice.pdf", EXE)], "invoice.pdf is not really a PDF, whatever its name says"),
        ([("photo.png", PDF)], "photo.png is not really a PNG image"),
        ([("setup.exe", EXE)], "setup.exe: the file must be a PDF, JPEG, PNG, HEIC or Word"),
        ([("big.pdf", PDF + b"0" * (5 * 1024 * 1024))], "big.pdf is larger than 5 MB"),
        ([(f"p{n}.pdf", PDF) for n in range(4)], "Choose up to 3 files: you chose 4"),
        ([("../../etc/passwd.pdf", EXE)], "passwd.pdf is not really a PDF"),
    ]
    for files, message in cases_:
        response = post_enquiry(client, office, valid_fields(), files=files)
        assert response.status_code == 400, message
        assert message in response.text, (message, response.text[:300])
        assert 'id="attachments-error"' in response.text
        assert "leaking roof" in response.text  # the person's words stay
    assert count(database, Case) == 0


def test_a_post_over_the_size_limit_says_the_limit_and_offers_the_form_again(
    client, office, database
):
    # When Mary attaches three photos of 6 MB each: more than the form takes at all
    big = PNG + b"0" * (6 * 1024 * 1024)
    files = [(f"ceiling{n}.png", big) for n in range(3)]
    response = post_enquiry(client, office, valid_fields(), files=files)
    # Then the page says the limits in words and how to try again, and nothing was kept
    assert response.status_code == 413
    page = re.sub(r"\s+", " ", response.text)
    assert "<h1>Your enquiry was too large to send</h1>" in page
    assert "up to 3 files of up to 5 MB each, and 16 MB in all" in page
    assert "Back button: what you typed is usually still there" in page
    assert 'href="/enquiry"' in page and "Request Entity Too Large" not in page
    assert count(database, Case) == 0
    # And a post within the limits still goes through
    assert submit(client, office).startswith("MB-")


def test_any_other_post_over_its_limit_says_the_limit(client):
    # When a form post elsewhere (here the sign-in form) is larger than Litestar's 10 MB default
    token = csrf_token(client.get("/sign-in").text)
    data = {"email": "x" * 10_000_001, "password": "", "_csrf_token": token}
    response = client.post("/sign-in", data=data, follow_redirects=False)
    # Then the page names the limit instead of a bare status
    assert response.status_code == 413
    assert "Too large: at most 9.5 MB can be sent here." in response.text


# --- the status page ------------------------------------------------------------------------


def _link_path(smtp_server: SmtpServer) -> str:
    text = smtp_server.received[-1].message().get_body(("plain",)).get_content()
    return status_link(text).removeprefix(BASE)


def test_the_status_page_shows_milestones_and_nothing_else(client, office, database, smtp_server):
    reference = submit(client, office)
    path = _link_path(smtp_server)
    with database.session() as session:
        case = cases.get(session, reference)
        worker = create_user(
            session,
            "cara@office.example.org.uk",
            "correct horse battery",
            role="caseworker",
            name="Cara Worker",
        )
        casework.assign(session, case, worker.id, who=worker)
        add_note(session, case, worker, "Secret: landlord is her brother-in-law")
        set_manual(session, reference, Axis.SENSITIVITY, "safeguarding", who="cara")
        directory.add_organisation(
            session, "Exampletown Homes", kind="agency", domains=["homes.example.gov.uk"]
        )
    # When the office refers the case (from its Sent folder) and the organisation replies
    referral = make_message(
        sender="casework@office.example.org.uk",
        to="repairs@homes.example.gov.uk",
        subject=f"Repairs for Mary Jones [{reference}]",
        body="Please repair the roof.",
        message_id="<referral-1@office.example.org.uk>",
        date=utcnow() - timedelta(minutes=30),
    )
    assert feed(database, office, referral, folder="Sent") == case.id
    answer = make_message(
        sender="repairs@homes.example.gov.uk",
        subject=f"Re: Repairs for Mary Jones [{reference}]",
        body="We will repair it on Monday.",
        in_reply_to="<referral-1@office.example.org.uk>",
        date=utcnow() - timedelta(minutes=5),
    )
    assert feed(database, office, answer) == case.id
    page = client.get(path)
    assert page.status_code == 200
    html = page.text
    for milestone in (
        "Received",
        "With a caseworker",
        "Referred to Exampletown Homes",
        "Reply received from Exampletown Homes",
    ):
        assert milestone in html, milestone
    assert page.headers["cache-control"] == "no-store"
    # Never notes, tags, staff or the constituent's own details
    for secret in ("brother-in-law", "safeguarding", "Cara", "Mary", MARY, "EX1 2AB", "roof"):
        assert secret not in html, secret
    # And closing shows as the last step
    with database.session() as session:
        case = cases.get(session, reference)
        casework.close(session, case, who=worker)
    assert "Closed" in client.get(path).text.split("<h2>Now</h2>", 1)[1].split("</div>", 1)[0]


def test_the_status_routes_are_declared_without_deprecated_parameter_styles():
    # When an app with only the status page's routes is built, deprecation warnings are errors
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        app = Litestar(route_handlers=[status_page.router])
    # Then it was built, with the link's token a path parameter of the page
    [route] = [r for r in app.routes if r.path == "/status/{token:str}"]
    assert list(route.path_parameters) == ["token"]


def test_a_status_link_cannot_show_another_case_tampered_expired_or_after_erasure(
    client, office, database, smtp_server
):
    mine = submit(client, office)
    path = _link_path(smtp_server)
    other = submit(client, office, email="sam@example.com", name="Sam Other")
    token = path.rsplit("/", 1)[1]
    case_id, issued, signature = token.split(".")
    with database.session() as session:
        other_id = cases.get(session, other).id
        mine_case = cases.get(session, mine)
    refused = {
        "tampered": f"{case_id}.{issued}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        "other case": f"{other_id}.{issued}.{signature}",
        "later issue date": f"{case_id}.{int(issued) + 60}.{signature}",
        "garbage": "not-a-token",
        "padded id": f"0{case_id}.{issued}.{signature}",
    }
    for why, bad in refused.items():
        page = client.get(f"/status/{bad}")
        assert page.status_code == 404, why
        assert "This link does not work" in page.text and mine not in page.text, why
        assert 'action="/status/new"' in page.text
    assert client.get(path).status_code == 200
    # An expired link says so, and offers a new one
    with database.session() as session:
        nonce = session.get(StatusLink, mine_case.id).nonce  # type: ignore[union-attr]
    old = status_links.token(office, mine_case.id, nonce, utcnow() - timedelta(days=91))
    expired = client.get(f"/status/{old}")
    assert expired.status_code == 410 and "This link has expired" in expired.text
    assert mine not in expired.text
    # A new nonce voids every earlier link
    with database.session() as session:
        fresh = status_links.reissue(session, office, mine_case, utcnow())
    assert fresh is not None and client.get(fresh.removeprefix(BASE)).status_code == 200
    assert client.get(path).status_code == 404
    # And erasing a case (its row deleted) leaves its links showing nothing
    with database.session() as session:
        bare = cases.open_case(
            session,
            prefix="MB",
            subject="x",
            subject_key="x",
            constituent_id=None,
            opened_at=utcnow(),
        )
        link = status_links.link_for(session, office, bare, utcnow())
    assert link is not None and client.get(link.removeprefix(BASE)).status_code == 200
    with database.session() as session:
        session.execute(delete(Case).where(Case.id == bare.id))
    assert client.get(link.removeprefix(BASE)).status_code == 404
    with database.session() as session:
        assert session.get(StatusLink, bare.id) is None


def test_a_new_link_by_email_gives_the_same_answer_matched_or_not(
    client, office, database, smtp_server
):
    reference = submit(client, office)
    first = _link_path(smtp_server)
    smtp_server.clear()

    def ask(email: str, ref: str) -> Any:
        page = client.get("/status/new")
        return client.post(
            "/status/new",
            data={"email": email, "reference": ref, "_csrf_token": csrf_token(page.text)},
        )

    matched = ask(MARY.upper(), reference.lower())
    wrong_email = ask("someone@example.com", reference)
    wrong_case = ask(MARY, "MB-2026-999999")
    texts = [
        r.text.replace(MARY, "@").replace("someone@example.com", "@")
        for r in (matched, wrong_email, wrong_case)
    ]
    assert [r.status_code for r in (matched, wrong_email, wrong_case)] == [200, 200, 200]
    assert texts[0] == texts[1] == texts[2]
    # Only the matching request sent a link, and the earlier link no longer works
    [sent] = smtp_server.received
    assert sent.rcpt_tos == (MARY,)
    fresh = status_link(sent.message().get_body(("plain",)).get_content()).removeprefix(BASE)
    assert client.get(fresh).status_code == 200
    assert client.get(first).status_code == 404
    # Badly formed input is answered beside the field; too many requests are refused
    bad = ask("mary", "123")
    assert bad.status_code == 400 and 'id="reference-error"' in bad.text
    assert ask(MARY, reference).status_code == 200
    assert ask(MARY, reference).status_code == 429
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ConstituentEmail)) == 1


def test_the_office_checks_its_screener_file_from_the_command_line(tmp_path, screener_file):

    from mailbag.cli import main

    runner = CliRunner()
    good = runner.invoke(main, ["screener", "check", str(screener_file)])
    assert good.exit_code == 0
    routes = "4 questions, routes: council, emergency, outside; it is ready to use"
    assert good.output == f"{screener_file}: {routes}\n"
    broken = tmp_path / "broken.toml"
    broken.write_text(COUNCIL_SCREENER.replace('id = "housing"', 'id = "Housing!"'))
    bad = runner.invoke(main, ["screener", "check", str(broken)])
    assert bad.exit_code == 2
    assert bad.output.startswith(f"mailbag: error: {broken}: questions[topic].answers[1].id: ")
    copied = runner.invoke(main, ["screener", "default"])
    assert copied.output == DEFAULT_FILE.read_text(encoding="utf-8")


def test_without_a_secret_nothing_is_signed_with_a_key_anyone_could_work_out(tmp_path) -> None:
    server = Settings(data_dir=tmp_path, database_url="postgresql://db.example/office")
    with pytest.raises(SettingsError, match="MAILBAG_SECRET_KEY"):
        formstamp.issue(server, utcnow())
    # The embedded office makes its own key once: every part of it signs with that one
    from mailbag.wiring import with_secret

    embedded = with_secret(Settings(data_dir=tmp_path))
    assert len(embedded.secret_key) >= 32
    assert with_secret(Settings(data_dir=tmp_path)).secret_key == embedded.secret_key
    stamp = formstamp.issue(embedded, utcnow() - timedelta(minutes=1))
    assert formstamp.check(embedded, stamp, utcnow()) == formstamp.Stamp.OK
    other = Settings(data_dir=tmp_path, secret_key="another secret key, long enough to sign")
    assert formstamp.check(other, stamp, utcnow()) != formstamp.Stamp.OK
