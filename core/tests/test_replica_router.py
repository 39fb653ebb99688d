"""The replica router (issue 15, 5b): dashboards, reports and exports read from a streaming replica, writes never do.

The router's rules are checked everywhere (no database needed). The end-to-end test needs a real hot
standby of the test cluster (`bench/replica.py up` makes one on 127.0.0.1:5433 with pg_basebackup); it
is skipped, visibly, when none answers at `REPLICA_TEST_URL`. It pauses the standby's WAL replay, so the
replica is provably behind: a stock write through the API lands on the primary (and answers with the new
balance), while the admin dashboard, the report and the stock export, served by gunicorn with
`DATABASE_REPLICA_URL`, still show the replica's older state, until replay resumes.
"""

import csv
import io
import json
import os
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection, transaction
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tests.factories import UserFactory
from core.db_router import REPLICA, PrimaryReplicaRouter, replica_or_default, replica_reads
from core.tests.test_gunicorn import Server, server_environment
from inventory.models import Stock
from inventory.tests.factories import StockFactory

REPLICA_TEST_URL = os.environ.get("REPLICA_TEST_URL", "postgres://postgres@127.0.0.1:5433/postgres")
router = PrimaryReplicaRouter()


@pytest.fixture
def with_replica(monkeypatch):
    """As if DATABASE_REPLICA_URL were set (the router asks `replica_configured`)."""
    monkeypatch.setattr("core.db_router.replica_configured", lambda: True)


def test_without_a_replica_every_read_uses_the_primary():
    with replica_reads():
        assert router.db_for_read(Stock) == "default"
    assert replica_or_default() == "default"


def test_with_a_replica_only_flagged_reads_outside_a_transaction_use_it(with_replica):
    assert router.db_for_read(Stock) == "default"  # not flagged: e.g. the stock list, a service's reads
    with replica_reads():
        assert router.db_for_read(Stock) == REPLICA
        assert router.db_for_write(Stock) == "default"
    assert router.db_for_read(Stock) == "default"  # the flag ends with the block
    assert router.db_for_write(Stock) == "default"
    assert router.allow_migrate(REPLICA, "inventory") is False
    assert router.allow_migrate("default", "inventory") is True


@pytest.mark.django_db
def test_inside_a_transaction_flagged_reads_stay_on_the_primary(with_replica):
    # The test wraps itself in a transaction, as a service does: its writes and locks must be seen.
    assert transaction.get_connection().in_atomic_block
    with replica_reads():
        assert router.db_for_read(Stock) == "default"


def test_exports_read_the_replica_outside_a_transaction(with_replica):
    """The CSV exports (streamed after the view returned) pick their database when the stream starts."""
    from inventory.models import Product
    from inventory.services.files import export_reads

    assert not transaction.get_connection().in_atomic_block
    assert export_reads(Stock.objects.all()).db == REPLICA
    assert export_reads(Product.objects.all()).db == REPLICA


@pytest.mark.django_db
def test_exports_inside_a_transaction_read_the_primary(with_replica):
    from inventory.services.files import export_reads

    assert export_reads(Stock.objects.all()).db == "default"


def test_without_a_replica_exports_read_the_primary():
    from inventory.services.files import export_reads

    assert export_reads(Stock.objects.all()).db == "default"


# --- end to end, with a real hot standby ---------------------------------------------------------------

def _replica_of_test_database() -> str:
    parts = urlsplit(REPLICA_TEST_URL)
    return urlunsplit(parts._replace(path=f"/{connection.settings_dict['NAME']}"))


def _primary_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _standby():
    import psycopg

    try:
        conn = psycopg.connect(_replica_of_test_database(), autocommit=True, connect_timeout=2)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL replica answers at {REPLICA_TEST_URL} (make one: bench/replica.py up): {exc}")
    if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
        conn.close()
        pytest.skip(f"{REPLICA_TEST_URL} is not a standby")
    return conn


def _wait_for(predicate, what: str, seconds: float = 15):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_dashboards_and_reports_read_the_replica_while_stock_writes_go_to_the_primary(tmp_path):
    standby = _standby()
    admin = UserFactory(admin=True)
    stock = StockFactory(quantity=10, actor=admin)
    on_replica = "SELECT quantity FROM inventory_stock WHERE id = %s"
    _wait_for(lambda: standby.execute(on_replica, [stock.pk]).fetchone() == (10,), "the replica to catch up")

    env = server_environment(_primary_url(), DATABASE_REPLICA_URL=_replica_of_test_database(),
                             SECRET_KEY=settings.SECRET_KEY,  # the token below is signed with this key
                             WEB_CONCURRENCY="1", GUNICORN_THREADS="2", LOG_DIR=str(tmp_path))
    server = Server(env)
    headers = {"Authorization": f"Bearer {AccessToken.for_user(admin)}", "Content-Type": "application/json"}

    def get(path):
        status, _headers, body = server.request("GET", path, headers=headers)
        assert status == 200, body
        return json.loads(body)

    def dashboard_units():
        return get("/api/dashboard/admin/")["totals"]["units_on_hand"]

    def report_moved():
        return get("/api/reports/stock-movements/?period=monthly&format=json")["movement_count"]

    def exported_quantity():
        status, _headers, body = server.request("GET", f"/api/stocks/export/?warehouse={stock.warehouse_id}",
                                                headers=headers)
        assert status == 200, body
        header, *rows = csv.reader(io.StringIO(body.decode("utf-8-sig")))
        (row,) = [row for row in rows if row[header.index("sku")] == stock.product.sku]
        return int(row[header.index("quantity")])

    try:
        _paused_replica_serves_the_read_side(standby, server, stock, headers, dashboard_units, report_moved,
                                             exported_quantity)
        _wait_for(lambda: dashboard_units() == 15, "the dashboard to follow the replica")
        assert report_moved() == 2
        assert exported_quantity() == 15
    finally:
        server.stop()
        standby.close()


def _paused_replica_serves_the_read_side(standby, server, stock, headers, dashboard_units, report_moved,
                                         exported_quantity):
    on_replica = "SELECT quantity FROM inventory_stock WHERE id = %s"
    try:
        assert (dashboard_units(), report_moved(), exported_quantity()) == (10, 1, 10)
        standby.execute("SELECT pg_wal_replay_pause()")
        _wait_for(lambda: standby.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] == "paused",
                  "replay to pause")

        # The write path: assign over the API, on the primary (its lock, its ledger row, its answer).
        status, _headers, body = server.request(
            "POST", "/api/stocks/assign/", headers=headers,
            body=json.dumps({"warehouse": stock.warehouse_id, "product": stock.product_id, "quantity": 5}))
        assert status == 201, body
        assert json.loads(body)["quantity"] == 15  # read back from the primary, not the stale replica
        assert Stock.objects.get(pk=stock.pk).quantity == 15
        assert standby.execute(on_replica, [stock.pk]).fetchone() == (10,)

        # The read side (dashboards, reports, exports) is served by the (paused, so stale) replica.
        assert (dashboard_units(), report_moved(), exported_quantity()) == (10, 1, 10)
    finally:
        standby.execute("SELECT pg_wal_replay_resume()")
