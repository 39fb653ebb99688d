"""Fixtures for the cross-cutting API plumbing tests."""

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """The world fixture sets a password for every user; a fast hasher keeps these tests quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
