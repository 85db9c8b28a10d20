"""The one settings object, read once from MAILBAG_* environment variables and passed down."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from crm.errors import SettingsError
from tagging.postcodes import normalise_areas

DEFAULT_THIRD_PARTY_DOMAINS = (
    "gov.uk",
    "nhs.uk",
    "nhs.net",
    "police.uk",
    "parliament.uk",
    "mod.uk",
    # the devolved governments and health services
    "gov.scot",
    "gov.wales",
    "llyw.cymru",
    "nhs.scot",
    "hscni.net",
)


def _text(value: str) -> str:
    return value.strip()


def _integer(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError(f"expected a whole number, got {value!r}") from None


def _port(value: str) -> int:
    port = _integer(value)
    if not 0 < port < 65536:
        raise ValueError(f"expected a port number between 1 and 65535, got {port}")
    return port


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected on/off (true/false, yes/no, 1/0), got {value!r}")


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _addresses(value: str) -> frozenset[str]:
    addresses = _csv(value)
    for address in addresses:
        if "@" not in address or address.startswith("@") or address.endswith("@"):
            raise ValueError(f"expected email addresses separated by commas, got {address!r}")
    return frozenset(a.lower() for a in addresses)


def _case_prefix(value: str) -> str:
    prefix = value.strip()
    if not prefix.isalnum() or not prefix.isascii() or len(prefix) > 8:
        raise ValueError(f"expected up to 8 letters or digits, got {value!r}")
    return prefix.upper()


def _imap_auth(value: str) -> str:
    lowered = value.strip().lower()
    if lowered not in {"password", "xoauth2", "oauthbearer"}:
        raise ValueError(f"expected password, xoauth2 or oauthbearer, got {value!r}")
    return lowered


def _mailbox(value: str) -> str:
    """One address, optionally with a display name: "Office of Jane Doe MP <casework@...>"."""
    _name, address = parseaddr(value.strip())
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise ValueError(f"expected an email address, got {value.strip()!r}")
    return value.strip()


def _lines(value: str) -> tuple[str, ...]:
    """Lines of a postal address or signature, split on "|", new lines or commas."""
    separator = "|" if "|" in value else "\n" if "\n" in value else ","
    return tuple(part.strip() for part in value.split(separator) if part.strip())


def _directory(value: str) -> Path:
    path = Path(value.strip()).expanduser()
    if not path.is_dir():
        raise ValueError(f"expected an existing directory, got {value.strip()!r}")
    return path


def _postcode_areas(value: str) -> tuple[str, ...]:
    """The office's patch as postcode areas, districts or sectors: "EX1, EX2, EX4 6"."""
    return normalise_areas(_csv(value))


def _response_days(value: str) -> tuple[tuple[str, int], ...]:
    """Working days to answer per urgency value: "immediate=1,high=5,normal=15,low=20"."""
    days: dict[str, int] = {}
    for item in _csv(value):
        name, equals, number = item.partition("=")
        if not equals or not name.strip() or not number.strip().isdigit():
            raise ValueError(f"expected urgency=days pairs like high=5, got {item!r}")
        days[" ".join(name.split()).lower()] = int(number)
    return tuple(days.items())


def _database_url(value: str) -> str:
    url = value.strip()
    if not url.startswith(("sqlite", "postgresql")):
        raise ValueError(f"expected a sqlite:/// or postgresql+psycopg:// URL, got {url[:40]!r}")
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _secret_key(value: str) -> str:
    """Signs and encrypts the web view's session cookies: long and random, never a word."""
    if len(value.strip()) < 32:
        raise ValueError("expected at least 32 random characters (e.g. `openssl rand -hex 32`)")
    return value.strip()


def _base_url(value: str) -> str:
    url = value.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// address, got {url[:40]!r}")
    return url


def _fraction(value: str) -> float:
    """A share between 0 and 1, e.g. the Jaccard similarity that makes two letters one."""
    try:
        number = float(value.strip())
    except ValueError:
        raise ValueError(f"expected a number between 0 and 1, got {value!r}") from None
    if not 0 < number <= 1:
        raise ValueError(f"expected a number between 0 and 1, got {number}")
    return number


