"""CSV files with lots (SPEC §14 "Files"): the stock import's `lot` and `expires_on` columns (every lot problem a
bad row with its row, field and code, nothing written), `GET /api/stock-lots/export/` with the list's filters,
and both round trips (the stock export and the lot-balance export re-import with `mode=set` changing nothing)."""

import csv
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent
from inventory.lots import Lot, StockLot
from inventory.models import Product, Stock, StockMovement
from inventory.services import assign_stock, reserve_stock
from inventory.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

STOCKS_IMPORT, STOCKS_EXPORT, LOTS_EXPORT = "/api/stocks/import/", "/api/stocks/export/", "/api/stock-lots/export/"
TODAY = datetime.date.today()
SOON = TODAY + datetime.timedelta(days=20)
LATER = TODAY + datetime.timedelta(days=400)
PAST = TODAY - datetime.timedelta(days=3)


@pytest.fixture
def milk():
    return ProductFactory(sku="MILK-1", name="Milk", tracking=Product.Tracking.LOT)


def post_file(client, content, **fields):
    upload = SimpleUploadedFile("stock.csv", content.encode(), "text/csv")
    return client.post(STOCKS_IMPORT, {"file": upload, **fields}, format="multipart")


def state():
    """Everything a stock import with lots could change."""
    return (list(Stock.objects.order_by("pk").values_list("pk", "quantity", "reserved", "version")),
            list(StockLot.objects.order_by("pk").values_list("pk", "stock_id", "lot_id", "quantity")),
            list(Lot.objects.order_by("pk").values_list("pk", "code", "expires_on")), StockMovement.objects.count())


def errors_of(response) -> list[tuple]:
    assert (response.status_code, response.data["code"]) == (400, "invalid_file"), response.data
    return [(e["row"], e["field"], e.get("code")) for e in response.data["errors"]]


def lot_balance(product, warehouse, code) -> int:
    return StockLot.objects.get(stock__product=product, stock__warehouse=warehouse, lot__code_key=code.lower()).quantity


def exported(response) -> list[list[str]]:
    assert response.status_code == 200, getattr(response, "data", None)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


# --- the stock import with lots ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "manager_a"])
def test_assign_rows_add_units_to_the_named_lots_creating_new_ones(make_client, world, milk, who):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=4, lot="L-1",
                 expires_on=SOON)
    content = ("warehouse_code,sku,quantity,lot,expires_on,note\n"
               f"A,milk-1,6,l-1,{SOON.isoformat()},top-up\n"   # the known lot, its date repeated
               f"A,MILK-1,5,L-2,{LATER.isoformat()},\n"        # a new lot with a date
               "A,MILK-1,2,L-3,,\n"                            # a new lot without one
               "A,BOLT-1,3,,,\n")                              # an untracked product, as before
    response = post_file(make_client(getattr(world, who)), content)
    assert response.data == {"changed": 4, "unchanged": 0, "dry_run": False}, response.data
    assert Stock.objects.get(product=milk, warehouse=world.wh_a).quantity == 17
    assert (lot_balance(milk, world.wh_a, "L-1"), lot_balance(milk, world.wh_a, "L-2"),
            lot_balance(milk, world.wh_a, "L-3")) == (10, 5, 2)
    assert Lot.objects.get(product=milk, code="L-2").expires_on == LATER
    assert Lot.objects.get(product=milk, code="L-3").expires_on is None
    movements = list(StockMovement.objects.filter(product=milk).order_by("pk")[1:])
    assert [(m.kind, m.lot.code, m.quantity_change, m.quantity_after, m.actor_id) for m in movements] == [
        ("assign", "L-1", 6, 10, getattr(world, who).pk), ("assign", "L-2", 5, 15, getattr(world, who).pk),
        ("assign", "L-3", 2, 17, getattr(world, who).pk)]
    assert movements[0].note == "top-up"
    assert AuditEvent.objects.get(action="stock.import").data == {"changed": 4, "unchanged": 0, "mode": "assign",
                                                                  "lots_created": 2}


