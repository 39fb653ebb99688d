"""Product and threshold services on the real database."""

import pytest

from accounts.models import AuditEvent
from core.errors import PermissionDenied
from inventory.errors import DuplicateSku, DuplicateThreshold, InvalidQuantity
from inventory.models import LowStockAlert, LowStockThreshold, Product
from inventory.services import (
    assign_stock,
    create_product,
    delete_threshold,
    set_threshold,
    update_product,
    update_threshold,
)


@pytest.mark.django_db
def test_create_product_refuses_a_sku_taken_in_another_case_even_past_validation(world):
    # The serializer checks first; this is the race path where only the database constraint notices.
    with pytest.raises(DuplicateSku):
        create_product(actor=world.admin, sku="bolt-1", name="Twin")
    assert Product.objects.count() == 2
    assert not AuditEvent.objects.filter(action="product.create").exists()


@pytest.mark.django_db
def test_update_product_records_before_and_after(world):
    update_product(actor=world.manager_a, product=world.product, name="Hex bolt", unit="box", ip="10.1.1.1")
    world.product.refresh_from_db()
    assert (world.product.name, world.product.unit) == ("Hex bolt", "box")
    event = AuditEvent.objects.get(action="product.update")
    assert event.data["before"]["name"] == "Bolt" and event.data["after"]["name"] == "Hex bolt"
    assert event.data["fields"] == ["name", "unit"] and event.ip == "10.1.1.1"
    with pytest.raises(DuplicateSku):
        update_product(actor=world.admin, product=world.product, sku="NUT-1")


@pytest.mark.django_db
def test_set_threshold_checks_the_actor_value_and_uniqueness(world):
    with pytest.raises(PermissionDenied):
        set_threshold(actor=world.manager_b, warehouse=world.wh_a, product=world.product, threshold=1)
    with pytest.raises(PermissionDenied):
        set_threshold(actor=world.staff_a, warehouse=world.wh_a, product=world.product, threshold=1)
    for bad in (-1, 1.5, True, 10**30):
        with pytest.raises(InvalidQuantity):
            set_threshold(actor=world.admin, warehouse=world.wh_a, product=world.product, threshold=bad)
    set_threshold(actor=world.manager_a, warehouse=world.wh_a, product=world.product, threshold=1)
    with pytest.raises(DuplicateThreshold):
        set_threshold(actor=world.admin, warehouse=world.wh_a, product=world.product, threshold=2)
    assert list(LowStockThreshold.objects.values_list("threshold", flat=True)) == [1]
    assert AuditEvent.objects.filter(action="threshold.create").count() == 1


@pytest.mark.django_db
def test_threshold_services_open_and_resolve_alerts(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    row = set_threshold(actor=world.admin, warehouse=world.wh_a, product=world.product, threshold=5)
    assert not LowStockAlert.objects.exists()  # equal is not below
    update_threshold(actor=world.manager_a, row=row, threshold=6)
    alert = LowStockAlert.objects.get()
    assert (alert.status, alert.threshold, alert.quantity_at_trigger) == ("open", 6, 5)
    update_threshold(actor=world.manager_a, row=row, threshold=7)
    assert LowStockAlert.objects.count() == 1  # still the same open alert
    delete_threshold(actor=world.manager_a, row=row)
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolved_at is not None
    assert not LowStockThreshold.objects.exists()


@pytest.mark.django_db
def test_update_and_delete_threshold_are_refused_to_other_warehouses(world):
    row = set_threshold(actor=world.admin, warehouse=world.wh_a, product=world.product, threshold=3)
    with pytest.raises(PermissionDenied):
        update_threshold(actor=world.manager_b, row=row, threshold=9)
    with pytest.raises(PermissionDenied):
        delete_threshold(actor=world.staff_a, row=row)
    row.refresh_from_db()
    assert row.threshold == 3


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["staff_a", "viewer"])
def test_only_admins_and_managers_may_create_or_change_products_even_without_the_view(world, who):
    actor = getattr(world, who)
    with pytest.raises(PermissionDenied):
        create_product(actor=actor, sku="NEW-1", name="New")
    with pytest.raises(PermissionDenied):
        update_product(actor=actor, product=world.product, name="Renamed")
    world.product.refresh_from_db()
    assert world.product.name == "Bolt"
    assert not Product.objects.filter(sku="NEW-1").exists()


def test_updating_a_product_deleted_meanwhile_is_not_found_not_a_crash(world):
    from core.errors import NotFound
    from inventory.models import Product
    from inventory.services import update_product

    stale = Product.objects.get(pk=world.product2.pk)
    Product.objects.filter(pk=stale.pk).delete()
    with pytest.raises(NotFound):
        update_product(actor=world.admin, product=stale, name="Renamed")
