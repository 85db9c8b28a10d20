"""The web view through Litestar's test client: every route, the access rules, CSRF, headers."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from crm import checkpoints
from crm.audit import AuditEntry
from crm.db import Database
from crm.models import Case, TimelineEntry
from crm.notes import CaseNote
from crm.settings import Settings
from crm.users.models import LoginAttempt, User
from crm.users.service import MAX_FAILURES_PER_ACCOUNT
from inbox.pipeline import Pipeline
from tests.support.web import (
    CASEWORKER,
    COUNCILLOR,
    MANAGER,
    Office,
    build_office,
    csrf_token,
    feed,
    post_form,
    sign_in,
)
from web.app import create_app
from web.email_html import sanitise
from web.markup import options

SECRET = "test-secret-key-" + "x" * 32


@pytest.fixture
def office(database: Database, pipeline: Pipeline) -> Office:
    return build_office(database, pipeline)


@pytest.fixture
def client(database: Database, sending_settings: Settings, office: Office) -> Iterator[TestClient]:  # type: ignore[type-arg]
    retried: list[object] = []
    app = create_app(
        sending_settings,
        database,
        secret_key=SECRET,
        retry_quarantine=lambda ids: retried.append(ids) or "0 retried",
    )
    with TestClient(app) as test_client:
        yield test_client


def listed(client: TestClient, url: str = "/") -> str:  # type: ignore[type-arg]
    response = client.get(url)
    assert response.status_code == 200, response.text[:300]
    return response.text


# --- signing in ------------------------------------------------------------------------------


def test_pages_send_a_signed_out_person_to_sign_in_and_the_api_answers_401(client):
    for url in ("/", "/cases/MB-2026-000001", "/councillor", "/admin/quarantine"):
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/sign-in?next=")
    assert client.get("/api/cases").status_code == 401
    assert client.get("/api/schema/openapi.json").status_code == 401


def test_a_wrong_password_is_refused_with_one_vague_line(client, database):
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={
            "email": CASEWORKER,
            "password": "wrong password!",
            "_csrf_token": csrf_token(page.text),
        },
    )
    assert response.status_code == 400
    assert "do not match" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303
    with database.session() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert "sign_in_failed" in actions


def test_sign_in_is_rate_limited_per_account(client, database):
    token = csrf_token(client.get("/sign-in").text)
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        client.post(
            "/sign-in", data={"email": MANAGER, "password": "guess guess", "_csrf_token": token}
        )
    # Then even the right password waits.
    response = client.post(
        "/sign-in",
        data={"email": MANAGER, "password": "correct horse battery", "_csrf_token": token},
    )
    assert response.status_code == 429
    with database.session() as session:
        assert session.scalar(select(func.count(LoginAttempt.id))) == MAX_FAILURES_PER_ACCOUNT


def test_signing_in_starts_a_new_session(client):
    client.cookies.set("mailbag_session", "planted-by-an-attacker", domain="testserver.local")
    sign_in(client, CASEWORKER)
    after = [c.value for c in client.cookies.jar if c.name == "mailbag_session"]
    assert after and "planted-by-an-attacker" not in after
    assert client.get("/").status_code == 200


def test_signing_out_ends_the_session_even_for_a_copied_cookie(client):
    sign_in(client, CASEWORKER)
    copied = client.cookies.get("mailbag_session")
    response = post_form(client, "/sign-out", {}, "/")
    assert response.status_code == 303  # type: ignore[attr-defined]
    client.cookies.clear()
    client.cookies.set("mailbag_session", copied, domain="testserver.local")
    assert client.get("/", follow_redirects=False).status_code == 303


# --- CSRF and headers ------------------------------------------------------------------------


def test_a_form_post_without_or_with_a_forged_token_is_refused(client, office, database):
    sign_in(client, CASEWORKER)
    url = f"/cases/{office.in_ward}/notes"
    assert client.post(url, data={"body": "no token"}).status_code == 403
    assert client.post(url, data={"body": "forged", "_csrf_token": "forged"}).status_code == 403
    with database.session() as session:
        assert session.scalar(select(func.count(CaseNote.id))) == 0


def test_every_response_carries_a_strict_content_security_policy(client, office):
    for response in (client.get("/sign-in"), client.get("/static/app.css"), client.get("/nope")):
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp and "img-src 'self' data:" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"]


# --- the case list and the case page ---------------------------------------------------------


def test_the_case_list_shows_tags_filters_searches_and_pages(client, office):
    sign_in(client, CASEWORKER)
    page = listed(client)
    assert office.in_ward in page and office.other_ward in page
    assert 'class="tag urgency"' in page
    assert office.in_ward not in listed(client, "/?q=bins")
    assert office.other_ward in listed(client, "/?q=bins")
    assert office.other_ward in listed(client, "/?q=sam@example")
    assert office.other_ward in listed(client, "/?q=EX9")
    assert office.in_ward in listed(client, "/?q=black+mould")
    assert office.in_ward in listed(client, f"/?q={office.in_ward.lower()}")
    assert office.other_ward not in listed(client, "/?ward=EX1")
    assert office.in_ward not in listed(client, "/?status=closed")
    chosen = listed(client, "/?urgency=normal&sort=oldest&page=1")
    assert office.in_ward in chosen and '<option value="normal" selected>normal</option>' in chosen
    assert office.in_ward in listed(client, "/?owner=none")


def test_the_case_page_shows_constituent_tags_with_reasons_and_timeline(client, office):
    sign_in(client, CASEWORKER)
    page = listed(client, f"/cases/{office.in_ward}")
    assert "Mary Jones" in page and "EX1 2AB" in page and "mary.jones@example.com" in page
    assert "Black mould everywhere." in page
    assert "Reply due" in page
    assert "email in" in listed(client, f"/cases/{office.in_ward}?kind=email_in")
    assert client.get("/cases/MB-1999-000999").status_code == 404


def test_times_are_shown_on_the_office_clock_in_summer(client, office, database):
    # Given a case whose last letter came at 23:30 UTC on 1 July (00:30 on 2 July in London)
    late = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
    with database.session() as session:
        case = session.scalars(select(Case).where(Case.reference == office.in_ward)).one()
        case.last_activity_at = late
        entry = session.scalars(
            select(TimelineEntry).where(TimelineEntry.case_id == case.id).limit(1)
        ).one()
        entry.occurred_at = late
    sign_in(client, CASEWORKER)
    # Then the list and the timeline say the office's time, not UTC's
    assert "02 Jul 2026 00:30" in listed(client, f"/?q={office.in_ward}")
    page = listed(client, f"/cases/{office.in_ward}")
    assert "02 Jul 2026 00:30" in page and "01 Jul 2026 23:30" not in page


def test_stored_xss_in_subject_names_and_bodies_is_escaped(client, office):
    sign_in(client, CASEWORKER)
    for page in (listed(client), listed(client, f"/cases/{office.hostile}")):
        assert "<script>alert" not in page
        assert "<img src=x onerror" not in page
        assert "&lt;img src=x onerror" in page
    page = listed(client, f"/cases/{office.hostile}")
    assert "onerror" not in page.replace("&lt;img src=x onerror", "")
    assert "tracker.example.net" not in page
    assert "javascript:" not in page


def test_option_lists_escape_their_labels_and_mark_the_chosen_value():
    made = options([(7, 'Al "<b>"'), (12, "Bo & Co"), "plain"], "12")
    assert made == (
        '<option value="7">Al &#34;&lt;b&gt;&#34;</option>'
        '<option value="12" selected>Bo &amp; Co</option>'
        '<option value="plain">plain</option>'
    )
    assert ">plain</option>" in options(["plain"], None) and "selected" not in options(["a"], "")


def test_sanitised_email_html_keeps_text_and_drops_scripts_handlers_and_remote_images():
    clean = sanitise(
        '<p onclick="x()">Hi<script>alert(1)</script></p><img src="http://t.example/p.gif">'
        '<img src="data:image/png;base64,AAAA"><img src="x" onerror="alert(1)">'
        '<a href="javascript:alert(1)">a</a><a href="https://ok.example">b</a><style>*{}</style>'
    )
    assert "<script" not in clean and "onerror" not in clean and "onclick" not in clean
    assert "t.example" not in clean and "javascript" not in clean and "<style" not in clean
    assert 'src="data:image/png;base64,AAAA"' in clean and 'href="https://ok.example"' in clean
    assert "Hi" in clean


# --- actions ---------------------------------------------------------------------------------


def test_a_caseworker_adds_and_pins_a_note_assigns_tags_and_closes(client, office, database):
    sign_in(client, CASEWORKER)
    case_url = f"/cases/{office.in_ward}"
    post_form(
        client,
        f"{case_url}/notes",
        {"body": "Called her back <b>today</b>", "pinned": "1"},
        case_url,
    )
    with database.session() as session:
        cara = session.scalar(select(User).where(User.email == CASEWORKER))
        assert cara is not None
        cara_id = cara.id
    post_form(client, f"{case_url}/assign", {"owner": str(cara_id)}, case_url)
    post_form(
        client, f"{case_url}/tags", {"axis": "urgency", "value": "high", "reason": "damp"}, case_url
    )
    post_form(client, f"{case_url}/status", {"action": "close", "reason": "fixed"}, case_url)
    page = listed(client, case_url)
    assert "Pinned notes" in page and "Called her back &lt;b&gt;today&lt;/b&gt;" in page
    assert "closed" in page and "damp" in page
    with database.session() as session:
        case = session.scalar(select(Case).where(Case.reference == office.in_ward))
        assert case is not None and case.owner_id == cara_id and case.status == "closed"
        kinds = set(
            session.scalars(select(TimelineEntry.kind).where(TimelineEntry.case_id == case.id))
        )
        note = session.scalar(select(CaseNote))
        assert note is not None and note.pinned
    assert {"note", "assigned", "status"} <= kinds
    post_form(client, f"{case_url}/notes/{note.id}/pin", {"pinned": "0"}, case_url)
    post_form(client, f"{case_url}/status", {"action": "reopen"}, case_url)
    with database.session() as session:
        assert session.get(CaseNote, note.id).pinned is False  # type: ignore[union-attr]


def test_merging_two_constituents_moves_the_other_persons_cases(client, office, database):
    sign_in(client, CASEWORKER)
    with database.session() as session:
        keep = session.scalar(select(Case).where(Case.reference == office.in_ward))
        other = session.scalar(select(Case).where(Case.reference == office.other_ward))
        assert keep and other
        other_person = other.constituent_id
    url = f"/cases/{office.in_ward}"
    post_form(client, f"{url}/merge", {"other": f"#{other_person}"}, url)
    with database.session() as session:
        moved = session.scalar(select(Case).where(Case.reference == office.other_ward))
        assert moved is not None and moved.constituent_id == keep.constituent_id


def test_a_letter_is_previewed_before_it_is_sent(client, office):
    sign_in(client, CASEWORKER)
    url = f"/cases/{office.in_ward}"
    response = post_form(
        client, f"{url}/letters/preview", {"template": "holding_reply", "to": "", "note": ""}, url
    )
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "mary.jones@example.com" in response.text and office.in_ward in response.text  # type: ignore[attr-defined]
    assert 'action="/cases/' in response.text and "/letters/send" in response.text  # type: ignore[attr-defined]


def test_not_casework_quarantine_and_audit_pages(client, office, database):
    with database.session() as session:
        checkpoints.hold_unreadable(
            session, "office@imap", "INBOX", 7, [(4242, "FETCH failed: <Internal error>")]
        )
    sign_in(client, MANAGER)
    assert "Not casework" in listed(client, "/admin/not-casework")
    quarantined = listed(client, "/admin/quarantine")
    assert "Quarantine" in quarantined and "Not given by the mail server" in quarantined
    assert "4242" in quarantined and "FETCH failed: &lt;Internal error&gt;" in quarantined
    response = post_form(client, "/admin/quarantine/retry", {}, "/admin/quarantine")
    assert response.status_code == 303  # type: ignore[attr-defined]
    listed(client, f"/cases/{office.safeguarding}")
    audit_page = listed(client, "/admin/audit")
    assert "view_sensitive_case" in audit_page and "sign_in" in audit_page


def test_a_caseworker_cannot_read_the_audit_log(client):
    sign_in(client, CASEWORKER)
    assert client.get("/admin/audit").status_code == 403


# --- who sees what ---------------------------------------------------------------------------


def test_a_councillor_sees_only_their_wards_cases_everywhere(client, office):
    sign_in(client, COUNCILLOR)
    assert client.get("/", follow_redirects=False).headers["location"] == "/councillor"
    mine = listed(client, "/councillor")
    assert office.in_ward in mine
    assert office.other_ward not in mine and office.safeguarding not in mine
    for hidden in (office.other_ward, office.safeguarding):
        assert f'href="/cases/{hidden}"' not in listed(client, f"/councillor?q={hidden}")
        assert client.get(f"/cases/{hidden}").status_code == 404
        assert client.get(f"/api/cases/{hidden}").status_code == 404
        assert hidden not in client.get(f"/api/cases?q={hidden}").text
    # The hostile message gave no postcode: its case is in nobody's ward.
    assert {c["reference"] for c in client.get("/api/cases").json()["cases"]} == {office.in_ward}


def test_a_councillor_reads_their_case_and_sends_a_request_but_cannot_act(client, office, database):
    sign_in(client, COUNCILLOR)
    url = f"/cases/{office.in_ward}"
    page = listed(client, url)
    assert "Black mould everywhere." in page and "request to the office" in page
    post_form(client, f"{url}/notes", {"body": "Please call her", "pinned": "1"}, url)
    with database.session() as session:
        note = session.scalar(select(CaseNote))
        assert note is not None and note.kind == "request" and not note.pinned
    token = csrf_token(page)
    for action in ("assign", "status", "tags", "merge", "letters/preview"):
        assert client.post(f"{url}/{action}", data={"_csrf_token": token}).status_code == 403
    assert client.get("/admin/quarantine").status_code == 403


def test_a_safeguarding_case_is_hidden_from_caseworkers_until_assigned(client, office, database):
    sign_in(client, CASEWORKER)
    assert office.safeguarding not in listed(client)
    assert client.get(f"/cases/{office.safeguarding}").status_code == 404
    assert office.safeguarding not in client.get("/api/cases?q=private").text
    with database.session() as session:
        case = session.scalar(select(Case).where(Case.reference == office.safeguarding))
        cara = session.scalar(select(User).where(User.email == CASEWORKER))
        assert case and cara
        case.owner_id = cara.id
    page = listed(client, f"/cases/{office.safeguarding}")
    assert "Safeguarding" in page and "Views of this case are recorded" in page
    assert client.get(f"/api/cases/{office.safeguarding}").json()["restricted"] is True
    with database.session() as session:
        views = session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "view_sensitive_case")
        )
    assert views == 2


def test_the_api_gives_a_case_with_tags_reasons_and_timeline(client, office):
    sign_in(client, MANAGER)
    body = client.get(f"/api/cases/{office.in_ward}").json()
    assert body["reference"] == office.in_ward and body["postcode"] == "EX1 2AB"
    assert {t["axis"] for t in body["tags"]} >= {
        "issue",
        "urgency",
        "sensitivity",
        "transferability",
    }
    assert body["timeline"][0]["kind"] == "email_in"
    schema = client.get("/api/schema/openapi.json").json()
    assert "/api/cases" in schema["paths"] and "/api/cases/{reference}" in schema["paths"]
    assert not any(path.startswith("/cases") for path in schema["paths"])


def test_clients_of_one_app_stop_in_any_order(database: Database, settings: Settings) -> None:
    """Several clients (each its own lifespan and event loop) on one app, stopped first in
    first out: each shutdown finishes (one lifespan's event emitter kept on the app by
    another's had left a shutdown waiting forever)."""
    app = create_app(settings, database, secret_key=SECRET)
    clients = [TestClient(app) for _ in range(3)]
    for client in clients:
        client.__enter__()
    stopped = threading.Event()

    def stop_all() -> None:
        for client in clients:
            client.__exit__(None, None, None)
        stopped.set()

    threading.Thread(target=stop_all, daemon=True).start()
    assert stopped.wait(30), "a client's shutdown never finished"


# --- attachments -----------------------------------------------------------------------------


PHOTO = bytes(range(256)) * 16  # 4 KB of "JPEG"


def photo_on(
    database: Database, pipeline: Pipeline, sender: str, subject: str, postcode: str
) -> str:
    """A letter with a photograph from this sender; the reference of the case it joined."""
    from email.message import EmailMessage
    from email.utils import parseaddr

    from tests.support.web import letter

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "casework@office.example.org.uk", subject
    msg.set_content(letter("Photographs attached.", postcode, parseaddr(sender)[0]))
    msg.add_attachment(PHOTO, maintype="image", subtype="jpeg", filename="mould – kitchen.jpg")
    return feed(database, pipeline, msg.as_bytes())


def attachment_link(client, reference: str) -> str:  # type: ignore[no-untyped-def]
    page = listed(client, f"/cases/{reference}")
    found = re.search(
        rf'href="(/cases/{reference}/attachments/\d+)" download>mould – kitchen', page
    )
    assert found, "no link to the photograph on the case page"
    assert "image/jpeg, 4 KB" in page
    return found[1]


def test_a_letter_s_attachment_is_listed_and_saved_by_those_who_may_see_the_case(
    client, office, database, pipeline
):
    mary = "Mary Jones <mary.jones@example.com>"
    assert photo_on(database, pipeline, mary, "Re: Damp and mould in my flat", "EX1 2AB") == (
        office.in_ward
    )
    sign_in(client, CASEWORKER)
    link = attachment_link(client, office.in_ward)

    saved = client.get(link)
    assert saved.status_code == 200 and saved.content == PHOTO
    assert saved.headers["content-type"] == "image/jpeg"
    assert saved.headers["content-disposition"] == (
        'attachment; filename="mould _ kitchen.jpg"; '
        "filename*=UTF-8''mould%20%E2%80%93%20kitchen.jpg"
    )
    assert saved.headers["cache-control"] == "private, no-store"
    # The same attachment asked for under another case is not there
    other = link.replace(office.in_ward, office.other_ward)
    assert client.get(other).status_code == 404
    assert client.get(link.rsplit("/", 1)[0] + "/999999").status_code == 404

    # The API lists it with the same link
    [entry] = [
        e for e in client.get(f"/api/cases/{office.in_ward}").json()["timeline"] if e["attachments"]
    ]
    assert entry["attachments"] == [
        {"filename": "mould – kitchen.jpg", "content_type": "image/jpeg", "size": 4096, "url": link}
    ]

    post_form(client, "/sign-out", {}, "/")
    sign_in(client, COUNCILLOR)  # the case is in the councillor's ward
    assert client.get(link).content == PHOTO


def test_a_safeguarding_case_s_attachment_is_hidden_from_others_and_its_download_audited(
    client, office, database, pipeline
):
    pat = "Pat Private <pat@example.com>"
    guarded = photo_on(database, pipeline, pat, "Re: A private matter", "EX1 4EF")
    assert guarded == office.safeguarding
    sign_in(client, MANAGER)
    link = attachment_link(client, guarded)
    for who in (CASEWORKER, COUNCILLOR, MANAGER):
        post_form(client, "/sign-out", {}, "/")
        sign_in(client, who)
        if who != MANAGER:
            assert client.get(link).status_code == 404
    assert client.get(link).content == PHOTO
    with database.session() as session:
        downloads = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "download_sensitive")
        ).all()
    assert downloads == [f"{office.safeguarding} attachment {link.rsplit('/', 1)[1]}"]


