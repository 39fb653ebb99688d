from datetime import datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def berlin(settings):
    """Project time zone Europe/Berlin."""
    settings.TIME_ZONE = "Europe/Berlin"
    return BERLIN


@pytest.fixture
def frozen_now():
    """Freeze "now" (what decides "today") at a chosen instant: frozen_now(datetime(...))."""
    patches = []

    def freeze(instant: datetime):
        patcher = mock.patch("django.utils.timezone.now", return_value=instant)
        patches.append(patcher)
        patcher.start()
        return instant

    yield freeze
    for patcher in patches:
        patcher.stop()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """The world's users are created with passwords; a fast hasher keeps these read-side tests quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
