"""Queries per hot-path decision over the API, pinned: a new query on the approval path fails here first.

`bench/hot_row_bench.py` measures what these cost under load (docs/BENCHMARKS.md). The pins are the counts
measured when they were written; lower them when the path gets cheaper, never raise them without a reason.
The locked section (from the stock row's `FOR UPDATE` to the commit) is counted on PostgreSQL, where it is
a real lock: everything in it holds the hot row.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from inventory.models import Reservation, Stock
from inventory.tests.factories import StockFactory
from workflows.models import PurchaseRequest
from workflows.tests.factories import PurchaseRequestFactory

pytestmark = pytest.mark.django_db

# Measured (SQLite and PostgreSQL alike): the statements of one request, savepoints included (the test
# wraps each test in a transaction, so the services' atomic blocks are savepoints here). Approval: the user,
# the view's scope lookup, SAVEPOINT, the request's lock (its warehouse and product read along), the stock
# lock, the stock UPDATE, the ledger INSERT, its day's roll-up upsert (`inventory.rollups.record`, read by the
# dashboards), the threshold-and-open-alert read, the request's UPDATE, the audit INSERT, RELEASE (was 21
# before the scope, policy and stock checks moved onto the locked rows). Since lots (SPEC §14), +1 each: the
# product's `tracking`, read again under the row lock, so no operation straddles a tracking switch. Since
# replenishment (SPEC §15), +1 each: the reorder-rule lookup (every change of a row is evaluated in its
# transaction; one statement when the row has no rule, pinned in workflows/tests/test_services_replenishment.py).
# Since webhooks (SPEC §16), +1 each: "is an endpoint listening?" (the active endpoints' filters, read once per
# transaction however many events it announces: webhooks/listening.py).
APPROVAL_QUERIES = 15
RESERVE_QUERIES = 12  # was 15: no `exists()` before the stock lock, no due-reservation query on a row reserving 0
FULFIL_QUERIES = 15  # was 17: scope on the locked row, product read along, one alert read (+1: the roll-up)
# Under the stock row's lock (PostgreSQL): the lock, the stock UPDATE, the ledger INSERT and its roll-up upsert,
# the threshold-and-open-alert read, the request's UPDATE and its audit INSERT (was 8: the due-reservation check
# is skipped on a row reserving nothing, threshold and open alert are one statement); +1: `tracking` (§14);
# +1: the reorder-rule lookup (§15); +1: the webhook endpoints' filters (§16).
LOCKED_STATEMENTS = 10
PROFILE_QUERIES = 2  # the baseline of the benchmark: the token's user, and the profile row


def _stock_lock_index(queries) -> int:
    """Index of the first statement that locks a stock row (PostgreSQL: `... FROM "inventory_stock" ... FOR UPDATE`)."""
    for index, query in enumerate(queries):
        sql = query["sql"]
        if sql.startswith("SELECT") and 'FROM "inventory_stock"' in sql and "FOR UPDATE" in sql:
            return index
    raise AssertionError("no stock row was locked:\n" + "\n".join(q["sql"][:120] for q in queries))


def _approve(make_client):
    admin = UserFactory(admin=True)
    stock = StockFactory(quantity=5)
    purchase = PurchaseRequestFactory(warehouse=stock.warehouse, product=stock.product)
    client = make_client(admin)
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/api/purchase-requests/approve/", {"id": purchase.pk, "decision": "approve"})
    assert response.status_code == 200, response.content
    assert PurchaseRequest.objects.get(pk=purchase.pk).status == "approved"
    assert Stock.objects.get(pk=stock.pk).quantity == 4
    return captured.captured_queries


def test_one_purchase_approval_costs_a_pinned_number_of_queries(make_client):
    queries = _approve(make_client)
    assert len(queries) <= APPROVAL_QUERIES, "\n".join(q["sql"][:160] for q in queries)


def test_reserve_and_fulfil_cost_a_pinned_number_of_queries(make_client):
    admin = UserFactory(admin=True)
    stock = StockFactory(quantity=5)
    client = make_client(admin)
    with CaptureQueriesContext(connection) as reserve:
        response = client.post("/api/reservations/", {"warehouse": stock.warehouse_id, "product": stock.product_id,
                                                      "quantity": 1})
    assert response.status_code == 201, response.content
    reservation_id = response.json()["id"]
    with CaptureQueriesContext(connection) as fulfil:
        response = client.post(f"/api/reservations/{reservation_id}/fulfil/", {})
    assert response.status_code == 200, response.content
    assert Reservation.objects.get(pk=reservation_id).status == "fulfilled"
    assert (Stock.objects.get(pk=stock.pk).quantity, Stock.objects.get(pk=stock.pk).reserved) == (4, 0)
    assert len(reserve.captured_queries) <= RESERVE_QUERIES, [q["sql"][:160] for q in reserve.captured_queries]
    assert len(fulfil.captured_queries) <= FULFIL_QUERIES, [q["sql"][:160] for q in fulfil.captured_queries]


def test_the_baseline_request_costs_two_queries(make_client):
    client = make_client(UserFactory(viewer=True))
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/profile/").status_code == 200
    assert len(captured.captured_queries) <= PROFILE_QUERIES, [q["sql"][:160] for q in captured.captured_queries]


@pytest.mark.postgres
def test_the_approval_does_its_lookups_and_checks_before_the_stock_row_is_locked(make_client):
    """Scope lookup, policy and validation happen before the lock; after it only the stock work and the
    request's own bookkeeping (ledger row, alert check, decision, audit event)."""
    queries = _approve(make_client)
    locked = queries[_stock_lock_index(queries):]
    statements = [q["sql"].split(" ", 1)[0] for q in locked]
    # Every statement under the stock lock, in order (savepoint bookkeeping excluded).
    work = [s for s in statements if s not in ("SAVEPOINT", "RELEASE")]
    assert len(work) <= LOCKED_STATEMENTS, "\n".join(q["sql"][:160] for q in locked)
    # Nothing under the lock reads the user, the request's scope or the serializer's relations.
    assert not any('FROM "accounts_user"' in q["sql"] for q in locked)
    # (The reorder-rule lookup joins the rules' warehouses for their `is_active`: that is its own read, not scope.)
    assert not any('"warehouses_warehouse"' in q["sql"] and q["sql"].startswith("SELECT")
                   and '"workflows_reorderrule"' not in q["sql"] for q in locked)



