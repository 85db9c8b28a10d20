"""Mailbag's IMAP client: read-only fetching by UID, IDLE as a wake-up, OAuth 2.0 sign-in.

It never deletes, moves or expunges anything and never sets \\Seen: the mailbox belongs to
the office. Every imapclient or socket failure leaves as an `ImapError` with a clear message.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import shlex
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import IMAPClientError, LoginError
from imapclient.imapclient import SENT

from crm.errors import MailbagError
from inbox.sizing import BATCH_BYTES, bounded

AuthMethod = Literal["password", "xoauth2", "oauthbearer"]

# Messages whose sizes one FETCH asks for, ahead of their bodies: 500 UIDs of up to ten
# digits stay under the 8,000 octets a server is asked to accept on a line (RFC 7162).
SIZES_PER_FETCH = 500
IDLE_MAX_SECONDS = 9 * 60  # re-issue IDLE well before servers drop it (RFC 2177: 29 min)
TOKEN_COMMAND_TIMEOUT = 30.0
TOKEN_HTTP_TIMEOUT = 30.0
TOKEN_EXPIRY_MARGIN = 60.0

_BYTES_REPR = re.compile(r"^\[?b'(.*)'\]?$")  # imapclient's "[b'text']" back to "text"
_KEYWORD = re.compile(r"[A-Za-z0-9$_.+-]+")  # a safe subset of RFC 3501 atoms

log = logging.getLogger(__name__)


class ImapError(MailbagError):
    """The IMAP server could not be reached or refused a command."""


class ImapAuthError(ImapError):
    """Sign-in was refused, or no token could be obtained to sign in with."""


@dataclass(frozen=True)
class ImapConfig:
    """Where and how to sign in; secrets come from `password` or `token_provider`."""

    host: str
    port: int
    ssl: bool
    user: str
    password: str | None = field(default=None, repr=False)
    auth: AuthMethod = "password"
    token_provider: Callable[[], str] | None = None
    connect_timeout: float = 15
    read_timeout: float = 120
    batch_size: int = 100
    batch_bytes: int = BATCH_BYTES

    @property
    def where(self) -> str:
        """`user@host:port`, for messages (never with a secret)."""
        return f"{self.user}@{self.host}:{self.port}"


@dataclass(frozen=True)
class FolderState:
    """What SELECT says about a folder: the checkpoint is only valid for this UIDVALIDITY."""

    uidvalidity: int
    uidnext: int | None
    exists: int


@dataclass(frozen=True)
class FetchedMessage:
    """One message's UID and its raw bytes, exactly as the server stores them; or, when the
    server would not hand it over, no bytes and the server's words in `error`."""

    uid: int
    raw: bytes
    error: str = ""


