"""Both dashboards run a constant number of queries: the same for 10 and for 400 movements."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.decisions import RequestStatus
from inventory import rollups
from inventory.models import LowStockAlert, LowStockThreshold, StockMovement
from inventory.tests.factories import ProductFactory
from workflows.models import PurchaseRequest
from workflows.tests.history import record_history

# One query authenticates (user and role); the rest are the dashboard's aggregates.
ADMIN_QUERIES = 1 + 13  # 12 + the lot totals (units_expired, units_expiring)
WAREHOUSE_QUERIES = 1 + 1 + 13  # + the scoped warehouse lookup; 12 + the lot totals


def _populate(world, movements: int):
    """`movements` ledger rows over 30 days, spread over 20 products in both warehouses, plus requests."""
    now = timezone.now()
    products = [ProductFactory() for _ in range(20)]
    per_stock = movements // (len(products) * 2) or 1
    made = 0
    for warehouse, actor in ((world.wh_a, world.staff_a), (world.wh_b, world.staff_b)):
        for product in products:
            n = min(per_stock, movements - made)
            if n <= 0:
                break
            entries = [(now - timedelta(hours=1 + 7 * i), 5 if i % 3 else -2, StockMovement.Kind.ADJUST, "count")
                       for i in range(n)]
            entries.sort(key=lambda e: e[0])
            entries[0] = (entries[0][0], 10 * n, StockMovement.Kind.ADJUST, "receipt")
            record_history(warehouse=warehouse, product=product, actor=actor, entries=entries)
            LowStockThreshold.objects.get_or_create(product=product, warehouse=warehouse,
                                                    defaults={"threshold": 10**6})
            made += n
    assert StockMovement.objects.count() == movements
    LowStockAlert.objects.create(product=products[0], warehouse=world.wh_a, threshold=10**6, quantity_at_trigger=1)
    for _ in range(3):
        PurchaseRequest.objects.create(warehouse=world.wh_a, product=products[0], quantity=1,
                                       requested_by=world.viewer, status=RequestStatus.REJECTED,
                                       decided_by=world.staff_a, decided_at=now)


@pytest.mark.parametrize("movements", [10, 400])
def test_admin_dashboard_query_count_does_not_grow_with_the_ledger(world, django_assert_num_queries, movements,
                                                                   make_client):
    _populate(world, movements)
    client = make_client(world.admin)
    with django_assert_num_queries(ADMIN_QUERIES):  # no day closed yet: all from the roll-up
        first = client.get("/api/dashboard/admin/", {"days": 30})
    rollups.close_settled_days.call()  # the worker closes the settled days
    with django_assert_num_queries(ADMIN_QUERIES):
        response = client.get("/api/dashboard/admin/", {"days": 30})
    assert response.status_code == 200
    assert response.json() == first.json()
    assert sum(e["in"] + e["out"] for e in response.json()["series"]) > 0


@pytest.mark.parametrize("movements", [10, 400])
def test_warehouse_dashboard_query_count_does_not_grow_with_the_ledger(world, django_assert_num_queries, movements,
                                                                       make_client):
    _populate(world, movements)
    client = make_client(world.manager_a)
    with django_assert_num_queries(WAREHOUSE_QUERIES):  # no day closed yet: all from the roll-up
        first = client.get("/api/dashboard/warehouse/", {"warehouse": world.wh_a.pk, "days": 30})
    rollups.close_settled_days.call()  # the worker closes the settled days
    with django_assert_num_queries(WAREHOUSE_QUERIES):
        response = client.get("/api/dashboard/warehouse/", {"warehouse": world.wh_a.pk, "days": 30})
    assert response.status_code == 200
    assert response.json() == first.json()
    body = response.json()
    assert body["low_stock"] and body["staff_activity"][0]["decisions"] == 3
