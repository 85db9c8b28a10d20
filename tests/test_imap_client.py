"""inbox.imap against a real, private Dovecot: sign-in, UID fetching, IDLE, tokens."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from inbox.imap import (
    FetchedMessage,
    ImapAuthError,
    ImapConfig,
    ImapError,
    ImapMailbox,
    token_from_client_credentials,
    token_from_command,
)
from tests.support import imap_fixtures
from tests.support.dovecot import Dovecot
from tests.support.imap_fixtures import ImapAccount, require_dovecot
from tests.support.oauth_introspect import OAuthIntrospectServer

pytestmark = pytest.mark.dovecot


def make_message(n: int) -> bytes:
    return (
        f"From: Resident {n} <resident{n}@example.org>\r\n"
        f"To: office@example.org\r\n"
        f"Subject: Letter {n}\r\n"
        f"Message-ID: <letter-{n}@example.org>\r\n"
        "\r\n"
        f"Body of letter {n}.\r\n"
    ).encode()


def password_config(account: ImapAccount, **overrides: object) -> ImapConfig:
    fields: dict[str, object] = {
        "host": account.host,
        "port": account.port,
        "ssl": False,
        "user": account.user,
        "password": account.password,
        "auth": "password",
        "token_provider": None,
        "connect_timeout": 5,
        "read_timeout": 10,
    }
    fields.update(overrides)
    return ImapConfig(**fields)  # type: ignore[arg-type]


def flags_of(account: ImapAccount, folder: str, uids: list[int]) -> dict[int, tuple[bytes, ...]]:
    client = account.dovecot.connect(account.user)
    try:
        client.select_folder(folder, readonly=True)
        return {uid: data[b"FLAGS"] for uid, data in client.fetch(uids, ["FLAGS"]).items()}
    finally:
        client.logout()


# --- signing in ------------------------------------------------------------------------------


def test_password_login_selects_empty_inbox(imap_account: ImapAccount) -> None:
    with ImapMailbox(password_config(imap_account)) as mailbox:
        state = mailbox.select("INBOX")
    assert state.exists == 0
    assert state.uidnext == 1
    assert state.uidvalidity > 0


def test_sent_folder_exists_for_new_users(imap_account: ImapAccount) -> None:
    with ImapMailbox(password_config(imap_account)) as mailbox:
        assert mailbox.select("Sent").exists == 0


def test_wrong_password_is_a_clear_auth_error(imap_account: ImapAccount) -> None:
    wrong = "not-the-password-" + imap_account.password
    with pytest.raises(ImapAuthError) as caught:
        ImapMailbox(password_config(imap_account, password=wrong)).connect()
    message = str(caught.value)
    assert f"{imap_account.user}@{imap_account.host}" in message
    assert "wrong password or user" in message
    assert wrong not in message
    assert imap_account.password not in message
    assert wrong not in repr(password_config(imap_account, password=wrong))


@pytest.mark.parametrize("auth", ["xoauth2", "oauthbearer"])
def test_oauth_login_with_valid_token(
    imap_account: ImapAccount, oauth_introspect: OAuthIntrospectServer, auth: str
) -> None:
    token = oauth_introspect.issue(imap_account.user)
    config = password_config(imap_account, password=None, auth=auth, token_provider=lambda: token)
    with ImapMailbox(config) as mailbox:
        assert mailbox.select("INBOX").exists == 0


@pytest.mark.parametrize("auth", ["xoauth2", "oauthbearer"])
def test_oauth_login_with_invalid_token_is_refused(
    imap_account: ImapAccount, oauth_introspect: OAuthIntrospectServer, auth: str
) -> None:
    token = oauth_introspect.issue(imap_account.user)
    oauth_introspect.revoke(token)
    config = password_config(imap_account, password=None, auth=auth, token_provider=lambda: token)
    with pytest.raises(ImapAuthError) as caught:
        ImapMailbox(config).connect()
    assert "token rejected" in str(caught.value)
    assert auth.upper() in str(caught.value)
    assert token not in str(caught.value)


def test_token_for_another_user_is_refused(
    imap_account: ImapAccount, oauth_introspect: OAuthIntrospectServer
) -> None:
    token = oauth_introspect.issue("someone-else")
    config = password_config(
        imap_account, password=None, auth="xoauth2", token_provider=lambda: token
    )
    with pytest.raises(ImapAuthError):
        ImapMailbox(config).connect()


def test_failing_token_provider_is_an_auth_error(imap_account: ImapAccount) -> None:
    def broken() -> str:
        raise ImapAuthError("token command 'helper' failed (exit 1): expired refresh token")

    config = password_config(imap_account, password=None, auth="xoauth2", token_provider=broken)
    with pytest.raises(ImapAuthError, match="expired refresh token"):
        ImapMailbox(config).connect()


# --- fetching --------------------------------------------------------------------------------


def test_iter_new_returns_every_message_once_in_uid_batches(imap_account: ImapAccount) -> None:
    raws = [make_message(n) for n in range(250)]
    uids = imap_account.dovecot.append_many(imap_account.user, "INBOX", raws)

    with ImapMailbox(password_config(imap_account, batch_size=100)) as mailbox:
        batches = list(mailbox.iter_new("INBOX", after_uid=0))

    assert [len(batch) for batch in batches] == [100, 100, 50]
    fetched = [message for batch in batches for message in batch]
    assert [m.uid for m in fetched] == sorted(uids)
    assert [m.raw for m in fetched] == raws


def test_iter_new_bounds_each_batch_by_bytes_and_a_huge_message_comes_alone(
    imap_account: ImapAccount,
) -> None:
    """Phone photographs: a batch is capped by the messages' sizes, not only their count."""
    photo = b"X" * 70_000  # with headers, each of these is just over 70 kB on the server
    raws = [make_message(n).replace(b"Body of", photo + b"\r\nBody of") for n in range(7)]
    raws.insert(3, make_message(99).replace(b"Body of", b"Y" * 400_000 + b"\r\nBody of"))
    uids = imap_account.dovecot.append_many(imap_account.user, "INBOX", raws)

    config = password_config(imap_account, batch_size=100, batch_bytes=250_000)
    with ImapMailbox(config) as mailbox:
        batches = list(mailbox.iter_new("INBOX", after_uid=0))

    assert [len(batch) for batch in batches] == [3, 1, 3, 1]
    assert [m.uid for batch in batches for m in batch] == sorted(uids)
    assert [m.raw for batch in batches for m in batch] == raws