class ImapMailbox:
    """A read-only session on one account; use as a context manager."""

    def __init__(self, config: ImapConfig) -> None:
        self.config = config
        self._client: IMAPClient | None = None
        self._secret_sent = ""
        self._examined: str | None = None  # folder open read-only right now, if any
        self._uidvalidity: int | None = None  # the UIDVALIDITY it had when opened

    def __enter__(self) -> ImapMailbox:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Stopped by a signal (Ctrl-C, SIGTERM), perhaps in the middle of a command such as
        # IDLE's DONE: a polite LOGOUT could wait a whole read timeout on a reply out of step.
        self.close(polite=exc is None or isinstance(exc, Exception))

    # --- session -----------------------------------------------------------------------------

    def connect(self) -> None:
        """Open the connection with timeouts (imapclient has none by default) and sign in."""
        self.close()
        cfg = self.config
        timeout = SocketTimeout(connect=cfg.connect_timeout, read=cfg.read_timeout)
        with self._errors("connect"):
            client = IMAPClient(cfg.host, cfg.port, ssl=cfg.ssl, timeout=timeout)
        self._client = client
        try:
            self._login(client)
        except BaseException:
            self.close()
            raise

    def close(self, *, polite: bool = True) -> None:
        """Log out politely, or just drop the socket if the server is gone (or we are)."""
        client, self._client = self._client, None
        self._examined = None
        if client is None:
            return
        if polite:
            with contextlib.suppress(IMAPClientError, OSError):
                client.logout()
                return  # logged out; a failed logout falls through to dropping the socket
        with contextlib.suppress(OSError):
            client.shutdown()

    def _login(self, client: IMAPClient) -> None:
        """Sign in by password, XOAUTH2 or OAUTHBEARER; refusal becomes ImapAuthError."""
        cfg = self.config
        secret = self._secret_sent = self._secret()
        try:
            if cfg.auth == "password":
                client.login(cfg.user, secret)
            elif cfg.auth == "xoauth2":
                client.oauth2_login(cfg.user, secret)
            else:
                client.oauthbearer_login(cfg.user, secret)
        except LoginError as exc:
            raise ImapAuthError(self._refused_message(exc)) from None
        except (IMAPClientError, OSError) as exc:
            raise ImapError(f"IMAP sign-in failed for {cfg.where}: {self._clean(exc)}") from exc

    def _secret(self) -> str:
        """The password, or a fresh token from the provider."""
        cfg = self.config
        if cfg.auth == "password":
            if cfg.password is None:
                raise ImapAuthError(f"no IMAP password configured for {cfg.where}")
            return cfg.password
        if cfg.token_provider is None:
            raise ImapAuthError(f"no OAuth 2.0 token provider configured for {cfg.where}")
        return cfg.token_provider()

    def _refused_message(self, exc: LoginError) -> str:
        """Say which account was refused and why, in words a caseworker can act on."""
        cfg = self.config
        reason = "wrong password or user" if cfg.auth == "password" else "token rejected"
        method = "" if cfg.auth == "password" else f" ({cfg.auth.upper()})"
        server_said = self._clean(exc)
        return f"IMAP sign-in refused for {cfg.where}{method}: {reason} (server: {server_said})"

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn library and socket failures into ImapError naming the action and server."""
        try:
            yield
        except ImapError:
            raise
        except (IMAPClientError, OSError) as exc:
            where = self.config.where
            raise ImapError(f"IMAP {action} failed for {where}: {self._clean(exc)}") from exc

    def _clean(self, exc: BaseException) -> str:
        """The error's text without any secret we sent, and never empty."""
        text = _BYTES_REPR.sub(r"\1", str(exc)) or type(exc).__name__
        return text.replace(self._secret_sent, "***") if self._secret_sent else text

    def _require(self) -> IMAPClient:
        """The live connection, or a clear error instead of an AttributeError."""
        if self._client is None:
            raise ImapError(f"IMAP session for {self.config.where} is not connected")
        return self._client

    # --- reading -----------------------------------------------------------------------------

    def select(self, folder: str) -> FolderState:
        """Open a folder read-only (EXAMINE) so nothing we do can change it."""
        client = self._require()
        self._examined = None
        with self._errors(f"opening folder {folder!r}"):
            info = client.select_folder(folder, readonly=True)
        self._examined, self._uidvalidity = folder, int(info[b"UIDVALIDITY"])
        uidnext = info.get(b"UIDNEXT")
        return FolderState(
            uidvalidity=self._uidvalidity,
            uidnext=int(uidnext) if uidnext is not None else None,
            exists=int(info.get(b"EXISTS", 0)),
        )

    def resolve(self, folder: str, *, sent: bool) -> str:
        """The server's name for a configured folder: as written when it exists; for a Sent
        folder otherwise the one the server marks \\Sent (RFC 6154) or names like one
        ("Sent Items" on Exchange, "[Gmail]/Sent Mail"), so the default settings work there."""
        client = self._require()
        with self._errors(f"looking for folder {folder!r}"):
            if client.folder_exists(folder):
                return folder
            found = client.find_special_folder(SENT) if sent else None
        if not found:
            raise ImapError(
                f"no folder {folder!r} on {self.config.where} (check MAILBAG_IMAP_FOLDERS)"
            )
        log.info("reading the server's sent folder %r for %r", found, folder)
        return str(found)

    def iter_new(self, folder: str, after_uid: int) -> Iterator[list[FetchedMessage]]:
        """Yield messages with UID > after_uid, ascending, batch by batch (never all at once):
        at most `batch_size` messages and, by their RFC822.SIZE, `batch_bytes` bytes.

        Reuses the folder if `select()` opened it, so the UIDVALIDITY the caller saw is the
        one these UIDs belong to; a NOOP first lets the server announce newer mail.
        """
        self._open(folder)
        yield from self._batches(folder, self._uids_after(after_uid))

    def iter_uids(self, folder: str, uids: Iterable[int]) -> Iterator[list[FetchedMessage]]:
        """The given messages, in batches as iter_new makes them; those gone are left out."""
        self._open(folder)
        yield from self._batches(folder, sorted(set(uids)))

    def _open(self, folder: str) -> None:
        if self._examined == folder:
            self._sync()
        else:
            self.select(folder)

    def _batches(self, folder: str, uids: list[int]) -> Iterator[list[FetchedMessage]]:
        count, total = max(1, self.config.batch_size), self.config.batch_bytes
        for start in range(0, len(uids), SIZES_PER_FETCH):
            sizes = self._sizes(uids[start : start + SIZES_PER_FETCH])
            for batch in bounded(sizes, sizes.__getitem__, count=count, total=total):
                yield self._fetch(folder, batch)

    def _sync(self) -> None:
        """NOOP: the server only shows a selected folder's new mail after a sync point."""
        client = self._require()
        with self._errors("NOOP"):
            client.noop()

    def _uids_after(self, after_uid: int) -> list[int]:
        """UIDs above after_uid; `N:*` always matches the highest UID, so filter (RFC 3501)."""
        client = self._require()
        with self._errors("UID SEARCH"):
            found = client.search(["UID", f"{after_uid + 1}:*"])
        return sorted(uid for uid in (int(u) for u in found) if uid > after_uid)

    def _sizes(self, uids: list[int]) -> dict[int, int]:
        """Each message's size in bytes, in UID order; UIDs expunged meanwhile are left out."""
        client = self._require()
        with self._errors("FETCH RFC822.SIZE"):
            data = client.fetch(uids, ["RFC822.SIZE"])
        return {uid: int(data[uid].get(b"RFC822.SIZE", 0)) for uid in uids if uid in data}

    def _fetch(self, folder: str, uids: list[int]) -> list[FetchedMessage]:
        """The batch's messages; if the server refuses the batch, each message alone.

        A message the server cannot read (a corrupt item on Exchange; Dovecot answers
        "Internal error" and hangs up) would otherwise fail its batch on every run and hold
        up all the mail behind it. Alone, it comes back with the server's words as its
        error. When the server cannot be reached again, that error is raised as before.
        """
        try:
            return self._bodies(uids)
        except ImapAuthError:
            raise
        except ImapError as error:
            log.warning("%s; asking for its messages one by one", error)
            self._examined = None  # the server may have hung up: start afresh
        fetched: list[FetchedMessage] = []
        for uid in uids:
            self._reopen(folder)
            try:
                fetched += self._bodies([uid])
            except ImapAuthError:
                raise
            except ImapError as error:
                log.warning("the server would not give UID %d of %r: %s", uid, folder, error)
                fetched.append(FetchedMessage(uid=uid, raw=b"", error=str(error)))
                self._examined = None
        self._reopen(folder)  # left open for what comes next
        return fetched

    def _bodies(self, uids: list[int]) -> list[FetchedMessage]:
        """FETCH BODY.PEEK[] (leaves \\Seen alone); UIDs expunged meanwhile are skipped."""
        client = self._require()
        with self._errors("FETCH"):
            data = client.fetch(uids, ["BODY.PEEK[]"])
        messages = []
        for uid in uids:
            raw = data.get(uid, {}).get(b"BODY[]")
            if raw is not None:
                messages.append(FetchedMessage(uid=uid, raw=bytes(raw)))
        return messages

    def _reopen(self, folder: str) -> None:
        """Sign in again and reopen the folder after a failed command, unless it is still
        open; its UIDs must still mean what they meant."""
        if self._examined == folder and self._client is not None:
            return
        before = self._uidvalidity
        self.connect()
        if self.select(folder).uidvalidity != before:
            raise ImapError(f"UIDVALIDITY of {folder!r} changed while it was read; read it again")

    # --- waiting -----------------------------------------------------------------------------

    def wait_for_change(
        self, folder: str, timeout: float, known_uidnext: int | None = None
    ) -> bool:
        """IDLE until the server reports a change or `timeout` passes; only a wake-up hint.

        Pass the UIDNEXT you last saw to return at once if mail arrived before IDLE began.
        """
        state = self.select(folder)
        if known_uidnext is not None and (state.uidnext or 0) > known_uidnext:
            return True
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            if self._idle_once(min(remaining, IDLE_MAX_SECONDS)):
                return True
        return False

    def _idle_once(self, seconds: float) -> bool:
        """One IDLE command, ended with DONE after at most `seconds`."""
        client = self._require()
        with self._errors("IDLE"):
            client.idle()
            try:
                changed = _idle_until(client, time.monotonic() + seconds)
            finally:
                _, late = client.idle_done()
        return changed or _reports_change(late)

    # --- marking -----------------------------------------------------------------------------

    def add_keyword(self, folder: str, uids: Iterable[int], keyword: str) -> bool:
        """Mark processed messages with a keyword, if the server lets us; True if stored."""
        if not _KEYWORD.fullmatch(keyword):
            raise ValueError(f"not an IMAP keyword: {keyword!r}")
        wanted = sorted(set(uids))
        if not wanted:
            return False
        client = self._require()
        self._examined = None
        with self._errors(f"storing keyword {keyword} in {folder!r}"):
            info = client.select_folder(folder, readonly=False)
            allowed = info.get(b"PERMANENTFLAGS", ())
            if b"\\*" not in allowed and keyword.encode() not in allowed:
                return False
            client.add_flags(wanted, [keyword], silent=True)
        return True


