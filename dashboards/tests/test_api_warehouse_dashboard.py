from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from core.decisions import RequestStatus
from inventory.models import LowStockAlert, LowStockThreshold, StockMovement
from workflows.models import PurchaseRequest, TransferRequest
from workflows.tests.history import at, record_history

URL = "/api/dashboard/warehouse/"
Kind = StockMovement.Kind


def test_manager_gets_exact_shape_of_their_warehouse(world, berlin, time_machine, make_client):
    now = at(berlin, 2026, 3, 10, 12, 0)
    time_machine.move_to(now, tick=False)
    record_history(warehouse=world.wh_a, product=world.product, actor=world.staff_a, entries=[
        (at(berlin, 2026, 3, 9, 9, 0), 20, Kind.ADJUST, "receipt"),
        (at(berlin, 2026, 3, 10, 9, 0), -18, Kind.ADJUST, "damage"),
    ])
    record_history(warehouse=world.wh_a, product=world.product2, actor=world.manager_a,
                 entries=[(at(berlin, 2026, 3, 10, 8, 0), 9, Kind.ASSIGN)])
    record_history(warehouse=world.wh_b, product=world.product,
                 entries=[(at(berlin, 2026, 3, 10, 8, 0), 99, Kind.ASSIGN)])
    LowStockThreshold.objects.create(product=world.product, warehouse=world.wh_a, threshold=5)
    LowStockThreshold.objects.create(product=world.product2, warehouse=world.wh_a, threshold=5)
    LowStockAlert.objects.create(product=world.product, warehouse=world.wh_a, threshold=5, quantity_at_trigger=2)
    PurchaseRequest.objects.create(warehouse=world.wh_a, product=world.product, quantity=1, requested_by=world.viewer)
    PurchaseRequest.objects.create(warehouse=world.wh_a, product=world.product, quantity=1, requested_by=world.viewer,
                                   status=RequestStatus.REJECTED, decided_by=world.staff_a, decided_at=now)
    PurchaseRequest.objects.create(warehouse=world.wh_b, product=world.product, quantity=1, requested_by=world.viewer)
    TransferRequest.objects.create(source_warehouse=world.wh_b, destination_warehouse=world.wh_a,
                                   product=world.product, quantity=1, requested_by=world.manager_a)

    response = make_client(world.manager_a).get(URL, {"warehouse": world.wh_a.pk, "days": 2})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"warehouse", "totals", "series", "top_products", "low_stock", "staff_activity"}
    assert body["warehouse"] == world.wh_a.pk
    assert body["totals"] == {"products": 2, "units_on_hand": 11, "open_alerts": 1,
                              "pending_purchase_requests": 1, "pending_transfer_requests": 1,
                              "units_in_transit_in": 0, "units_in_transit_out": 0,
                              "units_expired": 0, "units_expiring": 0, "open_replenishments": 0}
    assert body["series"] == [
        {"date": "2026-03-09", "in": 20, "out": 0, "net": 20},
        {"date": "2026-03-10", "in": 9, "out": 18, "net": -9},
    ]
    assert body["top_products"] == [
        {"product": world.product.pk, "sku": "BOLT-1", "name": "Bolt", "moved": 38},
        {"product": world.product2.pk, "sku": "NUT-1", "name": "Nut", "moved": 9},
    ]
    [low] = body["low_stock"]
    assert set(low) == {"id", "product", "warehouse", "quantity", "reserved", "expired", "available", "incoming",
                        "threshold",
                        "is_low", "updated_at"}
    assert (low["reserved"], low["available"], low["incoming"]) == (0, 2, 0)
    assert low["product"] == {"id": world.product.pk, "sku": "BOLT-1", "name": "Bolt"}
    assert low["warehouse"] == {"id": world.wh_a.pk, "code": "A", "name": "Alpha"}
    assert (low["quantity"], low["threshold"], low["is_low"]) == (2, 5, True)
    assert body["staff_activity"] == [
        {"user": world.staff_a.pk, "username": "staff_a", "decisions": 1, "adjustments": 2},
        {"user": world.manager_a.pk, "username": "manager_a", "decisions": 0, "adjustments": 0},
    ]