def test_iter_new_skips_the_gaps_expunged_messages_leave(imap_account: ImapAccount) -> None:
    raws = [make_message(n) for n in range(10)]
    uids = imap_account.dovecot.append_many(imap_account.user, "INBOX", raws)
    client = imap_account.dovecot.connect(imap_account.user)
    client.select_folder("INBOX")
    client.delete_messages([uids[2], uids[3], uids[7]])
    client.expunge()
    client.logout()

    with ImapMailbox(password_config(imap_account, batch_size=4)) as mailbox:
        batches = list(mailbox.iter_new("INBOX", after_uid=uids[0]))

    kept = [1, 4, 5, 6, 8, 9]
    assert [[m.uid for m in batch] for batch in batches] == [
        [uids[n] for n in kept[:4]],
        [uids[n] for n in kept[4:]],
    ]
    assert [m.raw for batch in batches for m in batch] == [raws[n] for n in kept]


def test_iter_new_after_highest_uid_returns_nothing(imap_account: ImapAccount) -> None:
    uids = imap_account.dovecot.append_many(
        imap_account.user, "INBOX", [make_message(n) for n in range(3)]
    )
    with ImapMailbox(password_config(imap_account)) as mailbox:
        # `UID 4:*` matches the highest UID (3) on the wire: the client must drop it.
        assert list(mailbox.iter_new("INBOX", after_uid=max(uids))) == []
        assert list(mailbox.iter_new("INBOX", after_uid=max(uids) + 50)) == []
        later = list(mailbox.iter_new("INBOX", after_uid=uids[0]))
    assert later == [
        [FetchedMessage(uids[1], make_message(1)), FetchedMessage(uids[2], make_message(2))]
    ]