def _idle_until(client: IMAPClient, deadline: float) -> bool:
    """Collect IDLE responses until one reports a change or the deadline passes."""
    while (remaining := deadline - time.monotonic()) > 0:
        responses = client.idle_check(timeout=remaining)
        if _reports_change(responses):
            return True
        if not responses and time.monotonic() < deadline - 0.1:
            return True  # readable yet nothing parsed: the server hung up; let the caller look
    return False


def _reports_change(responses: Any) -> bool:
    """EXISTS, EXPUNGE, FETCH... are changes; "OK Still here" keep-alives are not."""
    for response in responses or ():
        if not response:
            continue
        if isinstance(response[0], int):
            return True
        if response[0] == b"BYE":
            raise ImapError(f"IMAP server ended the session: {response[1:]!r}")
    return False


# --- OAuth 2.0 token providers -------------------------------------------------------------


def token_from_command(command: str) -> Callable[[], str]:
    """A token provider that runs a command (e.g. a CLI helper) and returns its stdout."""
    argv = shlex.split(command)
    if not argv:
        raise ValueError("token command is empty")
    name = argv[0]

    def provide() -> str:
        try:
            result = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=TOKEN_COMMAND_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise ImapAuthError(f"token command {name!r} could not run: {exc}") from None
        token = result.stdout.strip()
        if result.returncode != 0 or not token:
            detail = result.stderr.strip().splitlines()[-1:] or ["no output"]
            raise ImapAuthError(
                f"token command {name!r} failed (exit {result.returncode}): {detail[0]}"
            )
        return token

    return provide


