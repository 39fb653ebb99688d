"""Shared fixtures: a world of two warehouses with a user of each role, and authenticated clients.

The world is built once per test module, inside a transaction rolled back at the module's end; each
test runs in a savepoint inside it with its own deep copy of the model instances (what Django's
`setUpTestData` does). Transactional tests build and commit a world of their own. The ledger is proven
after every test that wrote to the database and after every transactional test.
"""

import copy
import functools
import re
import time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory
from inventory.tests.factories import ProductFactory
from warehouses.tests.factories import WarehouseFactory

# Modules whose every test is `heavy` and whose collection itself is costly: collecting the schemathesis module
# builds every operation's cases (~12 s per pytest-xdist worker on the CI machine).
HEAVY_MODULES = {"test_schema_truth.py"}


def pytest_ignore_collect(collection_path, config):
    """A run that deselects the heavy tests (`-m 'not heavy'`, CI's SQLite run) does not collect HEAVY_MODULES:
    every test in them would be deselected after paying for its collection."""
    if collection_path.name not in HEAVY_MODULES or not config.option.markexpr:
        return None
    from _pytest.mark.expression import Expression

    heavy_selected = Expression.compile(config.option.markexpr).evaluate(lambda name, **kwargs: name == "heavy")
    return True if not heavy_selected else None


def pytest_collection_modifyitems(config, items):
    """The heavy proofs run first; tests marked `postgres` are skipped, visibly, when the database is not
    PostgreSQL.

    Order: pytest-xdist hands tests out in collection order, and `webhooks` is collected last: its one-minute
    load test would start near the end and leave the other worker idle while it runs. So the heavy tests start
    first, the single long ones (not parametrized) before the many short schemathesis cases; the rest keep
    their order.
    """
    from django.conf import settings

    def start(item) -> int:
        if item.get_closest_marker("heavy") is None:
            return 2
        return 1 if hasattr(item, "callspec") else 0

    items.sort(key=start)  # stable
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


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Users are created with passwords everywhere; PBKDF2's deliberate slowness is not under test."""
    settings.PASSWORD_HASHERS = FAST_HASHERS


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


TEST_WEBHOOK_KEY = "dGVzdC1vbmx5LXdlYmhvb2stZW5jcnlwdGlvbi1rZXk="  # a Fernet key for the test suite only


@pytest.fixture(autouse=True)
def _webhook_encryption_key(settings):
    """pytest-django runs with DEBUG off, as production: webhook secrets need a configured key."""
    settings.WEBHOOK_ENCRYPTION_KEYS = [TEST_WEBHOOK_KEY]


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


# --- which tests use the database, and how -----------------------------------------------------------

_DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}
_TRANSACTIONAL_FIXTURES = {"transactional_db", "live_server", "django_db_reset_sequences",
                           "django_db_serialized_rollback"}


def uses_database(item) -> bool:
    return bool(item.get_closest_marker("django_db") or _DB_FIXTURES & set(item.fixturenames)
                or "world" in item.fixturenames)


def is_transactional(item) -> bool:
    """Does the test commit (a TransactionTestCase: threads, live servers, other processes)?"""
    marker = item.get_closest_marker("django_db")
    if marker:
        from pytest_django.fixtures import validate_django_db

        transactional, reset_sequences, *_ = validate_django_db(marker)
        if transactional or reset_sequences:
            return True
    return bool(_TRANSACTIONAL_FIXTURES & set(item.fixturenames))


# --- the world, once per module ----------------------------------------------------------------------