def _at_least_two(value: str) -> int:
    number = _integer(value)
    if number < 2:
        raise ValueError(f"expected 2 or more, got {number}")
    return number


def _redis_url(value: str) -> str:
    url = value.strip()
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"expected a redis://host:port/db URL, got {url[:40]!r}")
    return url


def _days(value: str) -> int:
    """A number of days between 1 and 365."""
    number = _integer(value)
    if not 1 <= number <= 365:
        raise ValueError(f"expected a number of days between 1 and 365, got {number}")
    return number


def _threads(value: str) -> int:
    number = _integer(value)
    if not 1 <= number <= 64:
        raise ValueError(f"expected a number of threads between 1 and 64, got {number}")
    return number


def _minutes(value: str) -> int:
    """A number of minutes between 1 and a day."""
    number = _integer(value)
    if not 1 <= number <= 1440:
        raise ValueError(f"expected a number of minutes between 1 and 1440, got {number}")
    return number


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _recipients(value: str) -> tuple[str, ...]:
    """Addresses separated by commas, in the order given (who gets the weekly review)."""
    addresses = _csv(value)
    for address in addresses:
        if "@" not in address or address.startswith("@") or address.endswith("@"):
            raise ValueError(f"expected email addresses separated by commas, got {address!r}")
    return addresses


def _weekday(value: str) -> str:
    day = value.strip().lower()[:3]
    if day not in WEEKDAYS:
        raise ValueError(f"expected a day of the week (mon, tue, ... sun), got {value.strip()!r}")
    return day


def _clock(value: str) -> time:
    """A time of day on the 24-hour clock, "07:30"."""
    hours, colon, minutes = value.strip().partition(":")
    if not colon or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"expected a time like 07:30, got {value.strip()!r}")
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError(f"expected a time between 00:00 and 23:59, got {value.strip()!r}")
    return time(int(hours), int(minutes))


def _retention_days(value: str) -> int:
    """How many days something is kept before the retention policy erases it; 0 keeps it."""
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"expected a number of days (0 keeps for ever), got {value!r}") from None
    if number < 0:
        raise ValueError(f"expected a number of days (0 keeps for ever), got {number}")
    return number


def _existing_file(value: str) -> Path:
    """A file that is there now, e.g. the office's own screener questions."""
    path = Path(value.strip()).expanduser()
    if not path.is_file():
        raise ValueError(f"expected an existing file, got {value.strip()!r}")
    return path


