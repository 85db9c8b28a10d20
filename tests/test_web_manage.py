"""The office manager's pages and the CSV export, through Litestar's test client."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from crm.audit import AuditEntry
from crm.db import Database
from crm.followups.models import FollowUp
from crm.followups.service import open_follow_up
from crm.letters.models import LetterOverride
from crm.models import Case
from crm.outgoing.models import Organisation, OutboxLetter
from crm.settings import Settings
from crm.tags.models import CaseTag, TagEvent
from crm.tags.service import set_manual
from crm.users.models import User
from inbox.pipeline import Pipeline
from tagging.axes import Axis
from tests.support.mail import make_message
from tests.support.web import (
    CASEWORKER,
    COUNCILLOR,
    MANAGER,
    PASSWORD,
    Office,
    build_office,
    csrf_token,
    feed,
    letter,
    post_form,
    sign_in,
)
from web.app import create_app

SECRET = "test-secret-key-" + "x" * 32
HOSTILE_SUBJECT = '=HYPERLINK("http://evil.example/x","Click me")'


@pytest.fixture
def office(database: Database, pipeline: Pipeline) -> Office:
    return build_office(database, pipeline)


@pytest.fixture
def app_settings(sending_settings: Settings) -> Settings:
    return sending_settings


@pytest.fixture
def client(database: Database, app_settings: Settings, office: Office) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(app_settings, database, secret_key=SECRET)) as test_client:
        yield test_client


def user_id(database: Database, email: str) -> int:
    with database.session() as session:
        found = session.scalar(select(User.id).where(User.email == email))
        assert found is not None
        return found


def audit_details(database: Database, action: str) -> list[str]:
    with database.session() as session:
        return list(
            session.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


def manage_urls(client: TestClient) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    """Every route under /manage, as (method, url) with its path parameters filled in."""
    found = []
    for route in client.app.routes:
        if not route.path.startswith("/manage"):
            continue
        url = re.sub(
            r"\{(\w+):(\w+)\}", lambda m: "1" if m[2] == "int" else "holding_reply", route.path
        )
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):  # type: ignore[attr-defined]
            found.append((method, url))
    return found


# --- who may use the pages -------------------------------------------------------------------


@pytest.mark.parametrize("email", [CASEWORKER, COUNCILLOR])
def test_caseworkers_and_councillors_are_refused_every_manage_route(
    client, database, office, email
):
    sign_in(client, email)
    token = csrf_token(client.get("/sign-in").text)
    # The token is good (a note is accepted with it), so each 403 below is the role's refusal.
    note = {"_csrf_token": token, "body": "the token works"}
    accepted = client.post(f"/cases/{office.in_ward}/notes", data=note, follow_redirects=False)
    assert accepted.status_code == 303
    routes = manage_urls(client)
    assert len(routes) >= 18, routes  # users, templates, taxonomy, directory and the index
    for method, url in routes:
        data = {"_csrf_token": token, "role": "office_manager", "name": "x", "axis": "issue"}
        response = client.request(method, url, data=data if method == "POST" else None)
        assert response.status_code == 403, (method, url, response.status_code)
    assert 'href="/manage"' not in client.get("/").text
    with database.session() as session:
        assert session.scalar(select(User.role).where(User.email == email)) != "office_manager"
        assert session.scalar(select(func.count(LetterOverride.id))) == 0


def test_a_councillor_cannot_export_and_managers_see_the_office_link(client):
    sign_in(client, COUNCILLOR)
    assert client.get("/export/cases.csv").status_code == 403
    client.cookies.clear()
    sign_in(client, MANAGER)
    index = client.get("/manage")
    assert index.status_code == 200
    assert 'href="/manage"' in index.text
    for part in ("/manage/users", "/manage/templates", "/manage/taxonomy", "/manage/directory"):
        assert f'href="{part}"' in index.text
        assert client.get(part).status_code == 200


def test_a_forged_post_is_refused_by_csrf_protection(client, database):
    sign_in(client, MANAGER)
    new = {"email": "forged@office.example.org.uk", "role": "office_manager", "password": "x" * 12}
    assert client.post("/manage/users", data=new).status_code == 403
    assert client.post("/manage/users", data={**new, "_csrf_token": "forged"}).status_code == 403
    with database.session() as session:
        assert session.scalar(select(User).where(User.email == new["email"])) is None


# --- users -----------------------------------------------------------------------------------


def test_a_manager_adds_a_user_who_can_then_sign_in(client, database, app_settings):
    sign_in(client, MANAGER)
    chosen = {
        "email": "Nina.New@office.example.org.uk",
        "name": "Nina New",
        "role": "caseworker",
        "password": "a chosen password",
    }
    response = post_form(client, "/manage/users", chosen, "/manage/users")
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert "Nina New" in client.get("/manage/users").text
    # One-time password: shown on the answer to the form, and nowhere else.
    generated = {"email": "cllr.new@council.example.org.uk", "role": "councillor", "wards": "EX1"}
    shown = post_form(client, "/manage/users", generated, "/manage/users")
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]
    found = re.search(r'id="one-time-password">([^<]+)<', shown.text)  # type: ignore[attr-defined]
    assert found
    one_time = found[1]
    assert one_time not in client.get("/manage/users").text
    with TestClient(create_app(app_settings, database, secret_key=SECRET)) as other:
        sign_in(other, "nina.new@office.example.org.uk", "a chosen password")
        assert other.get("/").status_code == 200
        other.cookies.clear()
        sign_in(other, "cllr.new@council.example.org.uk", one_time)
        assert other.get("/", follow_redirects=False).headers["location"] == "/councillor"
    created = audit_details(database, "user_created")
    assert any("as caseworker" in d for d in created) and any("as councillor" in d for d in created)


def test_a_bad_new_user_is_refused_with_the_reason_and_nothing_is_created(client, database):
    sign_in(client, MANAGER)
    bad = {"email": "short@office.example.org.uk", "role": "caseworker", "password": "short"}
    response = post_form(client, "/manage/users", bad, "/manage/users")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "at least 10 characters" in response.text  # type: ignore[attr-defined]
    with database.session() as session:
        assert session.scalar(select(User).where(User.email == bad["email"])) is None


def test_a_role_change_is_audited_and_takes_effect_at_once(client, database, app_settings):
    cara = user_id(database, CASEWORKER)
    sign_in(client, MANAGER)
    url = f"/manage/users/{cara}"
    response = post_form(
        client, f"{url}/permissions", {"role": "councillor", "wards": "EX1, ex4 6"}, url
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    [detail] = audit_details(database, "permission_change")
    assert "caseworker → councillor for EX1, EX4 6" in detail
    with database.session() as session:
        changed = session.get(User, cara)
        assert changed is not None and changed.role == "councillor"
        assert changed.wards == ["EX1", "EX4 6"]
    with database.session() as session:
        who = session.scalar(select(AuditEntry.who).where(AuditEntry.action == "permission_change"))
    assert who == MANAGER
    with TestClient(create_app(app_settings, database, secret_key=SECRET)) as other:
        sign_in(other, CASEWORKER)
        assert other.get("/", follow_redirects=False).headers["location"] == "/councillor"


def test_a_manager_cannot_demote_or_disable_themselves(client, database):
    me = user_id(database, MANAGER)
    sign_in(client, MANAGER)
    url = f"/manage/users/{me}"
    page = client.get(url).text
    assert "You cannot remove your own office manager role" in page
    response = post_form(client, f"{url}/permissions", {"role": "caseworker", "wards": ""}, url)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "cannot remove your own office manager role" in response.text  # type: ignore[attr-defined]
    assert post_form(client, f"{url}/active", {"active": "0"}, url).status_code == 400  # type: ignore[attr-defined]
    with database.session() as session:
        still = session.get(User, me)
        assert still is not None and still.role == "office_manager" and still.active
    assert audit_details(database, "permission_change") == []


def test_disabling_ends_the_sessions_and_a_reset_password_works(client, database, app_settings):
    cara = user_id(database, CASEWORKER)
    with TestClient(create_app(app_settings, database, secret_key=SECRET)) as cara_client:
        sign_in(cara_client, CASEWORKER)
        sign_in(client, MANAGER)
        url = f"/manage/users/{cara}"
        post_form(client, f"{url}/active", {"active": "0"}, url)
        assert cara_client.get("/", follow_redirects=False).status_code == 303  # signed out
        token = csrf_token(cara_client.get("/sign-in").text)
        refused = cara_client.post(
            "/sign-in", data={"email": CASEWORKER, "password": PASSWORD, "_csrf_token": token}
        )
        assert refused.status_code == 400
        post_form(client, f"{url}/active", {"active": "1"}, url)
        shown = post_form(client, f"{url}/password", {"password": ""}, url)
        found = re.search(r'id="one-time-password">([^<]+)<', shown.text)  # type: ignore[attr-defined]
        assert found
        cara_client.cookies.clear()
        sign_in(cara_client, CASEWORKER, found[1])
    assert [d for d in audit_details(database, "permission_change") if "disabled" in d]
    assert len(audit_details(database, "password_reset")) == 1


# --- letter templates ------------------------------------------------------------------------


def test_the_template_page_lists_letters_and_shows_variables(client):
    sign_in(client, MANAGER)
    listing = client.get("/manage/templates").text
    assert "chase_first" in listing and "holding_reply" in listing
    page = client.get("/manage/templates/chase_first").text
    assert "third_party.first_written_on" in page and "case.reference" in page
    assert "I have not yet received a reply" in page  # the current wording, ready to edit
    assert client.get("/manage/templates/no_such_letter").status_code == 404


def test_a_template_with_a_syntax_error_is_refused_and_the_previous_one_kept(client, database):
    sign_in(client, MANAGER)
    url = "/manage/templates/holding_reply"
    subject = "An update on your enquiry: {{ case.subject }}"
    good = {"subject": subject, "body": "Our own words about {{ case.subject }}."}
    assert post_form(client, url, good, url).status_code == 303  # type: ignore[attr-defined]
    broken = {"subject": subject, "body": "Dear {% if constituent.name %}friend"}
    refused = post_form(client, url, broken, url)
    assert refused.status_code == 400  # type: ignore[attr-defined]
    text = refused.text  # type: ignore[attr-defined]
    assert 'id="body-error"' in text and "line 1" in text and "endif" in text
    assert "Dear {% if constituent.name %}friend" in text  # what was typed stays in the field
    unsafe = {"subject": "{{ case.reference.__class__.__mro__ }}", "body": good["body"]}
    refused = post_form(client, url, unsafe, url)
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert 'id="subject-error"' in refused.text  # type: ignore[attr-defined]
    assert "is not allowed: access to attribute" in refused.text  # type: ignore[attr-defined]
    misspelt = {"subject": subject, "body": "About {{ case.subjekt }}"}
    refused = post_form(client, url, misspelt, url)
    assert "case.subjekt" in refused.text  # type: ignore[attr-defined]
    with database.session() as session:
        rows = session.scalars(select(LetterOverride).order_by(LetterOverride.part)).all()
        assert [(r.part, r.source) for r in rows] == [("body.txt.j2", good["body"])]
    assert len(audit_details(database, "template_change")) == 1


def test_a_preview_shows_the_draft_with_a_real_case_and_saves_nothing(client, database, office):
    sign_in(client, MANAGER)
    url = "/manage/templates/holding_reply"
    draft = {
        "subject": "News on {{ case.subject }}",
        "body": "Draft words for {{ constituent.name }}.",
        "reference": office.in_ward,
    }
    shown = post_form(client, f"{url}/preview", draft, url)
    assert shown.status_code == 200  # type: ignore[attr-defined]
    assert "Draft words for Mary Jones." in shown.text  # type: ignore[attr-defined]
    assert f"[{office.in_ward}]" in shown.text  # type: ignore[attr-defined]
    # A restricted case may be tried too, by a manager; the view is audited like any other.
    guarded = post_form(client, f"{url}/preview", {**draft, "reference": office.safeguarding}, url)
    assert "Draft words for Pat Private." in guarded.text  # type: ignore[attr-defined]
    assert audit_details(database, "view_sensitive_case") == [
        f"{office.safeguarding} (letter template preview)"
    ]
    unknown = post_form(client, f"{url}/preview", {**draft, "reference": "MB-1999-000001"}, url)
    assert unknown.status_code == 400 and "no case MB-1999-000001" in unknown.text  # type: ignore[attr-defined]
    with database.session() as session:
        assert session.scalar(select(func.count(LetterOverride.id))) == 0


def test_a_saved_override_is_what_a_sent_letter_uses(client, database, office, smtp_server):
    sign_in(client, MANAGER)
    url = "/manage/templates/holding_reply"
    words = {
        "subject": "Where things stand: {{ case.subject }}",
        "body": "OFFICE WORDING for {{ constituent.name }} on {{ case.reference }}.",
    }
    assert post_form(client, url, words, url).status_code == 303  # type: ignore[attr-defined]
    assert "changed for this office" in client.get("/manage/templates").text
    case_url = f"/cases/{office.in_ward}"
    sent = post_form(
        client, f"{case_url}/letters/send", {"template": "holding_reply", "to": ""}, case_url
    )
    assert sent.status_code == 303  # type: ignore[attr-defined]
    [received] = smtp_server.received
    message = received.message()
    assert message["Subject"].startswith("Where things stand: Damp and mould")
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"OFFICE WORDING for Mary Jones on {office.in_ward}." in body
    # Back to the standard wording: the next letter uses the file again.
    post_form(client, f"{url}/revert", {}, url)
    with database.session() as session:
        assert session.scalar(select(func.count(LetterOverride.id))) == 0
        assert session.scalar(select(func.count(OutboxLetter.id))) == 1


# --- taxonomy --------------------------------------------------------------------------------


def test_tag_values_are_added_merged_and_the_cases_move(client, database, office):
    sign_in(client, MANAGER)
    page = "/manage/taxonomy"
    added = post_form(
        client, f"{page}/add", {"axis": "issue", "name": "Housing › Condensation"}, page
    )
    assert added.status_code == 303  # type: ignore[attr-defined]
    with database.session() as session:
        set_manual(session, office.in_ward, Axis.ISSUE, "Housing › Condensation", who="test")
    listing = client.get(page).text
    assert "Housing › Condensation</td><td>1</td>" in listing  # the usage count
    merge = {"axis": "issue", "value": "Housing › Condensation", "into": "Housing › Damp and mould"}
    assert post_form(client, f"{page}/merge", merge, page).status_code == 303  # type: ignore[attr-defined]
    with database.session() as session:
        case = session.scalar(select(Case).where(Case.reference == office.in_ward))
        assert case is not None
        issue = session.scalar(
            select(CaseTag).where(CaseTag.case_id == case.id, CaseTag.slot == Axis.ISSUE)
        )
        assert issue is not None and issue.tag.path == "Housing › Damp and mould"
        merged = session.scalar(select(TagEvent).where(TagEvent.action == "merged"))
        assert merged is not None and merged.who == MANAGER and "1 case" in merged.detail
    assert "Housing › Condensation" in client.get(page).text  # kept as an alias


def test_taxonomy_refusals_are_shown_and_rename_and_retire_work(client, database):
    sign_in(client, MANAGER)
    page = "/manage/taxonomy"
    taken = post_form(client, f"{page}/add", {"axis": "urgency", "name": "high"}, page)
    assert taken.status_code == 303  # type: ignore[attr-defined]
    assert "already a name" in client.get(page).text
    fallback = post_form(client, f"{page}/retire", {"axis": "urgency", "value": "normal"}, page)
    assert fallback.status_code == 303  # type: ignore[attr-defined]
    assert "cannot be retired" in client.get(page).text
    rename = {"axis": "issue", "value": "Passports", "new": "Passports and travel"}
    post_form(client, f"{page}/rename", rename, page)
    post_form(client, f"{page}/retire", {"axis": "issue", "value": "Planning"}, page)
    listing = client.get(page).text
    assert "Passports and travel" in listing and "Planning <small>retired</small>" in listing
    with database.session() as session:
        actions = set(session.scalars(select(TagEvent.action).where(TagEvent.who == MANAGER)))
    assert {"renamed", "retired"} <= actions


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("  ", "a tag name cannot be empty"),
        ("Planning", "&#34;Planning&#34; is already a name of the issue value &#34;Planning&#34;"),
        ("Housing › Repairs › Roof", "an issue has at most two levels"),
    ],
)
def test_a_bad_rename_is_one_clear_line_on_the_taxonomy_page(client, database, new, message):
    sign_in(client, MANAGER)
    page = "/manage/taxonomy"
    # When the office manager renames "Passports" onto a taken or unusable name
    rename = {"axis": "issue", "value": "Passports", "new": new}
    refused = post_form(client, f"{page}/rename", rename, page)
    # Then the page comes back with one error line, and "Passports" keeps its name
    assert refused.status_code == 303  # type: ignore[attr-defined]
    shown = client.get(page).text
    errors = re.findall(r'<p class="flash error" role="status">(.*?)</p>', shown)
    assert len(errors) == 1 and message in errors[0], errors
    with database.session() as session:
        renamed = session.scalar(select(TagEvent).where(TagEvent.action == "renamed"))
        assert renamed is None


# --- third-party directory -------------------------------------------------------------------


def test_a_directory_edit_changes_the_grace_period_of_the_next_follow_up(
    client, database, office, app_settings
):
    sign_in(client, MANAGER)
    form = {
        "name": "Department for Examples",
        "kind": "department",
        "emails": "mp.enquiries@examples.gov.uk",
        "domains": "examples.gov.uk\nexamples.org.uk",
        "postal_address": "1 Whitehall, London",
        "grace_days": "10",
        "working_days": "1",
        "chases": "approval",
        "second_chase_days": "5",
    }
    added = post_form(client, "/manage/directory/new", form, "/manage/directory/new")
    assert added.status_code == 303  # type: ignore[attr-defined]
    with database.session() as session:
        org = session.scalar(select(Organisation).where(Organisation.name == form["name"]))
        assert org is not None and org.auto_chase is False and org.second_chase_days == 5
        assert sorted(org.domains) == ["examples.gov.uk", "examples.org.uk"]
        org_id = org.id
    monday = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert _due(database, app_settings, office.in_ward, monday) == datetime(
        2026, 3, 16, 10, 0, tzinfo=UTC
    )  # ten working days
    edit = {**form, "grace_days": "5", "domains": "examples.gov.uk", "chases": "auto"}
    del edit["working_days"]
    url = f"/manage/directory/{org_id}"
    assert post_form(client, url, edit, url).status_code == 303  # type: ignore[attr-defined]
    assert _due(database, app_settings, office.other_ward, monday) == monday + timedelta(days=5)
    with database.session() as session:
        org = session.get(Organisation, org_id)
        assert org is not None and org.domains == ["examples.gov.uk"] and org.auto_chase
    page = client.get("/manage/directory").text
    assert "Department for Examples" in page and "5 days" in page
    assert len(audit_details(database, "directory_change")) == 2


def test_a_bad_directory_entry_is_refused_with_the_reason(client, database):
    sign_in(client, MANAGER)
    form = {"name": "Nowhere", "kind": "department", "grace_days": "lots", "chases": "auto"}
    refused = post_form(client, "/manage/directory/new", form, "/manage/directory/new")
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert "whole number of days" in refused.text  # type: ignore[attr-defined]
    too_late = {**form, "grace_days": "21", "second_chase_days": "400"}
    refused = post_form(client, "/manage/directory/new", too_late, "/manage/directory/new")
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert "interval between chases" in refused.text  # type: ignore[attr-defined]
    superscript = {**form, "grace_days": "²"}  # str.isdigit says yes; int() would fail
    refused = post_form(client, "/manage/directory/new", superscript, "/manage/directory/new")
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert "whole number of days" in refused.text  # type: ignore[attr-defined]
    with database.session() as session:
        assert session.scalar(select(Organisation).where(Organisation.name == "Nowhere")) is None


def _due(database: Database, settings: Settings, reference: str, sent_at: datetime) -> datetime:
    """Open a follow-up as a letter to the organisation would, and say when it falls due."""
    with database.session() as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
        assert case is not None
        follow_up = open_follow_up(
            session,
            settings,
            case,
            address="mp.enquiries@examples.gov.uk",
            sent_at=sent_at,
            message_pk=None,
        )
        assert isinstance(follow_up, FollowUp)
        return follow_up.due_at


# --- CSV export ------------------------------------------------------------------------------


def exported(client: TestClient, url: str = "/export/cases.csv") -> list[dict[str, str]]:  # type: ignore[type-arg]
    response = client.get(url)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.text)))


def test_the_csv_export_obeys_filters_access_and_is_safe_for_spreadsheets(
    client, database, office, pipeline
):
    hostile = feed(
        database,
        pipeline,
        make_message(
            sender="Hal Hostile <hal@example.com>",
            subject=HOSTILE_SUBJECT,
            body=letter("Please look at this.", "EX2 1AA", "Hal Hostile"),
        ),
    )
    sign_in(client, MANAGER)
    everything = {row["reference"]: row for row in exported(client)}
    assert set(everything) == {
        office.in_ward,
        office.other_ward,
        office.safeguarding,
        office.hostile,
        hostile,
    }
    assert everything[hostile]["subject"] == "'" + HOSTILE_SUBJECT
    assert everything[office.safeguarding]["sensitivity"] == "safeguarding"
    assert everything[office.in_ward]["constituent"] == "Mary Jones"
    assert 'href="/export/cases.csv?q=bins"' in client.get("/?q=bins").text
    assert [r["reference"] for r in exported(client, "/export/cases.csv?q=bins")] == [
        office.other_ward
    ]
    client.cookies.clear()
    sign_in(client, CASEWORKER)
    seen = {row["reference"] for row in exported(client)}
    assert office.safeguarding not in seen and office.in_ward in seen
    details = audit_details(database, "export")
    assert details[0].startswith("case list CSV, 5 cases")
    assert "with a search" in details[1] and "bins" not in details[1]
    assert details[2].startswith("case list CSV, 4 cases")