class SharedWorld:
    """One module's World, built once inside an outer transaction that is rolled back at the module's end.

    Each test runs in a savepoint inside it (pytest-django's per-test atomic nests in the open
    transaction) with a deep copy of the model instances, so whatever a test changes, in the database or
    in memory, is gone for the next. Closed (rolled back) before a test of the module that must not see
    it (a database test without `world`, or a transactional one); the next test that wants it rebuilds it.
    """

    current: "SharedWorld | None" = None  # the running module's (one module at a time per process)
    wanted_by_next_test = False  # set by pytest_runtest_setup for the test about to be set up
    # Rebuilt when older: no transaction stays open for long. On PostgreSQL the change feed's horizon is
    # the oldest transaction in the whole cluster, and the feed tests of the other (xdist) workers wait
    # for it to pass; a rebuild costs a few tens of milliseconds.
    MAX_AGE_SECONDS = 3.0

    def __init__(self, blocker):
        self.blocker = blocker
        self.atomic = None
        self.world = None
        self.opened_at = 0.0

    @property
    def is_stale(self) -> bool:
        return not self.is_open or time.monotonic() - self.opened_at > self.MAX_AGE_SECONDS

    @property
    def is_open(self) -> bool:
        # A test that closed the connection (or broke the outer transaction) took the world with it.
        return (self.atomic is not None and connection.in_atomic_block and bool(connection.atomic_blocks)
                and connection.atomic_blocks[0] is self.atomic and not connection.needs_rollback)

    def open(self) -> None:
        self.close()
        with self.blocker.unblock():
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
                self.world = World()
            failure = ledger_failure()
            assert failure is None, f"the shared world breaks the ledger:\n{failure}"
        self.opened_at = time.monotonic()

    def close(self) -> None:
        atomic, self.atomic, self.world = self.atomic, None, None
        if atomic is None:
            return
        with self.blocker.unblock():
            if connection.atomic_blocks and connection.atomic_blocks[0] is atomic:
                transaction.set_rollback(True)
                atomic.__exit__(None, None, None)

    def copy(self) -> World:
        return copy.deepcopy(self.world)


@pytest.fixture(scope="module")
def _shared_world(django_db_setup, django_db_blocker):
    """The module's SharedWorld: module-scoped, so it is set up before the first test's own transaction."""
    shared = SharedWorld(django_db_blocker)
    SharedWorld.current = shared
    if SharedWorld.wanted_by_next_test:
        shared.open()
    yield shared
    shared.close()
    SharedWorld.current = None


class Vacuum:
    """PostgreSQL: VACUUM the test database every VACUUM_EVERY seconds, between two tests.

    Every test's rows are rolled back, and on PostgreSQL a rolled-back row stays in its table as a dead
    tuple until (auto)vacuum removes it: after the bulk tests (10 000-row imports, `seed_demo --scale`)
    the ledger proof and the services scan tens of thousands of dead rows, several times slower (the
    stock state machine took 22 s instead of 13 s after test_commands.py alone). Autovacuum comes too
    late on a busy test database, so the suite does it itself; VACUUM needs no open transaction, so the
    shared world is closed first (the next test rebuilds it).
    """

    EVERY_SECONDS = 20.0
    last = time.monotonic()

    @classmethod
    def maybe(cls, blocker) -> None:
        if time.monotonic() - cls.last < cls.EVERY_SECONDS:
            return
        cls.last = time.monotonic()
        with blocker.unblock():
            if connection.vendor != "postgresql" or connection.in_atomic_block:
                return
            with connection.cursor() as cursor:
                cursor.execute("VACUUM")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before any fixture of a test: (re)open the module's shared world for a test that wants it; close it
    before a database test that must not see it. Now and then (PostgreSQL) VACUUM the dead rows away."""
    SharedWorld.wanted_by_next_test = wanted = "world" in item.fixturenames and not is_transactional(item)
    shared = SharedWorld.current
    if shared is None or not uses_database(item):
        return
    if time.monotonic() - Vacuum.last >= Vacuum.EVERY_SECONDS:
        shared.close()
        Vacuum.maybe(shared.blocker)
    if not wanted:
        shared.close()
    elif shared.is_stale:
        shared.open()


@pytest.fixture
def world(request, _shared_world, db):
    """The module's world, a copy per test; a transactional test builds (and commits) its own."""
    if is_transactional(request.node):
        return World()
    assert _shared_world.is_open, "the shared world must be open before the test's transaction"
    return _shared_world.copy()


