"""Every inventory write endpoint refuses a key it does not take (unknown or read-only): 400 naming it, no change."""

import pytest

from accounts.models import AuditEvent
from inventory.models import LowStockAlert, LowStockThreshold, Product, Stock, StockMovement
from inventory.services import assign_stock
from inventory.tests.factories import ThresholdFactory

READ_ONLY = "This field is not writable."


def everything():
    models = (Product, Stock, StockMovement, LowStockThreshold, LowStockAlert)
    return [list(model.objects.order_by("pk").values()) for model in models] + [AuditEvent.objects.count()]


def writes(world, threshold):
    """(method, url, valid body) of every inventory write endpoint, as its allowed caller (the admin)."""
    stock = {"warehouse": world.wh_a.pk, "product": world.product.pk}
    return {
        "product-create": ("post", "/api/products/", {"sku": "NEW-1", "name": "New"}),
        "product-update": ("patch", f"/api/products/{world.product.pk}/", {"name": "Renamed"}),
        "stock-assign": ("post", "/api/stocks/assign/", {**stock, "quantity": 3}),
        "stock-adjust": ("post", "/api/stocks/adjust/", {**stock, "delta": 2, "reason": "found"}),
        "threshold-create": ("post", "/api/low-stock-thresholds/",
                             {"warehouse": world.wh_a.pk, "product": world.product2.pk, "threshold": 4}),
        "threshold-update": ("patch", f"/api/low-stock-thresholds/{threshold.pk}/", {"threshold": 7}),
    }


ENDPOINTS = ["product-create", "product-update", "stock-assign", "stock-adjust", "threshold-create",
             "threshold-update"]
BAD_KEYS = [
    ("actor", 999, READ_ONLY),  # the strict base knows `actor` as a read-only key everywhere
    ("colour", "red", "Unknown field."),
    ("id", 999, READ_ONLY),
    ("created_at", "2020-01-01T00:00:00Z", READ_ONLY),
    ("quantity_after", 5, READ_ONLY),
]


@pytest.fixture
def stocked(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    return ThresholdFactory(warehouse=world.wh_a, product=world.product, threshold=2)


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("key,value,message", BAD_KEYS)
def test_a_write_refuses_an_unknown_or_read_only_key_and_changes_nothing(make_client, world, stocked, endpoint, key,
                                                                         value, message):
    method, url, body = writes(world, stocked)[endpoint]
    before = everything()
    response = getattr(make_client(world.admin), method)(url, {**body, key: value}, format="json")
    assert response.status_code == 400
    assert response.data == {key: [message]}
    assert everything() == before


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_same_write_without_the_extra_key_succeeds(make_client, world, stocked, endpoint):
    """Proves the refusals above come from the extra key, not from a body that was bad anyway."""
    method, url, body = writes(world, stocked)[endpoint]
    before = everything()
    response = getattr(make_client(world.admin), method)(url, body, format="json")
    assert response.status_code in (200, 201)
    assert everything() != before


@pytest.mark.django_db
def test_assign_with_an_actor_key_is_a_400_naming_actor_and_writes_nothing(make_client, world):
    body = {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 5, "actor": 999}
    response = make_client(world.manager_a).post("/api/stocks/assign/", body, format="json")
    assert response.status_code == 400
    assert set(response.data) == {"actor"}
    assert not Stock.objects.exists() and not StockMovement.objects.exists()
