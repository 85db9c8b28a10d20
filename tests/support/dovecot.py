"""A throw-away Dovecot IMAP server for the test suite, fully separate from the system one."""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from imapclient import IMAPClient, SocketTimeout

NOBODY_UID = 65534
NOGROUP_GID = 65534
DOVECOT_BIN = "/usr/sbin/dovecot"
START_TIMEOUT = 15.0
STOP_GRACE = 1.0
MULTIAPPEND_CHUNK = 200

_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_APPENDUID = re.compile(rb"\[APPENDUID \d+ ([0-9:,]+)\]")


def find_binary(name: str, fallback: str) -> str | None:
    """Locate a Dovecot binary even when /usr/sbin is not on PATH."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found:
        return found
    return fallback if os.access(fallback, os.X_OK) else None


def free_port() -> int:
    """Ask the kernel for a free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parse_uid_set(text: bytes) -> list[int]:
    """Expand an IMAP uid-set such as b"4:6,9" into [4, 5, 6, 9]."""
    uids: list[int] = []
    for part in text.split(b","):
        first, _, last = part.partition(b":")
        low, high = sorted((int(first), int(last or first)))
        uids.extend(range(low, high + 1))
    return uids


def appended_uids(response: object) -> list[int]:
    """Read the new UIDs out of an APPEND response's APPENDUID code (RFC 4315).

    `append` answers with the text; `multiappend` with (type, [text, ...]).
    """
    if isinstance(response, tuple):
        response = b" ".join(part for part in response[1] if isinstance(part, bytes))
    raw = response if isinstance(response, bytes) else str(response).encode()
    match = _APPENDUID.search(raw)
    if match is None:
        raise RuntimeError(f"server gave no APPENDUID in {raw!r}")
    return parse_uid_set(match.group(1))


