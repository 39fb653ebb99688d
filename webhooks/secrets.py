"""Signing secrets: made, encrypted at rest, and the ones a delivery is signed with (SPEC §16).

A secret is `whsec_` + base64 of 32 random bytes. It is stored as a Fernet token under
`WEBHOOK_ENCRYPTION_KEYS` (comma-separated Fernet keys, `MultiFernet`: the first encrypts, all decrypt, so an
operator rotates keys by putting a new one first and re-encrypting with `manage.py reencrypt_webhook_secrets`).
With DEBUG on and no keys set, a development key is derived from SECRET_KEY; with DEBUG off and no keys,
creating an endpoint is refused (503 `webhooks_not_configured`). Secrets are never logged: nothing here
formats one into a message.
"""

import base64
import hashlib
import secrets
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from .errors import WebhooksNotConfigured

PREFIX = "whsec_"
# A replaced secret still signs deliveries this long after its replacement (two signatures meanwhile).
OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    """`whsec_` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: the base64-decoded part after `whsec_`."""
    return base64.b64decode(secret.removeprefix(PREFIX))


def _keys() -> list[bytes]:
    configured = [key.strip() for key in getattr(settings, "WEBHOOK_ENCRYPTION_KEYS", []) if key.strip()]
    if configured:
        return [key.encode() for key in configured]
    if settings.DEBUG:
        # Development only: stable across restarts, never used with DEBUG off.
        digest = hashlib.sha256(b"webhook-secrets:" + settings.SECRET_KEY.encode()).digest()
        return [base64.urlsafe_b64encode(digest)]
    raise WebhooksNotConfigured()


def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in _keys()])
    except ValueError as exc:  # a malformed key: say which setting, never the key
        raise WebhooksNotConfigured("WEBHOOK_ENCRYPTION_KEYS holds a value that is not a Fernet key.") from exc


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise WebhooksNotConfigured("A webhook secret cannot be decrypted with WEBHOOK_ENCRYPTION_KEYS.") from exc


def reencrypt(token: str) -> str:
    """The same secret under the first key (after a key rotation)."""
    return _fernet().rotate(token.encode()).decode()


def signing_secrets(endpoint, *, now: datetime) -> list[str]:
    """The secrets a delivery made at `now` is signed with: the current one, then those replaced less than
    24 hours ago (newest first)."""
    found = [decrypt(endpoint.secret_encrypted)]
    for previous in endpoint.previous_secrets:
        if now - datetime.fromisoformat(previous["replaced_at"]) < OVERLAP:
            found.append(decrypt(previous["secret"]))
    return found