def test_iter_new_keeps_the_selected_folder_and_sees_new_mail(imap_account: ImapAccount) -> None:
    dovecot = imap_account.dovecot
    first = dovecot.append(imap_account.user, "INBOX", make_message(1))
    with ImapMailbox(password_config(imap_account)) as mailbox:
        state = mailbox.select("INBOX")
        assert [m.uid for b in mailbox.iter_new("INBOX", after_uid=0) for m in b] == [first]
        second = dovecot.append(imap_account.user, "INBOX", make_message(2))
        fetched = [m for b in mailbox.iter_new("INBOX", after_uid=first) for m in b]
        assert fetched == [FetchedMessage(second, make_message(2))]
        assert mailbox.select("INBOX").uidvalidity == state.uidvalidity


def test_iter_new_on_empty_folder_yields_no_batches(imap_account: ImapAccount) -> None:
    with ImapMailbox(password_config(imap_account)) as mailbox:
        assert list(mailbox.iter_new("Sent", after_uid=0)) == []


def test_fetching_leaves_messages_unseen(imap_account: ImapAccount) -> None:
    uids = imap_account.dovecot.append_many(
        imap_account.user, "INBOX", [make_message(n) for n in range(5)]
    )
    with ImapMailbox(password_config(imap_account)) as mailbox:
        assert sum(len(b) for b in mailbox.iter_new("INBOX", after_uid=0)) == 5
    for flags in flags_of(imap_account, "INBOX", uids).values():
        assert b"\\Seen" not in flags


def test_add_keyword_marks_without_reading(imap_account: ImapAccount) -> None:
    uids = imap_account.dovecot.append_many(
        imap_account.user, "INBOX", [make_message(n) for n in range(3)]
    )
    with ImapMailbox(password_config(imap_account)) as mailbox:
        assert mailbox.add_keyword("INBOX", uids[:2], "MailbagFiled") is True
        assert mailbox.add_keyword("INBOX", [], "MailbagFiled") is False
        with pytest.raises(ValueError):
            mailbox.add_keyword("INBOX", uids, "bad keyword)")
        assert mailbox.select("INBOX").exists == 3
    flags = flags_of(imap_account, "INBOX", uids)
    assert [b"MailbagFiled" in flags[uid] for uid in uids] == [True, True, False]
    assert all(b"\\Seen" not in f for f in flags.values())


def test_reset_mailbox_gives_new_uidvalidity(imap_account: ImapAccount) -> None:
    dovecot = imap_account.dovecot
    dovecot.append_many(imap_account.user, "INBOX", [make_message(n) for n in range(3)])
    with ImapMailbox(password_config(imap_account)) as old_session:
        before = old_session.select("INBOX")
        dovecot.reset_mailbox(imap_account.user)
        with pytest.raises(ImapError):  # kicked: the ingester would reconnect
            list(old_session.iter_new("INBOX", after_uid=0))

    assert dovecot.append(imap_account.user, "INBOX", make_message(99)) == 1

    with ImapMailbox(password_config(imap_account)) as mailbox:
        after = mailbox.select("INBOX")
        fetched = [m for batch in mailbox.iter_new("INBOX", after_uid=0) for m in batch]
    assert after.uidvalidity != before.uidvalidity
    assert (before.exists, after.exists) == (3, 1)
    assert fetched == [FetchedMessage(1, make_message(99))]


# --- waiting ---------------------------------------------------------------------------------