def test_set_rows_make_each_named_lot_balance_equal_the_quantity(make_client, world, milk):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=4, lot="L-1")
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=7, lot="L-2")
    content = ("warehouse_code,sku,lot,quantity\n"
               "A,MILK-1,L-1,1\n"     # 4 → 1
               "A,MILK-1,L-2,7\n"     # unchanged
               "A,MILK-1,L-9,3\n"     # a new lot: 0 → 3
               "B,MILK-1,L-1,2\n")    # the same lot in another warehouse: a new row
    response = post_file(make_client(world.admin), content, mode="set")
    assert response.data == {"changed": 3, "unchanged": 1, "dry_run": False}, response.data
    assert (lot_balance(milk, world.wh_a, "L-1"), lot_balance(milk, world.wh_a, "L-2"),
            lot_balance(milk, world.wh_a, "L-9"), lot_balance(milk, world.wh_b, "L-1")) == (1, 7, 3, 2)
    assert Stock.objects.get(product=milk, warehouse=world.wh_a).quantity == 11
    down = StockMovement.objects.get(product=milk, lot__code="L-1", quantity_change=-3)
    assert (down.kind, down.reason, down.quantity_after) == ("adjust", "count", 8)


def test_a_row_of_a_lot_tracked_product_without_lot_is_accepted_only_as_a_set_to_its_quantity(
        make_client, world, milk):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=4, lot="L-1")
    client = make_client(world.admin)
    same = post_file(client, "warehouse_code,sku,quantity\nA,MILK-1,4\n", mode="set")
    assert same.data == {"changed": 0, "unchanged": 1, "dry_run": False}
    before = state()
    other = post_file(client, "warehouse_code,sku,quantity\nA,MILK-1,5\nB,MILK-1,0\nB,MILK-1,1\n", mode="set")
    # Row 3 (B holds no row: 0 is its quantity) changes nothing; row 4 repeats the pair of row 3.
    assert errors_of(other) == [(2, "lot", "lot_required"), (4, "sku", None)]
    assigned = post_file(client, "warehouse_code,sku,quantity\nA,MILK-1,0\nA,MILK-1x,1\n")
    assert errors_of(assigned) == [(2, "lot", "lot_required"), (3, "sku", None)]
    assert "lot-tracked" in assigned.data["errors"][0]["message"]
    assert state() == before


def test_every_lot_problem_is_a_bad_row_with_its_field_and_code_and_nothing_is_written(make_client, world, milk):
    ProductFactory(sku="CHEESE-1", tracking=Product.Tracking.LOT)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=4, lot="L-1", expires_on=SOON)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=2, lot="NODATE")
    before = state()
    content = ("warehouse_code,sku,lot,expires_on,quantity\n"
               "A,MILK-1,L-5,,1\n"                            # 2: fine (a new lot)
               "A,BOLT-1,L-1,,1\n"                            # 3: a lot for an untracked product
               f"A,BOLT-1,,{SOON.isoformat()},1\n"            # 4: a date for an untracked product
               "A,MILK-1,,,1\n"                               # 5: no lot for a lot-tracked product
               f"A,MILK-1,,{SOON.isoformat()},1\n"            # 6: a date without a lot
               f"A,MILK-1,L-1,{LATER.isoformat()},1\n"        # 7: another date than the known lot's
               f"A,MILK-1,nodate,{LATER.isoformat()},1\n"     # 8: a date for a known lot without one
               "A,MILK-1,l-5,,2\n"                            # 9: warehouse, SKU and lot of row 2 again
               f"A,MILK-1,L-6,{SOON.isoformat()},1\n"         # 10: a new lot with a date...
               f"B,MILK-1,L-6,{LATER.isoformat()},1\n"        # 11: ...and another date for it
               "A,MILK-1,L-7,31/12/2030,1\n"                  # 12: not an ISO date
               f"A,MILK-1,{'X' * 51},,1\n"                    # 13: a code too long
               "A,MILK-1,=L(1),,1\n"                          # 14: a formula
               "A,MILK-1,Lаt,,1\n")                           # 15: a new code mixing Latin and Cyrillic
    response = post_file(make_client(world.admin), content)
    assert errors_of(response) == [
        (3, "lot", "not_lot_tracked"), (4, "expires_on", "not_lot_tracked"), (5, "lot", "lot_required"),
        (6, "lot", "lot_required"), (7, "expires_on", "lot_mismatch"), (8, "expires_on", "lot_mismatch"),
        (9, "lot", None), (11, "expires_on", "lot_mismatch"), (12, "expires_on", None), (13, "lot", None),
        (14, "lot", None), (15, "lot", None)]
    messages = {e["row"]: e["message"] for e in response.data["errors"]}
    assert SOON.isoformat() in messages[7] and "no expiry date" in messages[8]
    assert "row 2" in messages[9] and "row 10" in messages[11]
    assert state() == before
    # A whole dry run finds the same rows and creates no lot either.
    dry = post_file(make_client(world.admin), content, dry_run="true")
    assert len(dry.data["errors"]) == 12 and state() == before