# A lot-tracked row (SPEC §14) adds, under the lock, only the lot bookkeeping: the row's lot balances read once
# (`LotBook`) and the taken lot's balance UPDATE. An expiry alert is looked at only when it can change: units of
# an in-window lot arrived, or a lot's balance there reached 0 (units leaving a lot that keeps some change nothing).
LOT_LOCKED_STATEMENTS = LOCKED_STATEMENTS + 2


@pytest.mark.postgres
def test_a_lot_tracked_approval_adds_only_the_lot_bookkeeping_under_the_lock(make_client):
    import datetime

    from inventory.lots import StockLot, today
    from inventory.models import LowStockAlert, Product
    from inventory.services import assign_stock
    from inventory.tests.factories import ProductFactory
    from warehouses.tests.factories import WarehouseFactory

    admin = UserFactory(admin=True)
    product, warehouse = ProductFactory(tracking=Product.Tracking.LOT), WarehouseFactory()
    # Two lots inside the expiry warning window (each has its open expiry alert), one without a date.
    for code, days in (("E2", 2), ("E1", 1), ("N", None)):
        expires_on = None if days is None else today() + datetime.timedelta(days=days)
        stock = assign_stock(actor=admin, warehouse=warehouse, product=product, quantity=3, lot=code,
                             expires_on=expires_on)
    assert LowStockAlert.objects.filter(kind="expiry", status="open").count() == 2
    purchase = PurchaseRequestFactory(warehouse=warehouse, product=product, quantity=1)
    client = make_client(admin)
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/api/purchase-requests/approve/", {"id": purchase.pk, "decision": "approve"})
    assert response.status_code == 200, response.content
    assert dict(StockLot.objects.filter(stock=stock).values_list("lot__code", "quantity")) == {"E1": 2, "E2": 3,
                                                                                                "N": 3}
    queries = captured.captured_queries
    locked = queries[_stock_lock_index(queries):]
    work = [q for q in locked if q["sql"].split(" ", 1)[0] not in ("SAVEPOINT", "RELEASE")]
    assert len(work) <= LOT_LOCKED_STATEMENTS, "\n".join(q["sql"][:200] for q in work)
    assert LowStockAlert.objects.filter(kind="expiry", status="open").count() == 2
