"""Look-alike warehouse codes and product SKUs: unique by `core.identity.identity_key` (NFKC + casefold),
mixed-script codes refused — over the API, in the services and in the database."""

import pytest
from django.db import IntegrityError, transaction

from inventory.models import Product
from inventory.tests.factories import ProductFactory
from warehouses.errors import DuplicateWarehouseCode
from warehouses.models import Warehouse
from warehouses.services import create_warehouse
from warehouses.tests.factories import WarehouseFactory

pytestmark = pytest.mark.django_db

CYRILLIC_O = "\u043e"  # о, looks like Latin o


@pytest.mark.parametrize("url,field,twin", [
    ("/api/warehouses/", "code", "ａ"),  # fullwidth a beside A
    ("/api/products/", "sku", "ＢＯＬＴ-1"),  # fullwidth beside BOLT-1
])
def test_a_fullwidth_twin_is_taken(world, make_client, url, field, twin):
    count = Warehouse.objects.count() + Product.objects.count()
    response = make_client(world.admin).post(url, {field: twin, "name": "Twin"}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Warehouse.objects.count() + Product.objects.count() == count


@pytest.mark.parametrize("url,field", [("/api/warehouses/", "code"), ("/api/products/", "sku")])
def test_accented_twins_differing_in_case_are_one_on_every_database(world, make_client, url, field):
    client = make_client(world.admin)
    assert client.post(url, {field: "É-1", "name": "Upper"}, format="json").status_code == 201
    response = client.post(url, {field: "é-1", "name": "Lower"}, format="json")
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("url,field", [("/api/warehouses/", "code"), ("/api/products/", "sku")])
def test_a_code_mixing_scripts_is_refused(world, make_client, url, field):
    response = make_client(world.admin).post(url, {field: f"B{CYRILLIC_O}LT-9", "name": "Spoof"}, format="json")
    assert response.status_code == 400
    assert "Cyrillic" in response.json()[field][0]


def test_patching_a_code_to_a_twin_is_refused(world, make_client):
    response = make_client(world.admin).patch(f"/api/warehouses/{world.wh_b.pk}/", {"code": "Ａ"}, format="json")
    assert response.status_code == 400
    assert Warehouse.objects.get(pk=world.wh_b.pk).code == "B"


def test_the_service_turns_the_database_refusal_into_duplicate_code(world):
    with pytest.raises(DuplicateWarehouseCode):
        create_warehouse(actor=world.admin, code="ｂ", name="Twin")


def test_the_database_refuses_twins_that_skip_every_check(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        WarehouseFactory(code="Ａ")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(sku="ｂｏｌｔ-1")


def test_bulk_created_rows_get_their_keys(db):
    Warehouse.objects.bulk_create([Warehouse(code="Bulk-Ｗ", name="Bulk")])
    Product.objects.bulk_create([Product(sku="Bulk-Ｐ", name="Bulk")])
    assert Warehouse.objects.get(code_key="bulk-w").code == "Bulk-Ｗ"
    assert Product.objects.get(sku_key="bulk-p").sku == "Bulk-Ｐ"