def test_the_bad_rows_of_a_lot_import_keep_the_rules_of_part_two(make_client, world, milk):
    """Warehouse scope, reserved units and inactive objects apply to lot rows as to any row."""
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=5, lot="L-1")
    reserve_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=4)
    inactive = ProductFactory(sku="OLD-1", tracking=Product.Tracking.LOT, is_active=False)
    before = state()
    content = ("warehouse_code,sku,lot,quantity\n"
               "B,MILK-1,L-1,3\n"          # 2: manager A does not manage B
               "A,MILK-1,L-1,2\n"          # 3: 5 → 2 would leave 2 units for 4 reserved
               f"A,{inactive.sku},L,1\n")  # 4: an inactive product that would change
    response = post_file(make_client(world.manager_a), content, mode="set")
    assert errors_of(response) == [(2, "warehouse_code", None), (3, "quantity", None), (4, "sku", None)]
    assert state() == before


def test_rows_of_one_stock_row_apply_in_file_order(make_client, world, milk):
    """Several lots of one row: each row sees the rows before it (a decrease after an increase is fine)."""
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=5, lot="L-1")
    reserve_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=4)
    response = post_file(make_client(world.admin), "warehouse_code,sku,lot,quantity\nA,MILK-1,L-2,3\n"
                                                   "A,MILK-1,L-1,1\n", mode="set")
    assert response.data == {"changed": 2, "unchanged": 0, "dry_run": False}, response.data
    assert Stock.objects.get(product=milk, warehouse=world.wh_a).quantity == 4


def test_a_lot_created_meanwhile_with_another_date_makes_its_rows_bad_rows(make_client, world, milk, monkeypatch):
    """Between the validation (no lock) and the writes, another request created the lot with another date."""
    from inventory.services import files

    validate = files._validate_stock_rows

    def then_someone_creates_it(*args, **kwargs):
        result = validate(*args, **kwargs)
        Lot.objects.create(product=milk, code="L-NEW", expires_on=SOON)
        return result

    monkeypatch.setattr(files, "_validate_stock_rows", then_someone_creates_it)
    response = post_file(make_client(world.admin), f"warehouse_code,sku,lot,expires_on,quantity\n"
                                                   f"A,MILK-1,L-NEW,{LATER.isoformat()},3\n")
    assert errors_of(response) == [(2, "expires_on", "lot_mismatch")]
    assert not StockMovement.objects.filter(product=milk).exists()


def test_a_tracking_switch_after_the_validation_makes_the_row_a_bad_row(make_client, world, milk, monkeypatch):
    """The door reads `tracking` again under the row locks; its lot error becomes the row's bad row."""
    from inventory.services import files

    validate = files._validate_stock_rows
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=3, lot="L-1")

    def then_the_product_is_switched(*args, **kwargs):
        result = validate(*args, **kwargs)
        Product.objects.filter(pk=milk.pk).update(tracking=Product.Tracking.NONE)
        return result

    monkeypatch.setattr(files, "_validate_stock_rows", then_the_product_is_switched)
    before = state()
    response = post_file(make_client(world.admin), "warehouse_code,sku,lot,quantity\nA,MILK-1,L-1,5\n", mode="set")
    assert errors_of(response) == [(2, "lot", "not_lot_tracked")]
    assert state() == before
    milk.refresh_from_db()
    assert milk.tracking == Product.Tracking.LOT  # the switch was part of the import's rolled-back transaction


