"""Shared fixtures: a world of two warehouses with a user of each role, and authenticated clients."""

from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory
from inventory.tests.factories import ProductFactory
from warehouses.tests.factories import WarehouseFactory


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` are skipped, visibly, when the database is not PostgreSQL."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def client_for(user) -> APIClient:
    """An API client carrying a real access token for `user`."""
    client = APIClient()
    if user is not None:
        token = RefreshToken.for_user(user).access_token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Users are created with passwords everywhere; PBKDF2's deliberate slowness is not under test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _no_throttle(settings):
    rates = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
    rates.update({"user_write": "100000/minute", "auth": "100000/minute"})
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def make_client():
    return client_for


@pytest.fixture
def anon():
    return APIClient()


class World:
    """Two warehouses (A, B), a manager and a staff member for each, an admin and a viewer."""

    def __init__(self):
        self.admin = UserFactory(admin=True, username="admin1")
        self.manager_a = UserFactory(manager=True, username="manager_a")
        self.manager_b = UserFactory(manager=True, username="manager_b")
        self.wh_a = WarehouseFactory(code="A", name="Alpha", manager=self.manager_a)
        self.wh_b = WarehouseFactory(code="B", name="Beta", manager=self.manager_b)
        self.staff_a = UserFactory(staff=True, username="staff_a", warehouse=self.wh_a)
        self.staff_b = UserFactory(staff=True, username="staff_b", warehouse=self.wh_b)
        self.viewer = UserFactory(viewer=True, username="viewer1")
        self.product = ProductFactory(sku="BOLT-1", name="Bolt")
        self.product2 = ProductFactory(sku="NUT-1", name="Nut")



@pytest.fixture
def world(db):
    return World()


_DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}


@pytest.fixture(autouse=True)
def _ledger_is_consistent(request):
    """After every test that used the database, prove the ledger (before its transaction rolls back)."""
    if not (request.node.get_closest_marker("django_db") or _DB_FIXTURES & set(request.fixturenames)):
        yield
        return
    # Set the database up inside this fixture, so it is torn down after the check below; likewise the
    # settings, so a test's TIME_ZONE (the daily roll-up's days) is still in force when it is checked.
    request.getfixturevalue("settings")
    request.getfixturevalue("_django_db_helper")
    yield
    if connection.needs_rollback or (connection.connection is not None and not connection.is_usable()):
        return  # the test left a broken transaction; it fails on its own terms
    from inventory.verification import ledger_mismatches

    mismatches = ledger_mismatches(limit=10)
    if mismatches:
        pytest.fail("ledger check failed after the test:\n" + "\n".join(str(m) for m in mismatches), pytrace=False)


BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def berlin(settings):
    """Project time zone Europe/Berlin (a zone with DST and a non-zero offset)."""
    settings.TIME_ZONE = "Europe/Berlin"
    return BERLIN


def pytest_terminal_summary(terminalreporter):
    """Tell CI where the real-browser screenshots are (core/tests/test_browser.py)."""
    from core.tests.test_browser import SHOTS

    if SHOTS.is_dir() and any(SHOTS.glob("*.png")):
        terminalreporter.write_line(f"browser screenshots: {SHOTS}")