@dataclass(frozen=True)
class Settings:
    """Every setting Mailbag reads; `Settings.from_env()` is called once at the edge."""

    data_dir: Path = Path("mailbag-data")
    database_url: str = ""
    imap_host: str = ""
    imap_port: int = 993
    imap_user: str = ""
    imap_password: str = field(default="", repr=False)
    imap_ssl: bool = True
    imap_auth: str = "password"
    imap_oauth_token_command: str = ""
    imap_oauth_token_url: str = ""
    imap_oauth_client_id: str = ""
    imap_oauth_client_secret: str = field(default="", repr=False)
    imap_oauth_scope: str = ""
    imap_folders: tuple[str, ...] = ("INBOX", "Sent")
    imap_sent_folders: tuple[str, ...] = ("Sent",)
    imap_batch_size: int = 100
    imap_timeout: int = 120
    imap_processed_keyword: str = ""
    office_addresses: frozenset[str] = frozenset()
    staff_addresses: frozenset[str] = frozenset()
    third_party_domains: tuple[str, ...] = DEFAULT_THIRD_PARTY_DOMAINS
    case_prefix: str = "MB"
    max_attachment_bytes: int = 25 * 1024 * 1024
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_starttls: bool = True
    smtp_timeout: int = 30
    from_address: str = ""
    auto_acknowledge: bool = True
    templates_dir: Path | None = None
    representative_name: str = ""
    office_name: str = ""
    office_postal_address: tuple[str, ...] = ()
    office_phone: str = ""
    office_signature: tuple[str, ...] = ()
    constituency_postcodes: tuple[str, ...] = ()
    response_days: tuple[tuple[str, int], ...] = ()
    redis_url: str = ""
    redis_namespace: str = "dramatiq"  # prefix of every key the workers keep in Redis
    chase_grace_days: int = 21
    second_chase_days: int = 7
    sweep_minutes: int = 5
    campaign_threshold: float = 0.7
    campaign_min_senders: int = 3
    campaign_personal_words: int = 60
    secret_key: str = field(default="", repr=False)
    base_url: str = ""
    report_recipients: tuple[str, ...] = ()
    report_day: str = "mon"
    report_time: time = time(7, 30)
    retain_closed_cases_days: int = 1461  # four years after closing, then erased; 0: kept
    retain_campaign_mail_days: int = 365
    retain_not_casework_days: int = 365
    retain_quarantine_days: int = 365
    screener_file: Path | None = None  # the enquiry form's questions; None: the shipped ones
    status_link_days: int = 90
    status_emails: bool = False  # status emails to constituents (referred, reply, closed)
    web_threads: int = 2  # requests one web process works on at once; the rest wait their turn

    @property
    def effective_database_url(self) -> str:
        """SQLite under the data directory unless a database URL is set."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'mailbag.sqlite3').resolve()}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read MAILBAG_* variables; a bad value raises SettingsError naming the variable."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, parse in _PARSERS.items():
            variable = f"MAILBAG_{name.upper()}"
            raw = env.get(variable)
            if raw is None or raw.strip() == "":
                continue
            try:
                values[name] = parse(raw)
            except ValueError as error:
                raise SettingsError(f"{variable}: {error}") from None
        return cls(**values)

    def require(self, *names: str) -> None:
        """Fail with one line naming the first missing variable a command needs."""
        for name in names:
            if not getattr(self, name):
                raise SettingsError(f"MAILBAG_{name.upper()} is not set: it is needed for this")


_PARSERS: dict[str, Callable[[str], Any]] = {
    "data_dir": lambda v: Path(v.strip()),
    "database_url": _database_url,
    "imap_host": _text,
    "imap_port": _port,
    "imap_user": _text,
    "imap_password": lambda v: v,
    "imap_ssl": _boolean,
    "imap_auth": _imap_auth,
    "imap_oauth_token_command": _text,
    "imap_oauth_token_url": _text,
    "imap_oauth_client_id": _text,
    "imap_oauth_client_secret": lambda v: v,
    "imap_oauth_scope": _text,
    "imap_folders": _csv,
    "imap_sent_folders": _csv,
    "imap_batch_size": _integer,
    "imap_timeout": _integer,
    "imap_processed_keyword": _text,
    "office_addresses": _addresses,
    "staff_addresses": _addresses,
    "third_party_domains": lambda v: tuple(d.lower().lstrip(".") for d in _csv(v)),
    "case_prefix": _case_prefix,
    "max_attachment_bytes": _integer,
    "smtp_host": _text,
    "smtp_port": _port,
    "smtp_user": _text,
    "smtp_password": lambda v: v,
    "smtp_starttls": _boolean,
    "smtp_timeout": _integer,
    "from_address": _mailbox,
    "auto_acknowledge": _boolean,
    "templates_dir": _directory,
    "representative_name": _text,
    "office_name": _text,
    "office_postal_address": _lines,
    "office_phone": _text,
    "office_signature": _lines,
    "constituency_postcodes": _postcode_areas,
    "response_days": _response_days,
    "redis_url": _redis_url,
    "redis_namespace": _text,
    "chase_grace_days": _days,
    "second_chase_days": _days,
    "sweep_minutes": _minutes,
    "secret_key": _secret_key,
    "base_url": _base_url,
    "campaign_threshold": _fraction,
    "campaign_min_senders": _at_least_two,
    "campaign_personal_words": _integer,
    "report_recipients": _recipients,
    "report_day": _weekday,
    "report_time": _clock,
    "retain_closed_cases_days": _retention_days,
    "retain_campaign_mail_days": _retention_days,
    "retain_not_casework_days": _retention_days,
    "retain_quarantine_days": _retention_days,
    "screener_file": _existing_file,
    "status_link_days": _days,
    "status_emails": _boolean,
    "web_threads": _threads,
}