@pytest.mark.parametrize("mode", ["assign", "set"])
def test_a_row_of_zero_units_of_a_new_lot_changes_nothing_and_creates_no_lot(make_client, world, milk, mode):
    before = state()
    response = post_file(make_client(world.admin), "warehouse_code,sku,lot,quantity\nA,MILK-1,Z-1,0\n", mode=mode)
    assert response.data == {"changed": 0, "unchanged": 1, "dry_run": False}, response.data
    assert state() == before


def test_a_dry_run_with_new_lots_creates_nothing(make_client, world, milk):
    before = state()
    response = post_file(make_client(world.admin), "warehouse_code,sku,lot,expires_on,quantity\n"
                                                   f"A,MILK-1,N-1,{LATER.isoformat()},3\n", dry_run="true")
    assert response.data == {"changed": 1, "unchanged": 0, "dry_run": True}
    assert state() == before


def test_the_import_command_reads_lots_too(world, milk, tmp_path):
    path = tmp_path / "stock.csv"
    path.write_text(f"warehouse_code,sku,lot,expires_on,quantity\nA,MILK-1,C-1,{LATER.isoformat()},8\n")
    call_command("import_stock", str(path), "--no-progress", stdout=io.StringIO())
    assert lot_balance(milk, world.wh_a, "C-1") == 8
    path.write_text("warehouse_code,sku,quantity\nA,MILK-1,3\n")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_stock", str(path), "--no-progress", stdout=io.StringIO(), stderr=err)
    assert "row 2, lot: " in err.getvalue() and err.getvalue().rstrip().endswith("[lot_required]")


# --- the stock export stays as in Part II --------------------------------------------------------------------


def _stock_world(world, milk):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=4, lot="L-1", expires_on=SOON)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=6, lot="L-2")
    assign_stock(actor=world.admin, warehouse=world.wh_b, product=milk, quantity=3, lot="L-1")
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=9)
    assign_stock(actor=world.admin, warehouse=world.wh_b, product=milk, quantity=2, lot="OLD", expires_on=PAST)


def test_the_stock_export_is_one_line_per_row_and_reimports_with_set_changing_nothing(make_client, world, milk):
    _stock_world(world, milk)
    response = make_client(world.viewer).get(STOCKS_EXPORT)
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["warehouse_code", "sku", "product", "quantity", "reserved", "available", "incoming",
                       "threshold"]
    milk_rows = sorted(row for row in rows[1:] if row[1] == "MILK-1")
    # B holds 2 expired units: not available (SPEC §14), as `GET /api/stocks/` says.
    assert milk_rows == [["A", "MILK-1", "Milk", "10", "0", "10", "0", ""], ["B", "MILK-1", "Milk", "5", "0", "3",
                                                                             "0", ""]]
    before = state()
    response = post_file(make_client(world.admin), text, mode="set")
    assert response.data == {"changed": 0, "unchanged": len(rows) - 1, "dry_run": False}, response.data
    assert state() == before


# --- the lot-balance export --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "manager_a", "staff_b", "viewer"])
def test_every_active_user_exports_the_lot_balances_first_expired_first(make_client, world, milk, who):
    _stock_world(world, milk)
    rows = exported(make_client(getattr(world, who)).get(LOTS_EXPORT))
    assert rows == [
        ["warehouse_code", "sku", "lot", "expires_on", "quantity"],
        ["B", "MILK-1", "OLD", PAST.isoformat(), "2"],
        ["A", "MILK-1", "L-1", SOON.isoformat(), "4"],
        ["B", "MILK-1", "L-1", SOON.isoformat(), "3"],
        ["A", "MILK-1", "L-2", "", "6"],
    ]


