"""One identity rule for every path that creates an identity (issue 24, item 5): no invisible format
characters, no mixed scripts, and look-alikes of another script collide through the confusables skeleton."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from accounts.models import User
from accounts.tests.factories import UserFactory
from core.identity import check_identifier, identity_key
from inventory.models import Product
from inventory.tests.factories import ProductFactory
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "Correct-Horse-Battery-9"
INVISIBLE = ["BOLT-M6\u00ad", "BOLT-M6\u2060", "BO\u200bLT-M6", "\ufeffBOLT-M6"]


def import_products(client, text):
    upload = SimpleUploadedFile("p.csv", text.encode(), "text/csv")
    return client.post("/api/products/import/", {"file": upload}, format="multipart")


def test_the_key_folds_look_alikes_and_drops_format_characters():
    assert identity_key("ВОХ") == identity_key("BOX") == "box"  # all Cyrillic
    assert identity_key("аdmin") == "admin"
    assert identity_key("NOR\u200bTH") == identity_key("BOLT-M6\u00ad"[:0] + "north") == "north"
    assert identity_key("bolt-1") != identity_key("bolt-l")  # ASCII is never mapped: 1 and l stay apart
    assert identity_key("M6-10") != identity_key("M6-1O")


@pytest.mark.parametrize("value", [*INVISIBLE, "BOLТ-M6"])
def test_the_rule_refuses_format_characters_and_mixed_scripts(value):
    with pytest.raises(ValidationError):
        check_identifier(value)


@pytest.mark.parametrize("sku", [*INVISIBLE, "BOLТ-M6"])
def test_the_api_refuses_an_invisible_or_mixed_sku(world, make_client, sku):
    response = make_client(world.admin).post("/api/products/", {"sku": sku, "name": "Bolt"}, format="json")
    assert response.status_code == 400
    assert "sku" in response.data


def test_the_api_refuses_an_invisible_warehouse_code(world, make_client):
    response = make_client(world.admin).post("/api/warehouses/", {"code": "NOR\u200bTH", "name": "North"},
                                             format="json")
    assert response.status_code == 400
    assert "code" in response.data


def test_a_sku_wholly_in_another_script_collides_with_its_latin_twin(world, make_client):
    ProductFactory(sku="BOX")
    response = make_client(world.admin).post("/api/products/", {"sku": "ВОХ", "name": "Box"}, format="json")
    assert response.status_code == 400
    assert "sku" in response.data


def test_a_username_wholly_in_another_script_collides_with_its_latin_twin(world, anon):
    UserFactory(username="ace")
    response = anon.post("/api/auth/register/", {"username": "асе", "email": "x@example.com",
                                                 "password": GOOD_PASSWORD}, format="json")
    assert response.status_code == 400
    assert "username" in response.json()


@pytest.mark.parametrize("sku", [*INVISIBLE, "BOLТ-M6"])
def test_the_product_import_refuses_them_as_bad_rows(world, make_client, sku):
    response = import_products(make_client(world.admin), f"sku,name\n{sku},Hostile\n")
    assert (response.status_code, response.data["code"]) == (400, "invalid_file"), response.data
    assert [(e["row"], e["field"]) for e in response.data["errors"]] == [(2, "sku")]
    assert not Product.objects.filter(name="Hostile").exists()


def test_the_product_import_does_not_rename_a_sku_to_a_look_alike(world, make_client):
    ProductFactory(sku="BOX", name="Box")
    response = import_products(make_client(world.admin), "sku,name\nВОХ,Box\n")
    assert response.status_code == 400
    assert Product.objects.filter(sku="BOX").exists() and not Product.objects.filter(sku="ВОХ").exists()


def test_the_admin_form_refuses_an_invisible_code(world):
    warehouse = Warehouse(code="NOR\u200bTH", name="North")
    with pytest.raises(ValidationError) as info:
        warehouse.full_clean()
    assert "code" in info.value.message_dict


def test_save_refuses_them_on_paths_that_skip_every_validator(world):
    with pytest.raises(ValidationError), transaction.atomic():
        Product.objects.create(sku="BOLT-M6\u2060", name="Hostile")
    with pytest.raises(ValidationError), transaction.atomic():
        User.objects.create_user(username="ad\u200bmin", email="a@example.com", password=GOOD_PASSWORD)
    with pytest.raises(ValidationError), transaction.atomic():
        Product.objects.bulk_create([Product(sku="BOLТ-M6", name="Hostile")])
    assert not Product.objects.filter(name="Hostile").exists()
