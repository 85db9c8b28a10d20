"""A real SMTP server for the tests: aiosmtpd on a loopback port, keeping what it receives."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One message as it crossed the wire: the envelope and the raw bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def free_port() -> int:
    """A loopback port nothing listens on (also what "the SMTP server is down" looks like)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.server.rejected:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        with self.server.lock:
            self.server.received.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(raw))
            )
        return "250 2.0.0 Message accepted for delivery"


class SmtpServer:
    """Start, collect, reject chosen recipients, stop; with an optional user and password."""

    def __init__(self, *, user: str | None = None, password: str | None = None) -> None:
        self.host = HOST
        self.port = free_port()
        self.received: list[Received] = []
        self.rejected: set[str] = set()
        self.lock = threading.Lock()
        options: dict[str, Any] = {}
        if user is not None:
            options = {
                "authenticator": _authenticator(user, password or ""),
                "auth_required": True,
                "auth_require_tls": False,
            }
        self.controller = Controller(_Handler(self), hostname=HOST, port=self.port, **options)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
        self.rejected.clear()

    def reject(self, address: str) -> None:
        """Answer RCPT TO for this address with a permanent 550."""
        self.rejected.add(address.lower())

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _authenticator(user: str, password: str) -> Any:
    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == user
            and data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False)

    return authenticate