def test_wait_for_change_wakes_when_mail_arrives(imap_account: ImapAccount) -> None:
    dovecot = imap_account.dovecot
    timer = threading.Timer(
        0.3, lambda: dovecot.append(imap_account.user, "INBOX", make_message(1))
    )
    with ImapMailbox(password_config(imap_account)) as mailbox:
        started = time.monotonic()
        timer.start()
        try:
            assert mailbox.wait_for_change("INBOX", timeout=10) is True
        finally:
            timer.join()
        assert time.monotonic() - started < 5
        # The session is usable after IDLE: the new message is there to fetch.
        assert [m.uid for b in mailbox.iter_new("INBOX", after_uid=0) for m in b] == [1]


def test_wait_for_change_returns_false_on_timeout(imap_account: ImapAccount) -> None:
    with ImapMailbox(password_config(imap_account)) as mailbox:
        started = time.monotonic()
        assert mailbox.wait_for_change("INBOX", timeout=0.5) is False
        assert 0.4 < time.monotonic() - started < 3
        assert mailbox.select("INBOX").exists == 0


def test_wait_for_change_sees_mail_that_came_before_idle(imap_account: ImapAccount) -> None:
    with ImapMailbox(password_config(imap_account)) as mailbox:
        uidnext = mailbox.select("INBOX").uidnext
        imap_account.dovecot.append(imap_account.user, "INBOX", make_message(1))
        started = time.monotonic()
        assert mailbox.wait_for_change("INBOX", timeout=10, known_uidnext=uidnext) is True
        assert time.monotonic() - started < 1


# --- a server that goes away -----------------------------------------------------------------


@pytest.fixture
def private_dovecot() -> Iterator[Dovecot]:
    """A second server of our own, so stopping it does not disturb the shared one."""
    require_dovecot()
    root = tempfile.mkdtemp(prefix="mailbag-dovecot-")
    server = Dovecot(root)
    server.add_user("office", "office-password")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def private_config(server: Dovecot) -> ImapConfig:
    return ImapConfig(
        host=server.host,
        port=server.port,
        ssl=False,
        user="office",
        password="office-password",
        auth="password",
        token_provider=None,
        connect_timeout=2,
        read_timeout=5,
    )


def test_stopped_server_raises_imap_error_not_a_hang(private_dovecot: Dovecot) -> None:
    private_dovecot.append_many("office", "INBOX", [make_message(n) for n in range(3)])
    mailbox = ImapMailbox(private_config(private_dovecot))
    mailbox.connect()
    private_dovecot.stop()
    started = time.monotonic()
    with pytest.raises(ImapError) as caught:
        list(mailbox.iter_new("INBOX", after_uid=0))
    assert not isinstance(caught.value, ImapAuthError)
    assert "office@127.0.0.1" in str(caught.value)
    mailbox.close()

    with pytest.raises(ImapError, match="connect failed"):
        ImapMailbox(private_config(private_dovecot)).connect()
    assert time.monotonic() - started < 5


def test_server_stopping_during_idle_raises_imap_error(private_dovecot: Dovecot) -> None:
    with ImapMailbox(private_config(private_dovecot)) as mailbox:
        stopper = threading.Timer(0.3, private_dovecot.stop)
        started = time.monotonic()
        stopper.start()
        try:
            with pytest.raises(ImapError):
                mailbox.wait_for_change("INBOX", timeout=20)
        finally:
            stopper.join()
        assert time.monotonic() - started < 8


def test_missing_dovecot_fails_instead_of_skipping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imap_fixtures, "find_binary", lambda name, fallback: None)
    with pytest.raises(pytest.fail.Exception, match="dovecot-imapd"):
        require_dovecot()


def test_restart_keeps_the_port(private_dovecot: Dovecot) -> None:
    port = private_dovecot.port
    private_dovecot.restart()
    assert private_dovecot.port == port
    with ImapMailbox(private_config(private_dovecot)) as mailbox:
        assert mailbox.select("INBOX").exists == 0


