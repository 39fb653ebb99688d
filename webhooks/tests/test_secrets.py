"""Secrets at rest: encrypted under WEBHOOK_ENCRYPTION_KEYS (MultiFernet: the first encrypts, all decrypt)."""

import pytest
from cryptography.fernet import Fernet

from webhooks import secrets
from webhooks.errors import WebhooksNotConfigured


def test_a_secret_is_whsec_and_32_random_bytes():
    made = {secrets.new_secret() for _ in range(5)}
    assert len(made) == 5
    assert all(s.startswith("whsec_") and len(secrets.signing_key(s)) == 32 for s in made)


def test_keys_rotate_without_recreating_endpoints(settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.WEBHOOK_ENCRYPTION_KEYS = [old_key]
    token = secrets.encrypt("whsec_abc")
    settings.WEBHOOK_ENCRYPTION_KEYS = [new_key, old_key]  # the new key first: it encrypts, both decrypt
    assert secrets.decrypt(token) == "whsec_abc"
    rotated = secrets.reencrypt(token)
    settings.WEBHOOK_ENCRYPTION_KEYS = [new_key]
    assert secrets.decrypt(rotated) == "whsec_abc"
    with pytest.raises(WebhooksNotConfigured):
        secrets.decrypt(token)  # the old key is gone


def test_debug_derives_a_development_key_and_production_requires_one(settings):
    settings.WEBHOOK_ENCRYPTION_KEYS = []
    settings.DEBUG = True
    assert secrets.decrypt(secrets.encrypt("whsec_x")) == "whsec_x"
    settings.DEBUG = False
    with pytest.raises(WebhooksNotConfigured):
        secrets.encrypt("whsec_x")
    settings.WEBHOOK_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(WebhooksNotConfigured) as refused:
        secrets.encrypt("whsec_x")
    assert "not-a-fernet-key" not in str(refused.value)
