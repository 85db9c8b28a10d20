"""Hand a message to the office's SMTP server; every failure becomes one clear SendError."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr

from crm.errors import MailbagError
from crm.settings import Settings

IMPLICIT_TLS_PORT = 465


class SendError(MailbagError):
    """The server did not take the message; `permanent` when trying again will not help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    starttls: bool
    timeout: float
    sender: str  # the envelope sender: the office's bare address

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        """Fail before anything is queued when the variables sending needs are missing."""
        settings.require("smtp_host", "from_address")
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=float(settings.smtp_timeout),
            sender=parseaddr(settings.from_address)[1],
        )


def is_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host and settings.from_address)


def send(config: SmtpConfig, raw: bytes, recipients: Sequence[str]) -> None:
    """One SMTP conversation with a timeout on every socket operation; raises SendError."""
    where = f"{config.host}:{config.port}"
    try:
        with _connect(config) as server:
            if config.starttls and config.port != IMPLICIT_TLS_PORT:
                server.starttls(context=ssl.create_default_context())
            if config.user:
                server.login(config.user, config.password)
            refused = server.sendmail(config.sender, list(recipients), raw)
    except smtplib.SMTPRecipientsRefused as error:
        answers = _replies(error.recipients)
        raise SendError(f"recipient refused: {answers}", permanent=True) from None
    except smtplib.SMTPAuthenticationError as error:
        raise SendError(
            f"the SMTP server {where} refused the sign-in (MAILBAG_SMTP_USER, "
            f"MAILBAG_SMTP_PASSWORD): {_reply(error.smtp_code, error.smtp_error)}",
            permanent=True,
        ) from None
    except smtplib.SMTPSenderRefused as error:
        raise SendError(
            f"the SMTP server refused the sender {error.sender}: "
            f"{_reply(error.smtp_code, error.smtp_error)}",
            permanent=error.smtp_code >= 500,
        ) from None
    except smtplib.SMTPResponseException as error:
        raise SendError(
            f"the SMTP server {where} said {_reply(error.smtp_code, error.smtp_error)}",
            permanent=error.smtp_code >= 500,
        ) from None
    except smtplib.SMTPNotSupportedError as error:
        raise SendError(f"the SMTP server {where} cannot: {error}", permanent=True) from None
    except ssl.SSLError as error:
        raise SendError(f"TLS with the SMTP server {where} failed: {error}") from None
    except (smtplib.SMTPException, OSError) as error:
        reason = str(error) or type(error).__name__
        raise SendError(f"cannot reach the SMTP server {where}: {reason}") from None
    if refused:
        raise SendError(f"recipient refused: {_replies(refused)}", permanent=True)


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    if config.port == IMPLICIT_TLS_PORT:
        return smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout, context=ssl.create_default_context()
        )
    return smtplib.SMTP(config.host, config.port, timeout=config.timeout)


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(message.split())}"


def _replies(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{rcpt}: {_reply(code, text)}" for rcpt, (code, text) in refused.items())