def test_a_download_never_carries_a_forged_media_type() -> None:
    from web.downloads import as_download

    response = as_download('a"b\\c.html', "text/html; charset=utf-8", b"<script>")
    assert response.media_type == "application/octet-stream"
    assert response.headers["content-disposition"].startswith('attachment; filename="a_b_c.html"')


def test_a_manager_saves_a_quarantined_message_as_it_came(client, office, database, pipeline):
    from crm.models import QuarantineEntry
    from inbox.message import Source

    garbled = b"\x00\x01 not a message at all \xff"
    with database.session() as session:
        assert pipeline.process(session, garbled, Source("INBOX", 7, 99999)).status == "quarantined"
        entry_id = session.scalars(select(QuarantineEntry.id)).one()
    url = f"/admin/quarantine/{entry_id}/message.eml"
    sign_in(client, CASEWORKER)
    assert url not in listed(client, "/admin/quarantine")
    assert client.get(url).status_code == 403
    post_form(client, "/sign-out", {}, "/")
    sign_in(client, MANAGER)
    assert url in listed(client, "/admin/quarantine")
    saved = client.get(url)
    assert saved.content == garbled and saved.headers["content-type"] == "message/rfc822"
    assert 'filename="quarantined-' in saved.headers["content-disposition"]
    assert client.get(f"/admin/quarantine/{entry_id + 1}/message.eml").status_code == 404
    with database.session() as session:
        exports = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "export"))
        assert list(exports) == [f"quarantined message {entry_id}"]
