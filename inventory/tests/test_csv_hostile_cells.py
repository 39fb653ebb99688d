"""Hostile cells in an imported file are bad rows of SPEC §13, never a 500 (issue 24, item 1)."""

import pytest

from inventory.models import Product, StockMovement
from inventory.tests.test_api_files import PRODUCTS_IMPORT, STOCKS_IMPORT, errors_of, post_file

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("row, field", [
    ("A,BOLT-1,5,a\0b", "note"),
    ("A\0,BOLT-1,5,", "warehouse_code"),
    ("A,BOLT\0-1,5,", "sku"),
])
@pytest.mark.parametrize("dry_run", ["true", "false"])
def test_a_nul_byte_in_a_stock_import_cell_is_a_bad_row(make_client, world, row, field, dry_run):
    response = post_file(make_client(world.manager_a), STOCKS_IMPORT,
                         f"warehouse_code,sku,quantity,note\n{row}\n", dry_run=dry_run)
    assert errors_of(response) == [(2, field)]
    assert not StockMovement.objects.exists()


@pytest.mark.parametrize("row, field", [
    ("NEW\0-1,Washer,,pcs,true", "sku"),
    ("NEW-1,Wash\0er,,pcs,true", "name"),
    ("NEW-1,Washer,fl\0at,pcs,true", "description"),
])
def test_a_nul_byte_in_a_product_import_cell_is_a_bad_row(make_client, world, row, field):
    response = post_file(make_client(world.manager_a), PRODUCTS_IMPORT,
                         f"sku,name,description,unit,is_active\n{row}\n")
    assert errors_of(response) == [(2, field)]
    assert not Product.objects.filter(name__startswith="Wash").exists()


def test_a_quantity_of_five_thousand_digits_is_a_bad_row(make_client, world):
    response = post_file(make_client(world.manager_a), STOCKS_IMPORT,
                         f"warehouse_code,sku,quantity,note\nA,BOLT-1,{'9' * 5000},\n", dry_run="true")
    assert errors_of(response) == [(2, "quantity")]