# --- token providers -------------------------------------------------------------------------


def test_token_from_command_returns_stripped_stdout() -> None:
    python = shlex.quote(sys.executable)
    provide = token_from_command(f"{python} -c 'print(\"  TOKEN-123  \")'")
    assert provide() == "TOKEN-123"


def test_token_from_command_failure_is_an_auth_error() -> None:
    python = shlex.quote(sys.executable)
    script = "import sys; sys.stderr.write('refresh token expired\\n'); sys.exit(3)"
    provide = token_from_command(f"{python} -c {shlex.quote(script)}")
    with pytest.raises(ImapAuthError, match=r"exit 3.*refresh token expired"):
        provide()
    with pytest.raises(ImapAuthError, match="could not run"):
        token_from_command("/nonexistent/token-helper --print")()


class TokenEndpoint:
    """A stdlib OAuth 2.0 token endpoint for the client-credentials grant."""

    def __init__(self, mint: Callable[[], str], expires_in: int = 3600) -> None:
        self.mint = mint
        self.expires_in = expires_in
        self.forms: list[dict[str, list[str]]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                endpoint.forms.append(form)
                if form.get("client_secret") != ["s3cret"]:
                    self._send(401, {"error": "invalid_client", "error_description": "bad"})
                    return
                body = {
                    "access_token": endpoint.mint(),
                    "token_type": "Bearer",
                    "expires_in": endpoint.expires_in,
                }
                self._send(200, body)

            def _send(self, status: int, body: dict[str, object]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> TokenEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_client_credentials_token_is_requested_and_cached() -> None:
    counter = iter(range(1, 100))
    with TokenEndpoint(lambda: f"tok-{next(counter)}") as endpoint:
        provide = token_from_client_credentials(endpoint.url, "mailbag", "s3cret", "imap")
        assert provide() == "tok-1"
        assert provide() == "tok-1"
    assert len(endpoint.forms) == 1
    assert endpoint.forms[0] == {
        "grant_type": ["client_credentials"],
        "client_id": ["mailbag"],
        "client_secret": ["s3cret"],
        "scope": ["imap"],
    }


def test_client_credentials_token_is_renewed_when_it_expires() -> None:
    counter = iter(range(1, 100))
    with TokenEndpoint(lambda: f"tok-{next(counter)}", expires_in=0) as endpoint:
        provide = token_from_client_credentials(endpoint.url, "mailbag", "s3cret", "imap")
        assert [provide(), provide()] == ["tok-1", "tok-2"]


def test_client_credentials_refusal_is_a_clear_auth_error() -> None:
    with TokenEndpoint(lambda: "never") as endpoint:
        provide = token_from_client_credentials(endpoint.url, "mailbag", "wrong-secret", "imap")
        with pytest.raises(ImapAuthError, match="HTTP 401 invalid_client") as caught:
            provide()
    assert "wrong-secret" not in str(caught.value)


def test_client_credentials_unreachable_endpoint_is_an_auth_error() -> None:
    with TokenEndpoint(lambda: "never") as endpoint:
        url = endpoint.url
    provide = token_from_client_credentials(url, "mailbag", "s3cret", "imap")
    with pytest.raises(ImapAuthError, match="failed"):
        provide()


def test_client_credentials_token_signs_in_to_dovecot(
    imap_account: ImapAccount, oauth_introspect: OAuthIntrospectServer
) -> None:
    with TokenEndpoint(lambda: oauth_introspect.issue(imap_account.user)) as endpoint:
        provider = token_from_client_credentials(endpoint.url, "mailbag", "s3cret", "imap")
        config = password_config(
            imap_account, password=None, auth="oauthbearer", token_provider=provider
        )
        with ImapMailbox(config) as mailbox:
            assert mailbox.select("INBOX").uidnext == 1