# --- the ledger proof after every test that wrote ------------------------------------------------------

# Apps whose tables the ledger proof never reads (users, roles, tokens, audit, warehouses, idempotency,
# tasks, cache): a test that wrote only there leaves the proof's answer as the last proof found it. Every
# other table, those of apps added later included, counts as a write to the ledger. `ledger_failure`
# checks, each time it runs, that the proof's SQL reads none of these tables.
LEDGER_FREE_APPS = ("admin", "auth", "contenttypes", "sessions", "token_blacklist", "django_tasks_database",
                    "core", "accounts", "warehouses", "webhooks")


@functools.cache
def _ledger_free_tables() -> frozenset[str]:
    from django.apps import apps

    tables = {model._meta.db_table for label in LEDGER_FREE_APPS
              for model in apps.get_app_config(label).get_models(include_auto_created=True)}
    return frozenset({*tables, "django_cache"})  # the database cache's table (settings.CACHES)


_TABLE = re.compile(r'(?:FROM|JOIN|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


def ledger_failure() -> str | None:
    """None, or every disagreement between balances, buckets, roll-ups and the ledger (at most 10)."""
    from inventory.verification import ledger_mismatches

    statements = []

    def note(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note):
        mismatches = ledger_mismatches(limit=10)
    read = {table for sql in statements for table in _TABLE.findall(sql)}
    assert not read & _ledger_free_tables(), (
        f"the ledger proof reads {sorted(read & _ledger_free_tables())}: take them out of LEDGER_FREE_APPS")
    return "\n".join(str(m) for m in mismatches) if mismatches else None


class WriteWatch:
    """An execute wrapper noting whether the test wrote to a table the ledger proof may read.

    Reads and transaction control are not writes; INSERT, UPDATE and DELETE on the tables of
    LEDGER_FREE_APPS are not writes to the ledger; every other statement (raw SQL included) is.
    """

    READS = re.compile(r"\s*(SELECT|SAVEPOINT|RELEASE\s+SAVEPOINT|ROLLBACK\s+TO\s+SAVEPOINT|SET\s+CONSTRAINTS|"
                       r"BEGIN|SHOW|EXPLAIN|PRAGMA\s+foreign_key_check)\b", re.IGNORECASE)
    WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?\s', re.IGNORECASE)

    def __init__(self):
        self.wrote = False
        self.ledger_free = _ledger_free_tables()

    def __call__(self, execute, sql, params, many, context):
        if not self.wrote and not self.READS.match(sql):
            write = self.WRITE.match(sql)
            self.wrote = write is None or write.group(1) not in self.ledger_free
        return execute(sql, params, many, context)


@pytest.fixture(autouse=True)
def _ledger_is_consistent(request):
    """After every test that wrote to the ledger's tables, prove the ledger (before its transaction rolls back).

    Every statement on the test's connection is watched. A non-transactional test starts from a proven
    state (the module's shared world is proven when built; each test's writes are rolled back), so a
    test that wrote nothing the proof reads cannot have broken it. Transactional tests are always proven
    (their threads, servers and subprocesses write on connections of their own).
    """
    if not uses_database(request.node):
        yield
        return
    # Set the database up inside this fixture, so it is torn down after the check below; likewise the
    # settings, so a test's TIME_ZONE (the daily roll-up's days) is still in force when it is checked.
    request.getfixturevalue("settings")
    request.getfixturevalue("_django_db_helper")
    watch = WriteWatch()
    with connection.execute_wrapper(watch):
        yield
    if not (watch.wrote or is_transactional(request.node)):
        return
    if connection.needs_rollback or (connection.connection is not None and not connection.is_usable()):
        return  # the test left a broken transaction; it fails on its own terms
    failure = ledger_failure()
    if failure:
        pytest.fail("ledger check failed after the test:\n" + failure, pytrace=False)


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