def test_staff_activity_ignores_work_outside_the_window_and_other_warehouses(world, berlin, time_machine, make_client):
    now = at(berlin, 2026, 3, 10, 12, 0)
    time_machine.move_to(now, tick=False)
    record_history(warehouse=world.wh_a, product=world.product, actor=world.staff_a, entries=[
        (at(berlin, 2026, 3, 8, 23, 59), 20, Kind.ADJUST, "receipt"),  # the day before a 2-day window
    ])
    record_history(warehouse=world.wh_b, product=world.product, actor=world.admin, entries=[
        (now - timedelta(hours=1), 20, Kind.ADJUST, "receipt"),
    ])
    PurchaseRequest.objects.create(warehouse=world.wh_a, product=world.product, quantity=1, requested_by=world.viewer,
                                   status=RequestStatus.APPROVED, decided_by=world.admin, decided_at=now)
    activity = make_client(world.admin).get(URL, {"warehouse": world.wh_a.pk, "days": 2}).json()["staff_activity"]
    assert activity == [
        {"user": world.admin.pk, "username": "admin1", "decisions": 1, "adjustments": 0},
        {"user": world.manager_a.pk, "username": "manager_a", "decisions": 0, "adjustments": 0},
        {"user": world.staff_a.pk, "username": "staff_a", "decisions": 0, "adjustments": 0},
    ]


@pytest.mark.parametrize("who", ["admin", "manager_a", "staff_a"])
def test_admin_manager_and_staff_of_the_warehouse_may_read_its_dashboard(world, who, make_client):
    response = make_client(getattr(world, who)).get(URL, {"warehouse": world.wh_a.pk})
    assert response.status_code == 200
    assert len(response.json()["series"]) == 30


def test_viewer_is_denied_the_warehouse_dashboard(world, make_client):
    response = make_client(world.viewer).get(URL, {"warehouse": world.wh_a.pk})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("who", ["manager_a", "staff_a"])
def test_another_warehouses_dashboard_is_not_found(world, who, make_client):
    response = make_client(getattr(world, who)).get(URL, {"warehouse": world.wh_b.pk})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_unknown_warehouse_is_not_found(world, make_client):
    assert make_client(world.admin).get(URL, {"warehouse": 987654}).status_code == 404


def test_schema_documents_the_404_of_an_unknown_warehouse(world, make_client):
    schema = make_client(None).get("/api/schema/?format=json").json()
    assert "404" in schema["paths"][URL]["get"]["responses"]


@pytest.mark.parametrize("params", [{}, {"warehouse": "abc"}, {"warehouse": "0"}, {"warehouse": str(10**30)},
                                    {"warehouse": "1", "days": "0"}, {"warehouse": "1", "days": "367"}])
def test_missing_or_invalid_parameters_are_a_400(world, params, make_client):
    response = make_client(world.admin).get(URL, params)
    assert response.status_code == 400
    assert set(response.json()) <= {"warehouse", "days"}


def test_dismissed_staff_loses_access_to_the_dashboard(world, make_client):
    client = make_client(world.staff_a)
    world.staff_a.status = "dismissed"
    world.staff_a.save()
    assert client.get(URL, {"warehouse": world.wh_a.pk}).status_code == 401


def test_pending_staff_of_the_warehouse_is_not_listed_in_activity(world, make_client):
    UserFactory(staff=True, username="newbie", warehouse=world.wh_a, status="pending")
    activity = make_client(world.admin).get(URL, {"warehouse": world.wh_a.pk}).json()["staff_activity"]
    assert "newbie" not in {row["username"] for row in activity}


def test_today_is_the_last_series_entry(world, make_client):
    series = make_client(world.admin).get(URL, {"warehouse": world.wh_a.pk, "days": 5}).json()["series"]
    assert series[-1]["date"] == timezone.localdate().isoformat()
