"""Django admin: catalogue edits go through the services (audited); balances and the ledger are read-only."""

import pytest
from django.test import Client

from accounts.models import AuditEvent
from accounts.tests.factories import UserFactory
from inventory.models import Product, StockMovement
from inventory.services import assign_stock, reserve_stock
from inventory.tests.factories import ThresholdFactory
from warehouses.models import Warehouse


@pytest.fixture
def site(world):
    root = UserFactory(admin=True, is_superuser=True, is_staff=True, username="root")
    client = Client()
    client.force_login(root)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=4)
    ThresholdFactory(product=world.product, warehouse=world.wh_a, threshold=2)
    return client, root


@pytest.mark.django_db
@pytest.mark.parametrize("path", [
    "warehouses/warehouse/", "inventory/product/", "inventory/stock/", "inventory/stockmovement/",
    "inventory/lowstockthreshold/", "inventory/stockmovement/?kind__exact=assign", "inventory/product/?q=bolt",
])
def test_admin_changelists_render(site, path):
    client, _ = site
    assert client.get(f"/admin/{path}").status_code == 200


@pytest.mark.django_db
def test_the_ledger_and_balances_cannot_be_added_changed_or_deleted_in_the_admin(site):
    client, _ = site
    movement = StockMovement.objects.get()
    stock = movement.stock
    assert client.get("/admin/inventory/stockmovement/add/").status_code == 403
    assert client.get(f"/admin/inventory/stockmovement/{movement.pk}/delete/").status_code == 403
    change_url = f"/admin/inventory/stockmovement/{movement.pk}/change/"
    assert client.post(change_url, {"quantity_change": 9}).status_code == 403
    assert client.get(f"/admin/inventory/stockmovement/{movement.pk}/change/").status_code == 200  # view only
    assert client.get("/admin/inventory/stock/add/").status_code == 403
    assert client.post(f"/admin/inventory/stock/{stock.pk}/change/", {"quantity": 99}).status_code == 403
    assert client.get(f"/admin/inventory/stock/{stock.pk}/delete/").status_code == 403
    stock.refresh_from_db()
    assert stock.quantity == 4 and StockMovement.objects.get().quantity_change == 4


@pytest.mark.django_db
def test_products_created_and_changed_in_the_admin_are_audited(site, world):
    client, root = site
    response = client.post("/admin/inventory/product/add/", {"sku": "ADM-1", "name": "From admin", "unit": "pcs",
                                                             "description": "", "is_active": "on"})
    assert response.status_code == 302
    product = Product.objects.get(sku="ADM-1")
    assert AuditEvent.objects.filter(action="product.create", actor=root, target=f"product:{product.pk}").exists()
    response = client.post(f"/admin/inventory/product/{product.pk}/change/",
                           {"sku": "ADM-1", "name": "Renamed", "unit": "pcs", "description": ""})
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.is_active) == ("Renamed", False)
    event = AuditEvent.objects.get(action="product.update")
    assert event.data["fields"] == ["is_active", "name"]
    assert client.get(f"/admin/inventory/product/{product.pk}/delete/").status_code == 403


@pytest.mark.django_db
def test_the_admin_refuses_to_delete_a_used_warehouse_and_deletes_an_unused_one(site, world):
    client, root = site
    assert client.get(f"/admin/warehouses/warehouse/{world.wh_a.pk}/delete/").status_code == 403
    response = client.post("/admin/warehouses/warehouse/add/", {"code": "ADM", "name": "Admin made", "address": "",
                                                                "manager": "", "is_active": "on",
                                                                "count_tolerance": "0"})
    assert response.status_code == 302
    created = Warehouse.objects.get(code="ADM")
    assert AuditEvent.objects.filter(action="warehouse.create", actor=root).exists()
    response = client.post(f"/admin/warehouses/warehouse/{created.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Warehouse.objects.filter(pk=created.pk).exists()
    assert AuditEvent.objects.filter(action="warehouse.delete", actor=root).exists()


@pytest.mark.django_db
def test_a_django_staff_account_without_the_admin_role_cannot_edit_products_or_warehouses(world):
    # Django's is_staff opens the admin site; the policies still decide who edits (same as the API).
    clerk = UserFactory(staff=True, warehouse=world.wh_a, is_staff=True, is_superuser=True, username="clerk")
    client = Client()
    client.force_login(clerk)
    before = (list(Product.objects.values()), list(Warehouse.objects.values()))
    assert client.get("/admin/inventory/product/add/").status_code == 403
    assert client.post(f"/admin/inventory/product/{world.product.pk}/change/",
                       {"sku": "X", "name": "X", "unit": "pcs"}).status_code == 403
    assert client.get("/admin/warehouses/warehouse/add/").status_code == 403
    assert (list(Product.objects.values()), list(Warehouse.objects.values())) == before


@pytest.mark.django_db
def test_the_admin_shows_buckets_and_reservations_read_only(site, world):
    client, _ = site
    hold = reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3,
                         reference="SO-77")
    stocks = client.get("/admin/inventory/stock/")
    assert stocks.status_code == 200
    assert b"column-reserved" in stocks.content and b"column-available" in stocks.content
    assert b"column-incoming" in stocks.content
    listing = client.get("/admin/inventory/reservation/?status__exact=active")
    assert listing.status_code == 200 and b"SO-77" in listing.content
    assert client.get("/admin/inventory/reservation/add/").status_code == 403
    assert client.post(f"/admin/inventory/reservation/{hold.pk}/change/", {"status": "released"}).status_code == 403
    assert client.get(f"/admin/inventory/reservation/{hold.pk}/delete/").status_code == 403
    hold.refresh_from_db()
    assert hold.status == "active"