def token_from_client_credentials(
    token_url: str, client_id: str, client_secret: str, scope: str
) -> Callable[[], str]:
    """A token provider for the OAuth 2.0 client-credentials grant, cached until near expiry."""
    return _ClientCredentials(token_url, client_id, client_secret, scope)


class _ClientCredentials:
    """Fetches and caches one access token; thread-safe."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, scope: str) -> None:
        self._url = token_url
        self._form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
                "scope": scope,
            }
        ).encode()
        self._lock = threading.Lock()
        self._token: str | None = None
        self._valid_until = 0.0

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._valid_until:
                self._token, lifetime = self._request()
                margin = min(TOKEN_EXPIRY_MARGIN, lifetime / 2)
                self._valid_until = time.monotonic() + lifetime - margin
            return self._token

    def _request(self) -> tuple[str, float]:
        """POST the grant; return (access_token, seconds it lives)."""
        request = urllib.request.Request(
            self._url,
            data=self._form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TOKEN_HTTP_TIMEOUT) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise ImapAuthError(
                f"token endpoint {self._url} refused the client credentials: "
                f"HTTP {exc.code} {_oauth_error(exc)}"
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ImapAuthError(f"token endpoint {self._url} failed: {exc}") from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ImapAuthError(f"token endpoint {self._url} sent no access_token")
        return token, _lifetime(body.get("expires_in"))


def _lifetime(expires_in: object) -> float:
    """Seconds a token lives; unknown or odd values mean "do not cache"."""
    if not isinstance(expires_in, int | float | str):
        return 0.0
    try:
        seconds = float(expires_in)
    except ValueError:
        return 0.0
    return seconds if math.isfinite(seconds) and seconds > 0 else 0.0


def _oauth_error(exc: urllib.error.HTTPError) -> str:
    """The RFC 6749 `error` (and description) from an error answer, if there is one."""
    try:
        body = json.loads(exc.read())
    except (ValueError, OSError):
        return ""
    if not isinstance(body, dict):
        return ""
    return " ".join(str(body[k]) for k in ("error", "error_description") if body.get(k))
