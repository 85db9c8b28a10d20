"""Short HMAC signatures for public tokens, with one key per purpose from the app's secret."""

from __future__ import annotations

import base64
import hashlib
import hmac

from crm.errors import SettingsError
from crm.settings import Settings

SIGNATURE_CHARS = 32  # 192 bits of an HMAC-SHA256, URL-safe


def key_for(settings: Settings, purpose: str) -> bytes:
    """A separate key per use, derived from MAILBAG_SECRET_KEY (never the secret itself);
    without a secret there is nothing to sign with: a key from "" anyone could work out."""
    if not settings.secret_key:
        raise SettingsError("MAILBAG_SECRET_KEY is not set: it is needed to sign this")
    return derive(settings.secret_key, purpose)


def derive(secret: str, purpose: str) -> bytes:
    """A separate 32-byte key per use from the one configured secret."""
    return hashlib.sha256(f"mailbag {purpose}\0{secret}".encode()).digest()


def sign(key: bytes, *parts: str) -> str:
    message = "\0".join(parts).encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:SIGNATURE_CHARS]


def verify(key: bytes, signature: str, *parts: str) -> bool:
    """Constant-time comparison, so a forger learns nothing from how long a refusal takes."""
    return hmac.compare_digest(sign(key, *parts).encode(), signature.encode())