def _signal_group(pgid: int, signum: int) -> None:
    """Signal the server's process group (it was started in a session of its own)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _alive(pid: int) -> bool:
    """Whether a process still exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Dovecot:
    """One private Dovecot instance: own config, sockets, state, log and mail under `root`."""

    host = "127.0.0.1"

    def __init__(
        self,
        root: Path | str,
        oauth2_introspection_url: str | None = None,
        sent_folder: str = "Sent",
    ) -> None:
        self.root = Path(root)
        self.oauth2_introspection_url = oauth2_introspection_url
        self.sent_folder = sent_folder  # "Sent Items" to look like Exchange
        self.port = 0
        self._users: dict[str, str] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self.binary = find_binary("dovecot", DOVECOT_BIN)
        self.doveadm = find_binary("doveadm", "/usr/bin/doveadm")

    # --- paths -------------------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def passwd_dir(self) -> Path:
        """One passwd-file per user: Dovecot re-reads a changed file at most once a second,
        but opens a file it has not seen yet at once, so a new user can sign in immediately."""
        return self.root / "users"

    @property
    def home_root(self) -> Path:
        return self.root / "home"

    def home(self, user: str) -> Path:
        """Where a user's home (and ~/Maildir) lives."""
        return self.home_root / user

    # --- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Write the config, start Dovecot in the foreground and wait until IMAP answers."""
        if self.binary is None:
            raise RuntimeError(f"Dovecot is not installed ({DOVECOT_BIN} missing)")
        if self.running:
            return
        self._prepare_dirs()
        self.port = self.port or free_port()
        for name in self._users:
            self._write_passwd(name)
        self._write_config()
        self._process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, so stop() can end every child
        )
        atexit.register(self.stop)  # no stray server if the test run ends abruptly
        self._wait_until_listening()

    def stop(self) -> None:
        """Stop the master and every process it started, open IMAP sessions included."""
        process, self._process = self._process, None
        if process is None:
            return
        atexit.unregister(self.stop)
        _signal_group(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_GRACE)
        # IMAP sessions can outlive the master, and a login process still starting up keeps
        # the master waiting for seconds: end whatever is left of the group for good.
        _signal_group(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()

    def restart(self) -> None:
        """Stop and start again on the same port."""
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log(self) -> str:
        """The server's log so far, for failure messages."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- users and mail ----------------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        """Add a password user, usable at once, before or after start().

        (Changing an existing user's password can take a second to be seen.)
        """
        if not _USER_NAME.fullmatch(name):
            raise ValueError(f"unsuitable test user name: {name!r}")
        if not password or any(ch in password for ch in ":\r\n\0"):
            raise ValueError("passwords must be non-empty, without ':' or line breaks")
        self._users[name] = password
        if self.passwd_dir.exists():
            self._write_passwd(name)

    def connect(self, user: str) -> IMAPClient:
        """A logged-in imapclient connection for `user` (caller logs out)."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=SocketTimeout(5, 30))
        client.login(user, self._users[user])
        return client

    def append(self, user: str, folder: str, raw: bytes) -> int:
        """Append one message and return its new UID."""
        return self.append_many(user, folder, [raw])[0]

    def append_many(self, user: str, folder: str, raws: Iterable[bytes]) -> list[int]:
        """Append many messages over one connection (MULTIAPPEND) and return their UIDs."""
        client = self.connect(user)
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            return self._multiappend(client, folder, list(raws))
        finally:
            client.logout()

    @staticmethod
    def _multiappend(client: IMAPClient, folder: str, raws: Sequence[bytes]) -> list[int]:
        uids: list[int] = []
        for start in range(0, len(raws), MULTIAPPEND_CHUNK):
            chunk = raws[start : start + MULTIAPPEND_CHUNK]
            uids.extend(appended_uids(client.multiappend(folder, chunk)))
        return uids

    def kick(self, user: str) -> None:
        """Disconnect every session of `user` and wait until their processes are gone."""
        pids = self._session_pids(user)
        self._doveadm("kick", user)
        deadline = time.monotonic() + 10
        while pids and time.monotonic() < deadline:
            pids = [pid for pid in pids if _alive(pid)]
            time.sleep(0.02)

    def _session_pids(self, user: str) -> list[int]:
        """The process ids of the user's IMAP sessions (`doveadm who -1`)."""
        out = self._doveadm("who", "-1", user)
        return [int(f[2]) for f in (line.split() for line in out.splitlines()[1:]) if len(f) > 2]

    def reset_mailbox(self, user: str) -> None:
        """Kick the user and wipe the maildir: the next login sees a new UIDVALIDITY, UIDs from 1.

        The `dovecot-uidvalidity*` files stay, so the new UIDVALIDITY is strictly greater
        even within the same second.
        """
        self.kick(user)
        maildir = self.home(user) / "Maildir"
        if not maildir.exists():
            return
        for entry in maildir.iterdir():
            if entry.name.startswith("dovecot-uidvalidity"):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    # --- internals ---------------------------------------------------------------------------

    def _doveadm(self, *args: str) -> str:
        if self.doveadm is None:
            raise RuntimeError("doveadm is not installed")
        result = subprocess.run(
            [self.doveadm, "-c", str(self.config_path), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        # `kick` exits 68 (EX_NOUSER) when the user had no session: nothing to do then.
        if result.returncode not in (0, 68):
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def _prepare_dirs(self) -> None:
        if os.geteuid() != 0:
            raise RuntimeError("the test Dovecot must start as root (mail is stored as uid 65534)")
        for parent in self.root.parents:
            if parent.exists() and not os.stat(parent).st_mode & 0o001:
                raise RuntimeError(
                    f"{parent} is not traversable by Dovecot's own users (needs o+x); "
                    "put the test server under a world-traversable directory such as /tmp"
                )
        for path in (self.root, self.root / "run", self.root / "state", self.passwd_dir):
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o755)
        self.home_root.mkdir(exist_ok=True)
        os.chown(self.home_root, NOBODY_UID, NOGROUP_GID)

    def _write_passwd(self, name: str) -> None:
        path = self.passwd_dir / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(f"{name}:{{PLAIN}}{self._users[name]}::::::\n")
        tmp.chmod(0o644)
        tmp.replace(path)

    def _write_config(self) -> None:
        self.config_path.write_text(self._config_text())
        self.config_path.chmod(0o644)

    def _config_text(self) -> str:
        mechanisms = "plain login"
        oauth2_passdb = ""
        if self.oauth2_introspection_url:
            mechanisms += " xoauth2 oauthbearer"
            oauth2_conf = self.root / "dovecot-oauth2.conf.ext"
            oauth2_conf.write_text(
                f"introspection_mode = post\n"
                f"introspection_url = {self.oauth2_introspection_url}\n"
                "force_introspection = yes\n"
                "username_attribute = username\n"
                "active_attribute = active\n"
                "active_value = true\n"
            )
            oauth2_conf.chmod(0o644)
            oauth2_passdb = (
                "passdb {\n"
                "  driver = oauth2\n"
                "  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {oauth2_conf}\n"
                "}\n"
            )
        return _CONFIG_TEMPLATE.format(
            root=self.root,
            port=self.port,
            uid=NOBODY_UID,
            gid=NOGROUP_GID,
            mechanisms=mechanisms,
            passwd=self.passwd_dir / "%u",
            home_root=self.home_root,
            log=self.log_path,
            oauth2_passdb=oauth2_passdb,
            sent_folder=self.sent_folder,
        )

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise RuntimeError(f"Dovecot exited at start:\n{self._startup_errors()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=2) as probe:
                    if probe.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Dovecot did not listen on {self.port}:\n{self._startup_errors()}")

    def _startup_errors(self) -> str:
        process, stderr = self._process, b""
        if process is not None and process.stderr is not None and process.poll() is not None:
            stderr = process.stderr.read()
        return stderr.decode(errors="replace") + self.log()


_CONFIG_TEMPLATE = """\
# Written by the test suite: a private, throw-away server.
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = mailbag-test-{port}
log_path = {log}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_verbose = yes
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_fsync = never
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
last_valid_gid = {gid}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}

# No growing delay after failed sign-ins: the tests fail on purpose, from one address.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}

passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN {passwd}
}}
{oauth2_passdb}
userdb {{
  driver = passwd-file
  args = {passwd}
  default_fields = uid={uid} gid={gid} home={home_root}/%u
}}

namespace inbox {{
  inbox = yes
  separator = /
  mailbox "{sent_folder}" {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
"""
