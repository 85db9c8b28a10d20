"""A sample office for web tests: cases in two wards, a safeguarding case, three users."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from litestar.testing import TestClient
from sqlalchemy import select

from crm.db import Database
from crm.models import Case, Message
from crm.tags.service import set_manual
from crm.users.service import create_user
from inbox.message import Source
from inbox.pipeline import Pipeline
from tagging.axes import Axis
from tests.support.mail import make_message

PASSWORD = "correct horse battery"
CASEWORKER = "cara@office.example.org.uk"
MANAGER = "max@office.example.org.uk"
COUNCILLOR = "cllr.ward@council.example.org.uk"
_uids = itertools.count(1)
_TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Office:
    """References of the sample cases, by what they are for."""

    in_ward: str
    other_ward: str
    safeguarding: str
    hostile: str


def letter(body: str, postcode: str, name: str = "Mary Jones") -> str:
    signature = f"Kind regards,\n{name}\n12 Acacia Avenue\nExampletown\n{postcode}\n"
    return f"Dear Jane,\n\n{body}\n\n{signature}"


def feed(database: Database, pipeline: Pipeline, raw: bytes) -> str:
    """Ingest one message; the reference of the case it landed on."""
    with database.session() as session:
        outcome = pipeline.process(session, raw, Source("INBOX", uidvalidity=7, uid=next(_uids)))
        assert outcome.status == "stored", outcome.failure
        message = session.scalar(select(Message).order_by(Message.id.desc()).limit(1))
        assert message is not None and message.case_id is not None
        case = session.get(Case, message.case_id)
        assert case is not None
        return case.reference


HOSTILE_HTML = (
    "<p>Hello<script>window.__pwned = 1; alert('script')</script></p>"
    '<img src="x" onerror="window.__pwned = 2; alert(\'onerror\')">'
    '<img src="https://tracker.example.net/pixel.gif">'
    '<a href="javascript:alert(1)">click</a><svg onload="alert(\'svg\')"></svg>'
    "<style>body{display:none}</style><p>Please help with my rent.</p>"
)


def hostile_message() -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = '"<script>alert(1)</script> Evil" <evil@example.com>'
    msg["To"] = "casework@office.example.org.uk"
    msg["Subject"] = "<img src=x onerror=alert('subject')> rent arrears"
    msg["Message-ID"] = "<hostile-1@example.com>"
    msg["Date"] = "Mon, 02 Nov 2026 10:00:00 +0000"
    msg.set_content(letter("<script>alert('text')</script> rent arrears", "EX1 3CD"))
    msg.add_alternative(HOSTILE_HTML, subtype="html")
    return msg.as_bytes()


def build_office(database: Database, pipeline: Pipeline) -> Office:
    in_ward = feed(
        database,
        pipeline,
        make_message(
            subject="Damp and mould in my flat", body=letter("Black mould everywhere.", "EX1 2AB")
        ),
    )
    other = feed(
        database,
        pipeline,
        make_message(
            sender="Sam Other <sam@example.com>",
            subject="Bins not collected",
            body=letter("The bins were missed again.", "EX9 9ZZ", "Sam Other"),
        ),
    )
    guarded = feed(
        database,
        pipeline,
        make_message(
            sender="Pat Private <pat@example.com>",
            subject="A private matter",
            body=letter("Something private happened.", "EX1 4EF", "Pat Private"),
        ),
    )
    hostile = feed(database, pipeline, hostile_message())
    with database.session() as session:
        set_manual(session, guarded, Axis.SENSITIVITY, "safeguarding", who="test")
        create_user(session, CASEWORKER, PASSWORD, role="caseworker", name="Cara Worker")
        create_user(session, MANAGER, PASSWORD, role="office_manager", name="Max Manager")
        create_user(
            session, COUNCILLOR, PASSWORD, role="councillor", name="Cllr Ward", wards=["EX1"]
        )
    return Office(in_ward, other, guarded, hostile)


def csrf_token(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "no CSRF token in the page"
    return found[1]


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> None:  # type: ignore[type-arg]
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": email, "password": password, "_csrf_token": csrf_token(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]


def post_form(client: TestClient, url: str, data: dict[str, str], page_url: str) -> object:  # type: ignore[type-arg]
    """Post a form as a browser would: with the token from the page that shows it."""
    token = csrf_token(client.get(page_url).text)
    return client.post(url, data={**data, "_csrf_token": token}, follow_redirects=False)
