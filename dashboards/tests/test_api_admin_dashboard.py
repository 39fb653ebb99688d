from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from accounts.models import ManagerPromotionRequest, User
from accounts.tests.factories import UserFactory
from inventory.models import LowStockAlert, StockMovement
from inventory.tests.factories import ProductFactory
from workflows.models import PurchaseRequest, TransferRequest
from workflows.tests.history import at, record_history

URL = "/api/dashboard/admin/"
Kind = StockMovement.Kind
UTC = ZoneInfo("UTC")


def test_admin_gets_exact_shape_and_totals(world, berlin, time_machine, make_client):
    time_machine.move_to(at(berlin, 2026, 3, 10, 12, 0), tick=False)
    record_history(warehouse=world.wh_a, product=world.product, entries=[
        (at(berlin, 2026, 3, 8, 9, 0), 50, Kind.ASSIGN),
        (at(berlin, 2026, 3, 10, 9, 0), -8, Kind.PURCHASE),
    ])
    record_history(warehouse=world.wh_b, product=world.product2,
                   entries=[(at(berlin, 2026, 3, 9, 9, 0), 5, Kind.ASSIGN)])
    LowStockAlert.objects.create(product=world.product2, warehouse=world.wh_b, threshold=10, quantity_at_trigger=5)
    PurchaseRequest.objects.create(warehouse=world.wh_a, product=world.product, quantity=1, requested_by=world.viewer)
    TransferRequest.objects.create(source_warehouse=world.wh_a, destination_warehouse=world.wh_b,
                                   product=world.product, quantity=1, requested_by=world.manager_a)
    UserFactory(status=User.Status.PENDING)
    ManagerPromotionRequest.objects.create(user=world.staff_a, requested_by=world.manager_a)

    response = make_client(world.admin).get(URL, {"days": 3})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"totals", "series", "top_products", "alerts"}
    assert body["totals"] == {
        "warehouses": 2, "products": 2, "units_on_hand": 47, "open_alerts": 1,
        "pending_purchase_requests": 1, "pending_transfer_requests": 1,
        "pending_registrations": 1, "pending_promotions": 1, "units_in_transit": 0,
        "units_expired": 0, "units_expiring": 0,
    }
    assert body["series"] == [
        {"date": "2026-03-08", "in": 50, "out": 0, "net": 50},
        {"date": "2026-03-09", "in": 5, "out": 0, "net": 5},
        {"date": "2026-03-10", "in": 0, "out": 8, "net": -8},
    ]
    assert body["top_products"] == [
        {"product": world.product.pk, "sku": "BOLT-1", "name": "Bolt", "moved": 58},
        {"product": world.product2.pk, "sku": "NUT-1", "name": "Nut", "moved": 5},
    ]
    assert [a["warehouse"] for a in body["alerts"]] == [world.wh_b.pk]
    assert set(body["alerts"][0]) == {"id", "kind", "product", "warehouse", "lot", "quantity_at_trigger", "threshold",
                                      "status",
                                      "created_at", "resolved_at"}


def test_series_has_one_entry_per_day_including_zero_days_and_defaults_to_30(world, make_client):
    body = make_client(world.admin).get(URL).json()
    assert len(body["series"]) == 30
    assert all(entry["in"] == entry["out"] == entry["net"] == 0 for entry in body["series"])
    dates = [entry["date"] for entry in body["series"]]
    assert dates == sorted(dates) and len(set(dates)) == 30


def test_series_counts_days_in_the_project_time_zone(world, berlin, time_machine, make_client):
    time_machine.move_to(at(berlin, 2026, 3, 10, 12, 0), tick=False)
    # 23:30 UTC on the 8th is 00:30 on the 9th in Berlin.
    record_history(warehouse=world.wh_a, product=world.product, entries=[
        (datetime(2026, 3, 8, 23, 30, tzinfo=UTC), 7, Kind.ASSIGN),
        (at(berlin, 2026, 3, 8, 23, 59), 3, Kind.ASSIGN),
    ])
    series = make_client(world.admin).get(URL, {"days": 3}).json()["series"]
    assert [(e["date"], e["in"]) for e in series] == [("2026-03-08", 3), ("2026-03-09", 7), ("2026-03-10", 0)]


def test_movements_outside_the_window_are_not_counted(world, berlin, time_machine, make_client):
    time_machine.move_to(at(berlin, 2026, 3, 10, 12, 0), tick=False)
    record_history(warehouse=world.wh_a, product=world.product, entries=[
        (at(berlin, 2026, 3, 7, 23, 59), 4, Kind.ASSIGN),
        (at(berlin, 2026, 3, 8, 0, 0), 6, Kind.ASSIGN),
    ])
    body = make_client(world.admin).get(URL, {"days": 3}).json()
    assert sum(e["in"] for e in body["series"]) == 6
    assert body["top_products"][0]["moved"] == 6


def test_top_products_lists_at_most_ten_by_units_moved(world, make_client):
    now = datetime.now(tz=UTC)
    products = [ProductFactory() for _ in range(12)]
    for n, product in enumerate(products, start=1):
        record_history(warehouse=world.wh_a, product=product, entries=[(now - timedelta(minutes=1), n, Kind.ASSIGN)])
    top = make_client(world.admin).get(URL).json()["top_products"]
    assert [row["moved"] for row in top] == list(range(12, 2, -1))


@pytest.mark.parametrize("who", ["manager_a", "staff_a", "viewer"])
def test_only_admins_may_read_the_admin_dashboard(world, who, make_client):
    response = make_client(getattr(world, who)).get(URL)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_anonymous_user_gets_401(anon, world):
    assert anon.get(URL).status_code == 401


@pytest.mark.parametrize("days", ["0", "367", "abc", "1e9", "-1", str(10**30)])
def test_invalid_days_is_a_400_field_error(world, days, make_client):
    response = make_client(world.admin).get(URL, {"days": days})
    assert response.status_code == 400
    assert "days" in response.json()


def test_days_bounds_are_inclusive(world, make_client):
    assert len(make_client(world.admin).get(URL, {"days": 1}).json()["series"]) == 1
    assert len(make_client(world.admin).get(URL, {"days": 366}).json()["series"]) == 366