def test_the_lot_balance_export_takes_the_lists_filters(make_client, world, milk):
    _stock_world(world, milk)
    client = make_client(world.viewer)
    l1 = Lot.objects.get(product=milk, code="L-1")

    def lots(**params):
        return [(row[0], row[2]) for row in exported(client.get(LOTS_EXPORT, params))[1:]]

    assert lots(warehouse=world.wh_a.pk) == [("A", "L-1"), ("A", "L-2")]
    assert lots(product=milk.pk) == lots() and lots(product=world.product.pk) == []
    assert lots(lot=l1.pk) == [("A", "L-1"), ("B", "L-1")]
    assert lots(expired="true") == [("B", "OLD")]
    assert lots(expired="false") == [("A", "L-1"), ("B", "L-1"), ("A", "L-2")]
    assert lots(expires_before=SOON.isoformat()) == [("B", "OLD")]
    assert lots(expires_before=(SOON + datetime.timedelta(days=1)).isoformat()) == [
        ("B", "OLD"), ("A", "L-1"), ("B", "L-1")]  # L-2 has no date: left out
    for bad in ({"warehouse": "x"}, {"lot": "0"}, {"expired": "maybe"}, {"expires_before": "soon"}):
        response = client.get(LOTS_EXPORT, bad)
        assert response.status_code == 400 and response["Content-Type"] == "application/json", bad


def test_the_lot_balance_export_leaves_out_empty_balances_and_needs_an_active_user(make_client, world, milk, anon):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=4, lot="GONE")
    post_file(make_client(world.admin), "warehouse_code,sku,lot,quantity\nA,MILK-1,GONE,0\n", mode="set")
    assert exported(make_client(world.viewer).get(LOTS_EXPORT)) == [
        ["warehouse_code", "sku", "lot", "expires_on", "quantity"]]
    assert anon.get(LOTS_EXPORT).status_code == 401


def test_the_lot_balance_export_neutralises_formulas_and_reimports_them(make_client, world):
    tricky = ProductFactory(sku="+TRICKY", tracking=Product.Tracking.LOT)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=tricky, quantity=4, lot="-L1")
    response = make_client(world.viewer).get(LOTS_EXPORT)
    text = b"".join(response.streaming_content).decode()
    assert list(csv.reader(io.StringIO(text)))[1] == ["A", "'+TRICKY", "'-L1", "", "4"]
    before = state()
    assert post_file(make_client(world.admin), text, mode="set").data["unchanged"] == 1
    assert state() == before


def test_the_lot_balance_export_reimports_with_set_changing_nothing(make_client, world, milk, tmp_path):
    _stock_world(world, milk)
    many = ProductFactory(sku="MANY-1", tracking=Product.Tracking.LOT)
    for index in range(30):
        assign_stock(actor=world.admin, warehouse=world.wh_a if index % 2 else world.wh_b, product=many,
                     quantity=index + 1, lot=f"M-{index:02d}",
                     expires_on=None if index % 3 == 0 else TODAY + datetime.timedelta(days=index - 5))
    reserve_stock(actor=world.admin, warehouse=world.wh_a, product=many, quantity=5)
    response = make_client(world.manager_a).get(LOTS_EXPORT)
    text = b"".join(response.streaming_content).decode()
    assert text.count("\n") == 1 + 4 + 30
    before = state()
    through_api = post_file(make_client(world.admin), text, mode="set")
    assert through_api.data == {"changed": 0, "unchanged": 34, "dry_run": False}, through_api.data
    assert state() == before
    path = tmp_path / "lots.csv"
    path.write_text(text)
    out = io.StringIO()
    call_command("import_stock", str(path), "--mode", "set", "--no-progress", stdout=out)
    assert '"changed": 0' in out.getvalue() and state() == before


@pytest.mark.parametrize("products", [1, 8])
def test_both_exports_cost_the_same_queries_for_few_or_many_lots(make_client, world, django_assert_num_queries,
                                                                 products):
    for index in range(products):
        product = ProductFactory(sku=f"Q-{index}", tracking=Product.Tracking.LOT)
        for code, expires_on in (("A", PAST), ("B", LATER), ("C", None)):
            assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=2, lot=code,
                         expires_on=expires_on)
    client = make_client(world.viewer)
    with django_assert_num_queries(2):  # the user (with role); the balances, one query however many
        rows = exported(client.get(LOTS_EXPORT))
    assert len(rows) == 1 + 3 * products
    with django_assert_num_queries(2):  # the user; the rows with `expired` as one annotation
        rows = exported(client.get(STOCKS_EXPORT))
    assert len(rows) == 1 + Stock.objects.count()
    assert sorted(row[5] for row in rows[1:] if row[1].startswith("Q-")) == ["4"] * products  # 6 − 2 expired
