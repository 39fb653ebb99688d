"""The product file's `tracking` column (SPEC §14, §13): `none` or `lot`, an empty cell keeps the value (`none`
for a new product), a change follows the switch rule (a bad row `product_has_stock` while the product holds
units, reserved or incoming, or is on an open or submitted count), the export carries it and re-imports as is."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditEvent
from inventory.models import Product, Stock, StockMovement
from inventory.services import adjust_stock, assign_stock, reserve_stock
from inventory.tests.factories import ProductFactory
from workflows.models import TransferMode
from workflows.services import create_transfer_request, decide_transfer_request, open_count, ship_transfer
from workflows.services.counts import cancel_count, submit_count

pytestmark = pytest.mark.django_db

IMPORT, EXPORT = "/api/products/import/", "/api/products/export/"


def post_file(client, content, **fields):
    upload = SimpleUploadedFile("products.csv", content.encode(), "text/csv")
    return client.post(IMPORT, {"file": upload, **fields}, format="multipart")


def tracking_of(*skus) -> list[str]:
    return [Product.objects.get(sku=sku).tracking for sku in skus]


def state():
    return list(Product.objects.order_by("pk").values_list("pk", "sku", "tracking", "updated_at"))


def errors_of(response) -> list[tuple]:
    assert (response.status_code, response.data["code"]) == (400, "invalid_file"), response.data
    return [(e["row"], e["field"], e.get("code")) for e in response.data["errors"]]


@pytest.mark.parametrize("who", ["admin", "manager_a"])
def test_new_products_take_the_files_tracking_or_none(make_client, world, who):
    content = ("sku,name,tracking\n"
               "T-1,Milk,lot\n"
               "T-2,Cheese,LOT\n"       # any case
               "T-3,Bread,none\n"
               "T-4,Salt,\n")           # empty: none for a new product
    response = post_file(make_client(getattr(world, who)), content)
    assert response.data == {"created": 4, "updated": 0, "unchanged": 0, "dry_run": False}, response.data
    assert tracking_of("T-1", "T-2", "T-3", "T-4") == ["lot", "lot", "none", "none"]


def test_an_empty_cell_or_no_column_keeps_the_value_and_an_empty_product_switches(make_client, world):
    milk = ProductFactory(sku="MILK-1", name="Milk", tracking=Product.Tracking.LOT)
    client = make_client(world.admin)
    kept = post_file(client, "sku,name,tracking\nMILK-1,Milk,\n")
    assert kept.data["unchanged"] == 1 and tracking_of("MILK-1") == ["lot"]
    assert post_file(client, "sku,name\nMILK-1,Milk\n").data["unchanged"] == 1
    # A product whose rows are all empty (units came and went) may switch, both ways.
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=2, lot="L-1")
    adjust_stock(actor=world.admin, warehouse=world.wh_a, product=milk, delta=-2, reason="damage")
    switched = post_file(client, "sku,name,tracking\nMILK-1,Milk,none\nBOLT-1,Bolt,lot\n")
    assert switched.data == {"created": 0, "updated": 2, "unchanged": 0, "dry_run": False}, switched.data
    assert tracking_of("MILK-1", "BOLT-1") == ["none", "lot"]
    event = AuditEvent.objects.get(action="product.import", data__updated=2)
    assert event.data["tracking_switched"] == {"MILK-1": "none", "BOLT-1": "lot"}


def test_a_tracking_that_is_neither_none_nor_lot_is_a_bad_row(make_client, world):
    before = state()
    response = post_file(make_client(world.admin), "sku,name,tracking\nT-1,A,lots\nT-2,B,serial\nT-3,C,lot\n")
    assert errors_of(response) == [(2, "tracking", None), (3, "tracking", None)]
    assert state() == before


def test_a_switch_of_a_product_holding_units_reserved_or_incoming_is_a_bad_row(make_client, world):
    on_hand = ProductFactory(sku="HAND-1")
    reserved = ProductFactory(sku="RES-1")
    incoming = ProductFactory(sku="INC-1")
    lot_tracked = ProductFactory(sku="LOT-1", tracking=Product.Tracking.LOT)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=on_hand, quantity=1)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=reserved, quantity=3)
    reserve_stock(actor=world.admin, warehouse=world.wh_a, product=reserved, quantity=3)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=incoming, quantity=2)
    transfer = create_transfer_request(actor=world.admin, source=world.wh_a, destination=world.wh_b,
                                       product=incoming, quantity=2, mode=TransferMode.IN_TRANSIT)
    decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="approve")
    ship_transfer(actor=world.admin, transfer_id=transfer.pk)
    assert Stock.objects.get(product=incoming, warehouse=world.wh_b).incoming == 2
    assert Stock.objects.get(product=incoming, warehouse=world.wh_a).quantity == 0
    assign_stock(actor=world.admin, warehouse=world.wh_b, product=lot_tracked, quantity=1, lot="L")
    before = (state(), StockMovement.objects.count())
    content = ("sku,name,tracking\n"
               "NEW-1,New,lot\n"
               "HAND-1,Hand,lot\n"       # 3: 1 unit on hand
               "RES-1,Res,lot\n"         # 4: 3 units reserved
               "INC-1,Inc,lot\n"         # 5: 2 units incoming at B (none on hand anywhere)
               "LOT-1,Lot,none\n"        # 6: a lot-tracked product holding a unit
               "BOLT-1,Bolt,none\n")     # unchanged: no switch, no check
    for dry_run in ("true", "false"):
        response = post_file(make_client(world.manager_a), content, dry_run=dry_run)
        assert errors_of(response) == [(3, "tracking", "product_has_stock"), (4, "tracking", "product_has_stock"),
                                       (5, "tracking", "product_has_stock"), (6, "tracking", "product_has_stock")]
        assert "HAND-1" in response.data["errors"][0]["message"]
        assert (state(), StockMovement.objects.count()) == before


def test_a_switch_of_a_product_on_an_open_or_submitted_count_is_a_bad_row(make_client, world):
    counted, submitted, cancelled = (ProductFactory(sku="CNT-1"), ProductFactory(sku="SUB-1"),
                                     ProductFactory(sku="CAN-1"))
    open_count(actor=world.admin, warehouse=world.wh_a, products=[counted])
    count = open_count(actor=world.admin, warehouse=world.wh_b, products=[submitted])
    count.lines.update(counted=1)
    submit_count(actor=world.manager_b, count_id=count.pk)  # a difference of 1 and tolerance 0: submitted
    count.refresh_from_db()
    assert count.status == "submitted"
    cancel_count(actor=world.admin, count_id=open_count(actor=world.admin, warehouse=world.wh_a,
                                                        products=[cancelled]).pk)
    before = state()
    response = post_file(make_client(world.admin), "sku,name,tracking\nCNT-1,C,lot\nSUB-1,S,lot\nCAN-1,X,lot\n")
    assert errors_of(response) == [(2, "tracking", "product_has_stock"), (3, "tracking", "product_has_stock")]
    assert "count" in response.data["errors"][0]["message"]
    assert state() == before
    # The cancelled count does not hold its product.
    assert post_file(make_client(world.admin), "sku,name,tracking\nCAN-1,X,lot\n").data["updated"] == 1


def test_the_export_carries_tracking_and_reimports_unchanged(make_client, world):
    milk = ProductFactory(sku="MILK-1", name="Milk", tracking=Product.Tracking.LOT)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=5, lot="L-1")
    response = make_client(world.viewer).get(EXPORT)
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["sku", "name", "description", "unit", "is_active", "tracking"]
    assert ["MILK-1", "Milk", "", "pcs", "true", "lot"] in rows
    before = state()
    again = post_file(make_client(world.manager_a), text)
    assert again.data == {"created": 0, "updated": 0, "unchanged": len(rows) - 1, "dry_run": False}, again.data
    assert state() == before


def test_staff_and_viewers_cannot_import_a_tracking(make_client, world):
    for who in (world.staff_a, world.viewer):
        assert post_file(make_client(who), "sku,name,tracking\nBOLT-1,Bolt,lot\n").status_code == 403
    assert tracking_of("BOLT-1") == ["none"]
