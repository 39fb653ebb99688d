"""Django admin for lots (SPEC §17): lots are added and their `expires_on` corrected through the same services
and policies as the API (audited; expiry alerts kept in step); lot balances are read-only."""

import datetime

import pytest
from django.test import Client

from accounts.models import AuditEvent
from accounts.tests.factories import UserFactory
from inventory.lots import Lot, StockLot
from inventory.models import LowStockAlert, Product
from inventory.services import assign_stock
from inventory.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

SOON = datetime.date.today() + datetime.timedelta(days=3)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def root(world):
    return UserFactory(admin=True, is_superuser=True, is_staff=True, username="root")


@pytest.fixture
def milk(world):
    milk = ProductFactory(sku="MILK-1", tracking=Product.Tracking.LOT)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=4, lot="L1", expires_on=SOON)
    return milk


@pytest.mark.parametrize("path", ["inventory/lot/", "inventory/stocklot/", "inventory/stock/", "inventory/lot/?q=L1"])
def test_lot_changelists_render(root, milk, path):
    response = logged_in(root).get(f"/admin/{path}")
    assert response.status_code == 200
    assert b"L1" in response.content or path == "inventory/stock/"


def test_the_stock_changelist_shows_expired_and_available(root, world):
    milk = ProductFactory(sku="MILK-2", tracking=Product.Tracking.LOT)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=4, lot="OLD",
                 expires_on=datetime.date.today() - datetime.timedelta(days=1))
    content = logged_in(root).get("/admin/inventory/stock/?q=MILK-2").content.decode()
    assert '<td class="field-expired">4</td>' in content and '<td class="field-available">0</td>' in content


def test_lot_balances_are_read_only(root, milk):
    balance = StockLot.objects.get()
    client = logged_in(root)
    assert client.get("/admin/inventory/stocklot/add/").status_code == 403
    assert client.post(f"/admin/inventory/stocklot/{balance.pk}/change/", {"quantity": 99}).status_code == 403
    assert client.get(f"/admin/inventory/stocklot/{balance.pk}/delete/").status_code == 403
    assert StockLot.objects.get().quantity == 4


def test_an_admin_corrects_expires_on_through_the_service(root, milk):
    lot = Lot.objects.get()
    response = logged_in(root).post(f"/admin/inventory/lot/{lot.pk}/change/", {"expires_on": ""})
    assert response.status_code == 302, response.content[:2000]
    assert Lot.objects.get().expires_on is None
    event = AuditEvent.objects.get(action="lot.update")
    assert event.data["expires_on"] == {"before": SOON.isoformat(), "after": None}
    # the correction resolved the expiry alert at once, as through the API
    assert list(LowStockAlert.objects.filter(kind="expiry").values_list("status", flat=True)) == ["resolved"]


def test_an_admin_adds_a_lot_and_the_form_refuses_what_the_service_would(root, milk, world):
    client = logged_in(root)
    response = client.post("/admin/inventory/lot/add/", {"product": milk.pk, "code": "L2", "expires_on": ""})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="lot.create").count() == 1
    duplicate = client.post("/admin/inventory/lot/add/", {"product": milk.pk, "code": "l2", "expires_on": ""})
    untracked = client.post("/admin/inventory/lot/add/", {"product": world.product.pk, "code": "X",
                                                          "expires_on": ""})
    assert duplicate.status_code == untracked.status_code == 200  # the form again, with the error
    assert b"already has a lot" in duplicate.content and b"not lot-tracked" in untracked.content
    assert Lot.objects.count() == 2


def test_a_manager_adds_lots_but_cannot_correct_them_and_nobody_deletes_them(world, milk, root):
    world.manager_a.is_staff = True
    world.manager_a.save(update_fields=["is_staff"])
    from django.contrib.auth.models import Permission

    world.manager_a.user_permissions.add(*Permission.objects.filter(content_type__app_label="inventory",
                                                                    codename__endswith="_lot"))
    lot = Lot.objects.get()
    manager = logged_in(world.manager_a)
    assert manager.post(f"/admin/inventory/lot/{lot.pk}/change/", {"expires_on": ""}).status_code == 403
    assert Lot.objects.get().expires_on == SOON
    assert manager.post("/admin/inventory/lot/add/", {"product": milk.pk, "code": "M1",
                                                      "expires_on": ""}).status_code == 302
    assert logged_in(root).get(f"/admin/inventory/lot/{lot.pk}/delete/").status_code == 403
