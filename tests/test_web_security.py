"""Web security, tested by trying to break it: who sees what, forged posts, fixation, stored XSS.

- The access matrix: four people (office manager, caseworker, a councillor of ward A and one
  of ward B) x four cases (ordinary in ward A, ordinary in ward B, safeguarding, special
  category, the last two living in ward A) x six ways in (the list, a search, the API list,
  the API case, the case's own address, the weekly review workbook).
- CSRF: every POST route the application has (read from the app, so new routes are covered
  without touching this file) refuses a post without a token and one with a forged token,
  while the same post with the page's token gets through to the route.
- Session fixation: a valid session cookie planted before sign-in is replaced at sign-in and
  is still signed out afterwards.
- Stored XSS: script, attribute break-out, `javascript:` and template-injection payloads in
  every field that reaches a page come back as text, never as markup.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from crm.db import Database
from crm.models import Attachment, Case, Constituent, Message
from crm.outgoing.models import Organisation
from crm.settings import Settings
from crm.tags.service import set_manual
from crm.types import utcnow
from crm.users.service import create_user
from inbox.pipeline import Pipeline
from tagging.axes import SAFEGUARDING, SPECIAL_CATEGORY, Axis
from tests.support import databases
from tests.support.mail import make_message
from tests.support.web import PASSWORD, csrf_token, feed, letter, post_form, sign_in
from web.app import create_app

SECRET = "security-test-secret-" + "x" * 32
OFFICE = "casework@office.example.org.uk"
PEOPLE = {
    "manager": ("max@office.example.org.uk", "office_manager", ()),
    "caseworker": ("cara@office.example.org.uk", "caseworker", ()),
    "councillor_a": ("cllr.a@council.example.org.uk", "councillor", ("EX1",)),
    "councillor_b": ("cllr.b@council.example.org.uk", "councillor", ("EX9",)),
}
SPARE = "spare.manager@office.example.org.uk"  # signs out during the CSRF test


@dataclass(frozen=True)
class SampleCase:
    """A case with words that belong to it alone, to look for in pages and workbooks."""

    key: str
    name: str
    postcode: str
    word: str
    sensitivity: str | None = None


CASES = (
    SampleCase("ward_a", "Alice Quenby", "EX1 2AB", "marmalade"),
    SampleCase("ward_b", "Bruno Wexcombe", "EX9 9ZZ", "periwinkle"),
    SampleCase("safeguarding", "Sally Thornaby", "EX1 4EF", "tangerine", SAFEGUARDING),
    SampleCase("special", "Simon Yarrowby", "EX1 5GH", "lavender", SPECIAL_CATEGORY),
)
SEES = {
    "manager": {"ward_a", "ward_b", "safeguarding", "special"},
    "caseworker": {"ward_a", "ward_b"},
    "councillor_a": {"ward_a"},
    "councillor_b": {"ward_b"},
}
CHANNELS = ("list", "search", "api_list", "api_case", "case_page", "weekly_review")


def make_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, office_addresses=frozenset({OFFICE}))


def add_people(database: Database) -> None:
    with database.session() as session:
        for email, role, wards in PEOPLE.values():
            create_user(session, email, PASSWORD, role=role, name=email.split("@")[0], wards=wards)
        create_user(session, SPARE, PASSWORD, role="office_manager", name="Spare")


def add_cases(database: Database, pipeline: Pipeline) -> dict[str, str]:
    """The four sample cases, written three days ago (inside last week's review)."""
    when = utcnow() - timedelta(days=3)
    references: dict[str, str] = {}
    for sample in CASES:
        raw = make_message(
            sender=f"{sample.name} <{sample.word}@example.com>",
            subject=f"Help with {sample.word}",
            body=letter(
                f"Please help: the {sample.word} problem again.", sample.postcode, sample.name
            ),
            date=when,
        )
        references[sample.key] = feed(database, pipeline, raw)
    with database.session() as session:
        for sample in CASES:
            if sample.sensitivity:
                set_manual(
                    session, references[sample.key], Axis.SENSITIVITY, sample.sensitivity, who="t"
                )
    return references


# --- the sample office, once per database kind for the matrix and CSRF tests ---------------


@dataclass
class Office:
    app: Litestar
    references: dict[str, str]
    clients: dict[str, TestClient]  # type: ignore[type-arg]
    seen: dict[tuple[str, str], tuple[int, str, bytes]] = field(default_factory=dict)

    def get(self, role: str, url: str) -> tuple[int, str, bytes]:
        """One GET per person and address for the whole module (pages do not change)."""
        if (role, url) not in self.seen:
            response = self.clients[role].get(url, follow_redirects=False)
            assert response.status_code < 500, f"{role} {url}: {response.text[:300]}"
            self.seen[role, url] = (response.status_code, response.text, response.content)
        return self.seen[role, url]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def office_database(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A database of its own (not the per-test one, which other tests empty as they go)."""
    if request.param == "sqlite":
        database = databases.sqlite_copy(sqlite_template, tmp_path_factory.mktemp("security"))
        yield database
        database.dispose()
        return
    url = databases.create_postgres_database()
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()
        databases.drop_postgres_database(url)


@pytest.fixture(scope="module")
def office(office_database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    settings = make_settings(tmp_path_factory.mktemp("security-data"))
    add_people(office_database)
    references = add_cases(office_database, Pipeline(settings))
    app = create_app(settings, office_database, secret_key=SECRET)
    clients = {role: TestClient(app) for role in PEOPLE}
    for role, client in clients.items():
        client.__enter__()
        sign_in(client, PEOPLE[role][0])
    try:
        yield Office(app, references, clients)
    finally:
        for client in clients.values():
            client.__exit__(None, None, None)


# --- the access matrix -----------------------------------------------------------------------


def sees(office: Office, role: str, sample: SampleCase, channel: str) -> bool:
    """Whether `role` learns of the case through `channel`; refusals must be the right ones."""
    reference = office.references[sample.key]
    councillor = role.startswith("councillor")
    home = "/councillor" if councillor else "/"
    if channel in ("list", "search"):
        url = home if channel == "list" else f"{home}?q={sample.word}"
        status, text, _ = office.get(role, url)
        assert status == 200, (role, url, status)
        return reference in text or sample.name in text
    if channel == "api_list":
        status, text, _ = office.get(role, "/api/cases")
        assert status == 200
        return reference in text or sample.name in text
    if channel in ("api_case", "case_page"):
        url = f"/api/cases/{reference}" if channel == "api_case" else f"/cases/{reference}"
        status, text, _ = office.get(role, url)
        assert status in (200, 404), (role, url, status)
        assert status == 200 or sample.name not in text
        return status == 200
    status, _, content = office.get(role, "/review/weekly.xlsx")
    if councillor:
        assert status == 403, f"a councillor downloaded the weekly review ({status})"
        return False
    assert status == 200, status
    # A withheld restricted row keeps its reference, so look for what describes the case.
    return sample.name in workbook_text(content) or sample.word in workbook_text(content)


def workbook_text(content: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    )


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("sample", CASES, ids=[c.key for c in CASES])
@pytest.mark.parametrize("role", list(PEOPLE))
def test_access_matrix(office: Office, role: str, sample: SampleCase, channel: str) -> None:
    allowed = sample.key in SEES[role] and not (
        channel == "weekly_review" and role.startswith("councillor")
    )
    assert sees(office, role, sample, channel) is allowed, (
        f"{role} {'should' if allowed else 'must not'} see the {sample.key} case by {channel}"
    )


# --- CSRF on every POST route ----------------------------------------------------------------

_PARAMETER = re.compile(r"\{(\w+):(\w+)\}")


def post_routes(app: Litestar) -> list[str]:
    """Every path the application accepts a POST on, sign-out last (it ends the session)."""
    paths = {route.path for route in app.routes if "POST" in getattr(route, "methods", ())}
    return sorted(paths, key=lambda path: (path == "/sign-out", path))


def fill(path: str, reference: str) -> str:
    """A concrete address: a real case, and ids and names that match nothing."""

    def value(match: re.Match[str]) -> str:
        name, kind = match.groups()
        if name == "reference":
            return reference
        return "999999" if kind == "int" else "no-such-thing"

    return _PARAMETER.sub(value, path)


def copy_of(office: Office, role: str) -> TestClient:  # type: ignore[type-arg]
    """A new client carrying `role`'s cookies: what one posts cannot disturb the others."""
    client = TestClient(office.app)
    for cookie in office.clients[role].cookies.jar:
        client.cookies.set(cookie.name, cookie.value or "", domain=cookie.domain)
    return client


def test_every_post_route_refuses_a_missing_or_forged_csrf_token(office: Office) -> None:
    routes = post_routes(office.app)
    assert {"/sign-in", "/sign-out", "/cases/{reference:str}/notes"} <= set(routes)
    problems: list[str] = []
    for path in routes:
        url = fill(path, office.references["ward_a"])
        with copy_of(office, "manager") as client:
            token = csrf_token(client.get("/").text)
            missing = client.post(url, data={"body": "x"}, follow_redirects=False)
            forged = client.post(
                url, data={"body": "x", "_csrf_token": token[::-1]}, follow_redirects=False
            )
            stolen = client.post(
                url,
                data={"body": "x", "_csrf_token": token},
                cookies={"mailbag_csrf": "another-browser"},
                follow_redirects=False,
            )
        for what, response in (("no token", missing), ("forged", forged), ("stolen", stolen)):
            if response.status_code != 403:
                problems.append(f"POST {url} with {what} answered {response.status_code}")
        reached = reaches_with_token(office, path, url)
        if reached is not None:
            problems.append(reached)
    assert not problems, "\n".join(problems)


def reaches_with_token(office: Office, path: str, url: str) -> str | None:
    """The control: with the page's token someone gets past CSRF (so the 403s were CSRF's)."""
    answers = []
    for role in ("manager", "councillor_a", "caseworker"):
        if path == "/sign-out":
            client = TestClient(office.app)
            client.__enter__()
            sign_in(client, SPARE)
        else:
            client = copy_of(office, role).__enter__()
        try:
            token = csrf_token(client.get("/sign-in" if path == "/sign-in" else "/").text)
            response = client.post(url, data={"_csrf_token": token}, follow_redirects=False)
        finally:
            client.__exit__(None, None, None)
        if response.status_code >= 500:
            return f"POST {url} with a valid token and an empty form: {response.status_code}"
        if response.status_code != 403:
            return None
        answers.append(f"{role}: 403")
    return f"POST {url} refused everyone even with a valid token ({', '.join(answers)})"


# --- session fixation ------------------------------------------------------------------------


def test_a_session_cookie_planted_before_sign_in_is_replaced_and_stays_signed_out(
    office: Office,
) -> None:
    # Given a validly signed session cookie that is not signed in (the flash after a sign-out)
    with TestClient(office.app) as attacker:
        sign_in(attacker, SPARE)
        post_form(attacker, "/sign-out", {}, "/")
        planted = attacker.cookies.get("mailbag_session")
        assert planted, "signing out should leave a (signed-out) session cookie"
        assert attacker.get("/", follow_redirects=False).status_code == 303

    # When a victim's browser carries it and the victim signs in
    with TestClient(office.app) as victim:
        victim.cookies.set("mailbag_session", planted, domain="testserver.local")
        sign_in(victim, PEOPLE["caseworker"][0])
        after = victim.cookies.get("mailbag_session")
        assert victim.get("/").status_code == 200

        # Then the cookie changed at sign-in, and each sign-in gets a new value
        assert after and after != planted
        sign_in(victim, PEOPLE["caseworker"][0])
        assert victim.cookies.get("mailbag_session") not in (after, planted)

    # And whoever kept the planted cookie is still signed out
    with TestClient(office.app) as attacker:
        attacker.cookies.set("mailbag_session", planted, domain="testserver.local")
        assert attacker.get("/", follow_redirects=False).status_code == 303
        assert attacker.get("/api/cases").status_code == 401
        case_page = attacker.get(f"/cases/{office.references['ward_a']}", follow_redirects=False)
        assert case_page.status_code == 303


# --- stored XSS ------------------------------------------------------------------------------


def payload(key: str) -> str:
    """Script, attribute break-out, javascript: URL and template injection, marked by `key`."""
    return (
        f'{key}<script>alert("{key}")</script>"><img src=x onerror=alert("{key}")>'
        f"<a href=\"javascript:alert('{key}')\">j{key}</a> t{key}{{{{7*7}}}}"
    )


FIELDS = (
    "subject",
    "body",
    "name",
    "note",
    "reason",
    "filename",
    "organisation",
)


class PageAudit(HTMLParser):
    """Reads a page as a browser would and notes anything from a payload that would run."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>: an event handler")
            if name in ("href", "src", "action", "formaction") and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>: a javascript: URL")
            self.text.append(value or "")
        if tag == "img" and values.get("src") == "x":
            self.problems.append("<img src=x>: a planted image")
        if tag == "script":
            self._in_script = True
            if "src" not in values:
                self.problems.append("an inline <script>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"script content {data[:60]!r}")
        self.text.append(data)


def audit(html: str) -> PageAudit:
    parser = PageAudit()
    parser.feed(html)
    parser.close()
    return parser


def hostile_mail(postcode: str) -> bytes:
    """Constituent mail with a payload in the subject, body, sender's name and a filename.

    The sender's display name becomes the constituent's name (a signature line full of
    markup is not taken for a name), so one payload tests both.
    """
    message = EmailMessage()
    message["From"] = "PLACEHOLDER <hostile@example.com>"
    message["To"] = OFFICE
    message["Subject"] = payload("xsubject")
    message["Message-ID"] = "<hostile-security@example.com>"
    message["Date"] = format_datetime(utcnow() - timedelta(days=2))
    message.set_content(
        f"Dear Jane,\n\n{payload('xbody')}\n\nKind regards,\nJo Bloggs\n"
        f"12 Acacia Avenue\nExampletown\n{postcode}\n"
    )
    message.add_attachment(
        b"%PDF-1.4 test", maintype="application", subtype="pdf", filename=payload("xfilename")
    )
    # A quoted display name written by hand: the library would fold this one unquoted.
    quoted = payload("xname").replace("\\", "\\\\").replace('"', '\\"')
    return message.as_bytes().replace(b"From: PLACEHOLDER", f'From: "{quoted}"'.encode(), 1)


@pytest.fixture
def hostile(database: Database, settings: Settings) -> Iterator[tuple[TestClient, str]]:  # type: ignore[type-arg]
    """A case carrying a payload in every field, and a manager's client to read it with."""
    add_people(database)
    reference = feed(database, Pipeline(settings), hostile_mail("EX1 7QQ"))
    app = create_app(settings, database, secret_key=SECRET)
    with TestClient(app) as client:
        sign_in(client, PEOPLE["manager"][0])
        url = f"/cases/{reference}"
        post_form(client, f"{url}/notes", {"body": payload("xnote"), "pinned": "1"}, url)
        post_form(
            client,
            f"{url}/tags",
            {"axis": "urgency", "value": "high", "reason": payload("xreason")},
            url,
        )
        post_form(
            client,
            "/manage/directory/new",
            {
                "name": payload("xorganisation"),
                "kind": "department",
                "emails": "xss@hostile.gov.uk",
                "grace_days": "21",
                "chases": "auto",
            },
            "/manage/directory/new",
        )
        yield client, reference


def test_stored_xss_payloads_in_every_field_are_shown_as_text(
    hostile: tuple[TestClient, str],  # type: ignore[type-arg]
    database: Database,
) -> None:
    client, reference = hostile
    # Given every payload really was stored (else the test would prove nothing)
    with database.session() as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
        assert case is not None
        person = session.get(Constituent, case.constituent_id)
        message = session.scalar(select(Message).where(Message.case_id == case.id))
        organisation = session.scalar(
            select(Organisation).where(Organisation.name.contains("xorganisation"))
        )
        filenames = list(session.scalars(select(Attachment.filename)))
        assert message is not None and "xsubject" in (message.subject or "")
        assert "xbody" in (message.body_text or "")
        assert person is not None and payload("xname") == person.name, person.name
        assert organisation is not None, "the organisation form did not store the payload"
        assert any("xfilename" in name for name in filenames), filenames
        organisation_id = organisation.id

    # When each page that shows them is fetched (by the manager, and a councillor of the ward)
    pages = [
        "/",
        "/?q=xbody",
        f"/cases/{reference}",
        "/admin/not-casework",
        "/admin/audit",
        "/review",
        "/chases",
        "/campaigns",
        "/manage/directory",
        f"/manage/directory/{organisation_id}",
        f"/sign-in?next=/{payload('xnext')}",
    ]
    shown: dict[str, str] = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, f"{url}: {response.status_code}"
        shown[url] = response.text
    with TestClient(client.app) as councillor:
        sign_in(councillor, PEOPLE["councillor_a"][0])
        for url in ("/councillor", f"/cases/{reference}"):
            response = councillor.get(url)
            assert response.status_code == 200, f"councillor {url}: {response.status_code}"
            shown[f"councillor {url}"] = response.text

    # Then nothing of a payload is live markup, and template syntax is not evaluated
    for url, html in shown.items():
        page = audit(html)
        assert not page.problems, f"{url}: {page.problems}"
        for key in (*("x" + f for f in FIELDS), "xnext"):
            assert f"t{key}49" not in html, f"{url}: {{{{7*7}}}} was evaluated for {key}"

    # And each field's payload is on the case page (or its own page) as plain text
    text = {url: "".join(audit(html).text) for url, html in shown.items()}
    case_text = text[f"/cases/{reference}"]
    for key in ("xsubject", "xbody", "xname", "xnote", "xreason"):
        assert f'{key}<script>alert("{key}")</script>' in case_text, f"{key} not shown as text"
    assert "xname" in text["/"], "the constituent's name is not on the list"
    # Attachment names are stored (checked above) but no page lists them yet; the audit of
    # every page above covers them the day one does.
    organisation_text = text[f"/manage/directory/{organisation_id}"]
    assert '<script>alert("xorganisation")</script>' in organisation_text
    assert "xorganisation" in text["/manage/directory"]
    assert "xorganisation" in case_text, "the referral form should offer the organisation"
    assert "xsubject" in text["/"] and "xsubject" in text["councillor /councillor"]
