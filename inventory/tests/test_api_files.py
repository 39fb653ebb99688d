"""CSV in and out (SPEC §13): imports report every bad row and write all or nothing; exports re-import unchanged."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditEvent
from inventory.models import LowStockAlert, Product, Stock, StockMovement
from inventory.services import assign_stock, reserve_stock, set_threshold
from inventory.tests.factories import ProductFactory
from warehouses.tests.factories import WarehouseFactory

pytestmark = pytest.mark.django_db

PRODUCTS_IMPORT, PRODUCTS_EXPORT = "/api/products/import/", "/api/products/export/"
STOCKS_IMPORT, STOCKS_EXPORT = "/api/stocks/import/", "/api/stocks/export/"


def upload(content: str | bytes, name: str = "data.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode() if isinstance(content, str) else content, "text/csv")


def post_file(client, path, content, **fields):
    return client.post(path, {"file": upload(content), **fields}, format="multipart")


def state():
    return (list(Product.objects.order_by("pk").values()), list(Stock.objects.order_by("pk").values("pk", "quantity")),
            StockMovement.objects.count())


def exported(response) -> str:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content).decode()


def errors_of(response) -> list[tuple]:
    assert (response.status_code, response.data["code"]) == (400, "invalid_file"), response.data
    return [(e["row"], e["field"]) for e in response.data["errors"]]


# --- product import ------------------------------------------------------------------------------------


def test_product_import_creates_updates_and_counts_unchanged(make_client, world):
    client = make_client(world.manager_a)
    content = ("sku,name,description,unit,is_active,colour\n"
               "bolt-1,Bolt,,pcs,true,red\n"          # BOLT-1 exists: same name → case-insensitive match
               "NUT-1,Hex nut,M6,box,false,blue\n"     # exists: renamed, deactivated
               "NEW-1,Washer,Flat,pcs,,green\n")       # new; blank is_active → active
    response = post_file(client, PRODUCTS_IMPORT, content)
    assert response.status_code == 200, response.data
    assert response.data == {"created": 1, "updated": 2, "unchanged": 0, "dry_run": False}
    nut = Product.objects.get(sku="NUT-1")
    assert (nut.name, nut.description, nut.unit, nut.is_active) == ("Hex nut", "M6", "box", False)
    assert Product.objects.get(sku="NEW-1").is_active
    assert Product.objects.filter(sku__iexact="bolt-1").count() == 1
    event = AuditEvent.objects.get(action="product.import")
    assert (event.actor_id, event.data["created"], event.data["updated"]) == (world.manager_a.pk, 1, 2)


def test_product_import_dry_run_reports_and_writes_nothing(make_client, world):
    before = state()
    response = post_file(make_client(world.admin), PRODUCTS_IMPORT, "sku,name\nNEW-1,New\nBOLT-1,Bolt\n",
                         dry_run="true")
    assert response.data == {"created": 1, "updated": 0, "unchanged": 1, "dry_run": True}
    assert state() == before and not AuditEvent.objects.filter(action="product.import").exists()


def test_product_import_reports_every_bad_row_and_writes_nothing(make_client, world):
    before = state()
    content = ("sku,name,is_active\n"
               "OK-1,Fine,true\n"
               ",No SKU,true\n"                 # row 3: sku missing
               "OK-2,,true\n"                   # row 4: name missing
               "ok-1,Again,true\n"              # row 5: the SKU of row 2 again (case-insensitive)
               "OK-3,Fine,perhaps\n"            # row 6: not a boolean
               "=HYPERLINK(\"x\"),Evil,true\n"  # row 7: a formula
               f"{'L' * 65},Long,true\n")       # row 8: SKU too long
    response = post_file(make_client(world.admin), PRODUCTS_IMPORT, content)
    assert errors_of(response) == [(3, "sku"), (4, "name"), (5, "sku"), (6, "is_active"), (7, "sku"), (8, "sku")]
    assert "row 2" in response.data["errors"][2]["message"]
    assert state() == before


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"),
    (b"name,unit\nBolt,pcs\n", "sku"),
    (b"sku,name,sku\nA,B,C\n", "more than once"),
    (b"sku,name\nA,\xff\xfe broken\n", "UTF-8"),
    (b"sku,name\n\"A,B\n", "CSV"),
])
def test_whole_file_problems_have_no_row(make_client, world, content, message):
    response = post_file(make_client(world.admin), PRODUCTS_IMPORT, content)
    assert response.status_code == 400 and response.data["code"] == "invalid_file"
    assert any(message in e["message"] or e["field"] == message for e in response.data["errors"]), response.data
    assert all(e["row"] is None for e in response.data["errors"] if "CSV" not in e["message"])


def test_a_bom_is_accepted_and_unknown_columns_ignored(make_client, world):
    content = "\ufeffsku,name,price\nBOM-1,With BOM,3.50\n".encode()
    response = post_file(make_client(world.admin), PRODUCTS_IMPORT, content)
    assert (response.status_code, response.data["created"]) == (200, 1)
    assert Product.objects.filter(sku="BOM-1").exists()


def test_more_than_10000_rows_is_refused_before_reading_on(make_client, world):
    content = "sku,name\n" + "".join(f"S-{i},N\n" for i in range(10_001))
    response = post_file(make_client(world.admin), PRODUCTS_IMPORT, content)
    assert errors_of(response) == [(None, None)]
    assert "10000" in response.data["errors"][0]["message"]
    assert not Product.objects.filter(sku="S-1").exists()


def test_a_file_over_5_mib_is_refused(make_client, world):
    content = b"sku,name\n" + b"A,B\n" * (5 * 1024 * 1024 // 4 + 1)
    response = post_file(make_client(world.admin), PRODUCTS_IMPORT, content)
    assert response.status_code == 400
    assert response.data["code"] in ("invalid_file", "bad_request")


def test_a_file_of_exactly_the_limit_size_is_read(make_client, world):
    header = b"sku,name\nBIG-1,"
    content = header + b"x" * 190 + b"\n"
    assert post_file(make_client(world.admin), PRODUCTS_IMPORT, content).status_code == 200


def test_import_refuses_staff_and_viewers_and_bodies_without_a_file(make_client, world):
    for who in (world.staff_a, world.viewer):
        assert post_file(make_client(who), PRODUCTS_IMPORT, "sku,name\nA,B\n").status_code == 403
    client = make_client(world.admin)
    assert client.post(PRODUCTS_IMPORT, {"dry_run": "true"}, format="multipart").status_code == 400
    assert client.post(PRODUCTS_IMPORT, {"file": "sku,name"}, format="json").status_code == 400
    response = client.post(PRODUCTS_IMPORT, {"file": upload("sku,name\n"), "mode": "set"}, format="multipart")
    assert response.status_code == 400 and "mode" in response.data


def test_an_import_replays_only_the_same_file_for_an_idempotency_key(make_client, world):
    client = make_client(world.admin)
    first = client.post(PRODUCTS_IMPORT, {"file": upload("sku,name\nK-1,K\n")}, format="multipart",
                        HTTP_IDEMPOTENCY_KEY="imp-1")
    again = client.post(PRODUCTS_IMPORT, {"file": upload("sku,name\nK-1,K\n")}, format="multipart",
                        HTTP_IDEMPOTENCY_KEY="imp-1")
    other = client.post(PRODUCTS_IMPORT, {"file": upload("sku,name\nK-2,K\n")}, format="multipart",
                        HTTP_IDEMPOTENCY_KEY="imp-1")
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (200, 200, "true")
    assert other.status_code == 409 and not Product.objects.filter(sku="K-2").exists()


# --- product export -----------------------------------------------------------------------------------


def test_product_export_is_the_import_header_and_neutralises_formulas(make_client, world):
    ProductFactory(sku="=SUM(A1)", name="-minus", description="@at", is_active=False)
    text = exported(make_client(world.viewer).get(PRODUCTS_EXPORT))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["sku", "name", "description", "unit", "is_active", "tracking"]
    assert ["'=SUM(A1)", "'-minus", "'@at", "pcs", "false", "none"] in rows
    assert ["BOLT-1", "Bolt", "", "pcs", "true", "none"] in rows
    inactive = list(csv.reader(io.StringIO(exported(make_client(world.viewer).get(
        PRODUCTS_EXPORT, {"is_active": "false"})))))
    assert len(inactive) == 2
    assert len(list(csv.reader(io.StringIO(exported(make_client(world.viewer).get(
        PRODUCTS_EXPORT, {"search": "nut"})))))) == 2
    assert make_client(world.viewer).get(PRODUCTS_EXPORT, {"is_active": "maybe"}).status_code == 400


def test_product_export_reimports_as_a_no_op_at_10000_rows(make_client, world):
    Product.objects.bulk_create([Product(sku=f"P-{i:05d}", name=f"Product {i}", description="=1+1" if i % 7 == 0
                                         else "", unit="pcs", is_active=i % 5 != 0) for i in range(9_998)])
    text = exported(make_client(world.admin).get(PRODUCTS_EXPORT))
    assert text.count("\n") == 10_001
    before = state()
    response = post_file(make_client(world.admin), PRODUCTS_IMPORT, text)
    assert response.data == {"created": 0, "updated": 0, "unchanged": 10_000, "dry_run": False}
    assert state() == before


# --- stock import ---------------------------------------------------------------------------------------


def test_stock_import_assigns_through_the_ledger(make_client, world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    content = "warehouse_code,sku,quantity,note\na,bolt-1,10,pallet 4\nA,NUT-1,3,\nA,NUT-1x,0,\n"
    response = post_file(make_client(world.manager_a), STOCKS_IMPORT, content)
    assert errors_of(response) == [(4, "sku")]
    content = "warehouse_code,sku,quantity,note\na,bolt-1,10,pallet 4\nA,NUT-1,3,\n"
    response = post_file(make_client(world.manager_a), STOCKS_IMPORT, content)
    assert response.data == {"changed": 2, "unchanged": 0, "dry_run": False}
    assert Stock.objects.get(warehouse=world.wh_a, product=world.product).quantity == 15
    movement = StockMovement.objects.filter(product=world.product).first()
    assert (movement.kind, movement.quantity_change, movement.note, movement.actor_id) == (
        "assign", 10, "pallet 4", world.manager_a.pk)
    assert AuditEvent.objects.get(action="stock.import").data["mode"] == "assign"


def test_stock_import_set_adjusts_with_reason_count_and_skips_equal_rows(make_client, world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product2, quantity=4)
    content = "warehouse_code,sku,quantity\nA,BOLT-1,2\nA,NUT-1,4\n"
    response = post_file(make_client(world.admin), STOCKS_IMPORT, content, mode="set")
    assert response.data == {"changed": 1, "unchanged": 1, "dry_run": False}
    movement = StockMovement.objects.first()
    assert (movement.kind, movement.reason, movement.quantity_change, movement.quantity_after) == (
        "adjust", "count", -3, 2)


def test_stock_import_opens_alerts_like_any_stock_change(make_client, world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    set_threshold(actor=world.admin, warehouse=world.wh_a, product=world.product, threshold=5)
    post_file(make_client(world.admin), STOCKS_IMPORT, "warehouse_code,sku,quantity\nA,BOLT-1,1\n", mode="set")
    alert = LowStockAlert.objects.get(product=world.product, warehouse=world.wh_a)
    assert (alert.status, alert.quantity_at_trigger) == ("open", 1)


def test_stock_import_reports_every_bad_row_and_writes_nothing(make_client, world):
    inactive = ProductFactory(sku="OLD-1", is_active=False)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    before = state()
    content = ("warehouse_code,sku,quantity,note\n"
               "A,BOLT-1,2,ok\n"
               "ZZ,BOLT-1,2,\n"           # 3: unknown warehouse
               "B,BOLT-1,2,\n"            # 4: another manager's warehouse
               "A,NOPE,2,\n"              # 5: unknown SKU
               "A,NUT-1,-4,\n"            # 6: negative
               "A,NUT-1,2.5,\n"           # 7: not an integer
               "A,BOLT-1,3,\n"            # 8: the pair of row 2 again
               f"A,{inactive.sku},3,\n"   # 9: inactive product
               "A,NUT-1,,\n"              # 10: missing quantity
               "A,NUT-1,1,=cmd|' /C calc'!A0\n"  # 11: a formula in the note
               "A,NUT-1,1,x,extra\n")     # 12: more values than columns
    response = post_file(make_client(world.manager_a), STOCKS_IMPORT, content)
    assert errors_of(response) == [(3, "warehouse_code"), (4, "warehouse_code"), (5, "sku"), (6, "quantity"),
                                   (7, "quantity"), (8, "sku"), (9, "sku"), (10, "quantity"), (11, "note"),
                                   (12, None)]
    assert state() == before


def test_stock_import_refuses_staff_and_viewers(make_client, world):
    for who in (world.staff_a, world.viewer):
        response = post_file(make_client(who), STOCKS_IMPORT, "warehouse_code,sku,quantity\nA,BOLT-1,1\n")
        assert response.status_code == 403


def test_stock_import_header_must_name_the_columns(make_client, world):
    response = post_file(make_client(world.admin), STOCKS_IMPORT, "warehouse,sku,qty\nA,BOLT-1,1\n")
    assert {(e["row"], e["field"]) for e in response.data["errors"]} >= {(None, "warehouse_code"), (None, "quantity")}


def test_stock_import_dry_run_changes_nothing(make_client, world):
    before = state()
    response = post_file(make_client(world.admin), STOCKS_IMPORT, "warehouse_code,sku,quantity\nA,BOLT-1,7\n",
                         dry_run="true")
    assert response.data == {"changed": 1, "unchanged": 0, "dry_run": True}
    assert state() == before


def test_a_set_row_below_reserved_is_a_bad_row(make_client, world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=6)
    response = post_file(make_client(world.admin), STOCKS_IMPORT, "warehouse_code,sku,quantity\nA,BOLT-1,5\n",
                         mode="set")
    assert errors_of(response) == [(2, "quantity")]


# --- stock export -----------------------------------------------------------------------------------------


def test_stock_export_lists_what_the_stock_list_lists(make_client, world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=7)
    assign_stock(actor=world.admin, warehouse=world.wh_b, product=world.product2, quantity=3)
    set_threshold(actor=world.admin, warehouse=world.wh_a, product=world.product, threshold=9)
    client = make_client(world.viewer)
    rows = list(csv.reader(io.StringIO(exported(client.get(STOCKS_EXPORT)))))
    assert rows == [
        ["warehouse_code", "sku", "product", "quantity", "reserved", "available", "incoming", "threshold"],
        ["A", "BOLT-1", "Bolt", "7", "0", "7", "0", "9"],
        ["B", "NUT-1", "Nut", "3", "0", "3", "0", ""],
    ]
    low = list(csv.reader(io.StringIO(exported(client.get(STOCKS_EXPORT, {"low": "true"})))))
    assert [row[0] for row in low[1:]] == ["A"]
    by_quantity = list(csv.reader(io.StringIO(exported(client.get(STOCKS_EXPORT, {"ordering": "quantity"})))))
    assert [row[3] for row in by_quantity[1:]] == ["3", "7"]
    assert [r[0] for r in list(csv.reader(io.StringIO(exported(client.get(
        STOCKS_EXPORT, {"warehouse": world.wh_b.pk})))))[1:]] == ["B"]
    assert client.get(STOCKS_EXPORT, {"warehouse": "x"}).status_code == 400
    assert make_client(None).get(STOCKS_EXPORT).status_code == 401


def test_stock_export_reimports_with_mode_set_as_a_no_op_at_10000_rows(make_client, world):
    from inventory.services import StockChange, apply_stock_changes

    warehouses = [world.wh_a, world.wh_b, WarehouseFactory(code="=C", name="Formula")]
    Product.objects.bulk_create([Product(sku=f"R-{i:05d}", name=f"+Row {i}") for i in range(3_334)])
    products = list(Product.objects.filter(sku__startswith="R-").values_list("pk", flat=True))
    pairs = [(p, w.pk) for w in warehouses for p in products][:10_000]
    # 600 rows hold stock (through the stock door, with their movements); the others are empty rows, as
    # the stock door creates them, so the test does not spend its time writing 10 000 ledger rows.
    apply_stock_changes(actor=world.admin, kind="assign", changes=[
        StockChange(product_id=p, warehouse_id=w, delta=1 + (p % 13)) for p, w in pairs[::17][:600]])
    Stock.objects.bulk_create([Stock(product_id=p, warehouse_id=w) for p, w in pairs], ignore_conflicts=True)
    text = exported(make_client(world.admin).get(STOCKS_EXPORT))
    assert text.count("\n") == 10_001 and "'=C" in text
    before = state()
    response = post_file(make_client(world.admin), STOCKS_IMPORT, text, mode="set")
    assert response.data == {"changed": 0, "unchanged": 10_000, "dry_run": False}, response.data
    assert state() == before


# --- formulas: full-width starts and stored apostrophes (issue 24, also seen) ----------------------------


def test_full_width_formula_starts_are_neutralised_and_refused():
    from core.spreadsheets import is_formula, neutralise

    for value in ("＝1+1", "＋1", "－1", "＠SUM(A1)", "﹦1"):
        assert is_formula(value), value
        assert neutralise(value) == "'" + value


def test_an_export_of_names_starting_with_an_apostrophe_reimports_unchanged(make_client, world):
    ProductFactory(sku="Q-1", name="'=x", description="'plain")
    ProductFactory(sku="Q-2", name="＝1+1", description="''=y")
    text = exported(make_client(world.admin).get(PRODUCTS_EXPORT))
    rows = list(csv.reader(io.StringIO(text)))
    assert ["Q-2", "'＝1+1", "'''=y", "pcs", "true", "none"] in rows
    before = state()
    response = post_file(make_client(world.admin), PRODUCTS_IMPORT, text)
    assert response.status_code == 200, response.data
    assert response.data["updated"] == 0
    assert state() == before
    assert Product.objects.get(sku="Q-1").name == "'=x"
