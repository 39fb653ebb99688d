import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """The world's users hash passwords; PBKDF2 would dominate test time on a shared 2-core machine."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
