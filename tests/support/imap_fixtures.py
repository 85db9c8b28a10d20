"""Pytest fixtures for tests that need a real IMAP server (load with `pytest_plugins`)."""

from __future__ import annotations

import itertools
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.dovecot import DOVECOT_BIN, Dovecot, find_binary
from tests.support.oauth_introspect import OAuthIntrospectServer

_user_numbers = itertools.count(1)


@dataclass(frozen=True)
class ImapAccount:
    """A fresh mailbox on the test server, with what a client needs to sign in."""

    host: str
    port: int
    user: str
    password: str
    dovecot: Dovecot


def require_dovecot() -> None:
    """Fail (never skip) when Dovecot is missing: CI must not pass without the IMAP tests."""
    if find_binary("dovecot", DOVECOT_BIN) is None:
        pytest.fail(
            f"Dovecot is not installed ({DOVECOT_BIN} missing): "
            "install the Debian package dovecot-imapd to run the IMAP tests",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def oauth_introspect() -> Iterator[OAuthIntrospectServer]:
    """The OAuth 2.0 introspection endpoint the test Dovecot asks about tokens."""
    with OAuthIntrospectServer() as server:
        yield server


@pytest.fixture(scope="session")
def dovecot(oauth_introspect: OAuthIntrospectServer) -> Iterator[Dovecot]:
    """One private Dovecot for the whole session, with password and OAuth 2.0 sign-in."""
    require_dovecot()
    # Not pytest's tmp_path: its folders are 0700, and Dovecot's own users must traverse.
    root = tempfile.mkdtemp(prefix="mailbag-dovecot-")
    server = Dovecot(root, oauth2_introspection_url=oauth_introspect.url)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_account(dovecot: Dovecot) -> ImapAccount:
    """A new user with an empty mailbox, unique within the session."""
    user = f"u{next(_user_numbers)}"
    password = secrets.token_urlsafe(12)
    dovecot.add_user(user, password)
    return ImapAccount(dovecot.host, dovecot.port, user, password, dovecot)
