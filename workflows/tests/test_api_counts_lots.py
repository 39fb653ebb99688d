"""Counts per lot (SPEC §14 "Counts"): a lot-tracked product is counted lot by lot, a lot found that was not
expected is added by `PATCH …/lines/`, and applying writes one `adjust` per lot with a difference — over HTTP,
for every role, with every error code and nothing changed on a refusal."""

import datetime

import pytest
from django.db import connection

from accounts.models import AuditEvent
from inventory.lots import Lot, StockLot
from inventory.models import Product, Stock, StockMovement
from inventory.services import adjust_stock, assign_stock
from inventory.tests.factories import ProductFactory
from workflows.models import StockCount, StockCountLine
from workflows.selectors import open_count_products
from workflows.services import cancel_count, decide_count, open_count, submit_count

pytestmark = pytest.mark.django_db

LIST = "/api/stock-counts/"
SOON = datetime.date.today() + datetime.timedelta(days=20)
LATER = datetime.date.today() + datetime.timedelta(days=400)


def url(count, action=""):
    return f"{LIST}{count.pk if hasattr(count, 'pk') else count}/{action + '/' if action else ''}"


@pytest.fixture
def milk(world):
    """A lot-tracked product with two lots in warehouse A (L-1: 5 units, expiring soon; L-2: 3 units, no date)
    and one in B, beside `world.product` (untracked, 10 units in A)."""
    milk = ProductFactory(sku="MILK-1", tracking=Product.Tracking.LOT)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=3, lot="L-2")
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=5, lot="L-1", expires_on=SOON)
    assign_stock(actor=world.admin, warehouse=world.wh_b, product=milk, quantity=4, lot="L-1")
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    return milk


def lot_id(product, code) -> int:
    return Lot.objects.get(product=product, code_key=code.lower()).pk


def balance(product, warehouse, code) -> int:
    row = StockLot.objects.filter(stock__product=product, stock__warehouse=warehouse,
                                  lot__code_key=code.lower()).first()
    return row.quantity if row else 0


def lines_of(body) -> list[tuple]:
    return [(line["product"], line["lot"], line["expected"], line["counted"], line["difference"])
            for line in body["lines"]]


def state():
    """Everything a refused count request could have changed."""
    return (list(StockCountLine.objects.order_by("pk").values_list("pk", "lot_id", "expected", "counted")),
            list(Lot.objects.order_by("pk").values_list("pk", "code", "expires_on")),
            list(StockCount.objects.order_by("pk").values_list("pk", "status")), StockMovement.objects.count())


# --- the journey ------------------------------------------------------------------------------------------


def test_a_count_of_a_lot_tracked_product_is_per_lot_end_to_end(make_client, world, milk):
    staff, manager = make_client(world.staff_a), make_client(world.manager_a)
    opened = staff.post(LIST, {"warehouse": world.wh_a.pk}, format="json")
    assert opened.status_code == 201, opened.data
    l1, l2 = lot_id(milk, "L-1"), lot_id(milk, "L-2")
    # Product by product; a product's lots first-expired first (L-1 has a date, L-2 none).
    assert lines_of(opened.data) == [(world.product.pk, None, 10, None, None), (milk.pk, l1, 5, None, None),
                                     (milk.pk, l2, 3, None, None)]
    count = StockCount.objects.get(pk=opened.data["id"])
    by_lot = {line["lot"]: line["id"] for line in opened.data["lines"]}

    # Two units of L-1 leave while people count: the count keeps them out (it writes differences).
    adjust_stock(actor=world.manager_a, warehouse=world.wh_a, product=milk, delta=-2, reason="damage", lot="L-1")

    body = {"lines": [{"line": by_lot[None], "counted": 10}, {"line": by_lot[l1], "counted": 4},
                      {"line": by_lot[l2], "counted": 3},
                      {"product": milk.pk, "lot": "L-3", "expires_on": LATER.isoformat(), "counted": 2}]}
    recorded = staff.patch(url(count, "lines"), body, format="json")
    assert recorded.status_code == 200, recorded.data
    l3 = lot_id(milk, "L-3")
    assert Lot.objects.get(pk=l3).expires_on == LATER
    assert lines_of(recorded.data)[1:] == [(milk.pk, l1, 5, 4, -1), (milk.pk, l2, 3, 3, 0), (milk.pk, l3, 0, 2, 2)]
    event = AuditEvent.objects.get(action="stock_count.count", target=f"stockcount:{count.pk}")
    assert event.data["found"] == [{"line": recorded.data["lines"][3]["id"], "product": milk.pk, "lot": l3,
                                    "counted": 2}]

    submitted = staff.post(url(count, "submit"))
    assert submitted.data["status"] == "submitted"
    approved = manager.post(url(count, "approve"), {"decision": "approve"}, format="json")
    assert approved.status_code == 200, approved.data
    assert approved.data["status"] == "applied"
    movements = list(StockMovement.objects.filter(reference_type="stock_count", reference_id=count.pk).order_by("pk"))
    assert [(m.lot_id, m.kind, m.reason, m.quantity_change, m.actor_id) for m in movements] == [
        (l1, "adjust", "count", -1, world.manager_a.pk), (l3, "adjust", "count", 2, world.manager_a.pk)]
    # L-1: 5 − 2 damaged − 1 found missing; L-2 untouched; L-3 found.
    assert (balance(milk, world.wh_a, "L-1"), balance(milk, world.wh_a, "L-2"), balance(milk, world.wh_a, "L-3")) == (
        2, 3, 2)
    assert Stock.objects.get(product=milk, warehouse=world.wh_a).quantity == 7
    assert movements[-1].quantity_after == 7
    assert balance(milk, world.wh_b, "L-1") == 4  # another warehouse's lot balance is not this count's


def test_a_count_within_tolerance_applies_each_lot_at_submit(make_client, world, milk):
    world.wh_a.count_tolerance = 1
    world.wh_a.save(update_fields=["count_tolerance"])
    count = open_count(actor=world.admin, warehouse=world.wh_a, products=[milk])
    client = make_client(world.staff_a)
    lines = {line.lot_id: line.pk for line in count.lines.all()}
    client.patch(url(count, "lines"), {"lines": [{"line": lines[lot_id(milk, "L-1")], "counted": 6},
                                                 {"line": lines[lot_id(milk, "L-2")], "counted": 2}]}, format="json")
    response = client.post(url(count, "submit"))
    assert (response.data["status"], response.data["decided_by"]) == ("applied", None)
    assert (balance(milk, world.wh_a, "L-1"), balance(milk, world.wh_a, "L-2")) == (6, 2)
    assert StockMovement.objects.filter(reference_id=count.pk, reference_type="stock_count").count() == 2


def test_a_lot_tracked_product_without_units_has_no_line_until_a_lot_is_found(make_client, world):
    cheese = ProductFactory(sku="CHEESE-1", tracking=Product.Tracking.LOT)
    client = make_client(world.staff_a)
    opened = client.post(LIST, {"warehouse": world.wh_a.pk, "products": [cheese.pk]}, format="json")
    assert (opened.status_code, opened.data["lines"]) == (201, []), opened.data
    found = client.patch(url(opened.data["id"], "lines"),
                         {"lines": [{"product": cheese.pk, "lot": "C-1", "counted": 4}]}, format="json")
    assert lines_of(found.data) == [(cheese.pk, lot_id(cheese, "C-1"), 0, 4, 4)]
    assert Lot.objects.get(product=cheese).expires_on is None
    client.post(url(opened.data["id"], "submit"))
    approved = make_client(world.manager_a).post(url(opened.data["id"], "approve"), {"decision": "approve"},
                                                 format="json")
    assert approved.data["status"] == "applied", approved.data
    assert balance(cheese, world.wh_a, "C-1") == 4
    assert Stock.objects.get(product=cheese, warehouse=world.wh_a).quantity == 4


def test_a_found_lot_the_count_already_has_sets_that_line_so_a_repeat_changes_nothing_more(
        make_client, world, milk):
    count = open_count(actor=world.admin, warehouse=world.wh_a, products=[milk])
    client = make_client(world.staff_a)
    body = {"lines": [{"product": milk.pk, "lot": "l-1", "counted": 7}, {"product": milk.pk, "lot": "N-1",
                                                                         "counted": 1}]}
    first = client.patch(url(count, "lines"), body, format="json")
    again = client.patch(url(count, "lines"), body, format="json")
    assert first.status_code == again.status_code == 200, again.data
    assert lines_of(again.data) == lines_of(first.data) == [
        (milk.pk, lot_id(milk, "L-1"), 5, 7, 2), (milk.pk, lot_id(milk, "L-2"), 3, None, None),
        (milk.pk, lot_id(milk, "N-1"), 0, 1, 1)]


@pytest.mark.parametrize("who", ["admin", "manager_a", "staff_a"])
def test_the_warehouses_people_add_a_found_lot(make_client, world, milk, who):
    count = open_count(actor=world.admin, warehouse=world.wh_a, products=[milk])
    response = make_client(getattr(world, who)).patch(
        url(count, "lines"), {"lines": [{"product": milk.pk, "lot": "F-1", "expires_on": None, "counted": 2}]},
        format="json")
    assert response.status_code == 200, response.data
    line = StockCountLine.objects.get(count=count, lot__code="F-1")
    assert (line.expected, line.counted, line.counted_by_id) == (0, 2, getattr(world, who).pk)


@pytest.mark.parametrize("who", ["manager_b", "staff_b", "viewer"])
def test_others_cannot_add_a_found_lot_and_create_no_lot(make_client, world, milk, who):
    count = open_count(actor=world.admin, warehouse=world.wh_a, products=[milk])
    before = state()
    response = make_client(getattr(world, who)).patch(
        url(count, "lines"), {"lines": [{"product": milk.pk, "lot": "F-1", "counted": 2}]}, format="json")
    assert response.status_code == 404 and response.data["code"] == "not_found"
    assert state() == before


@pytest.mark.parametrize(("entry", "status", "code"), [
    ({"product": "bolt", "lot": "B-1", "counted": 1}, 400, "not_lot_tracked"),
    ({"product": "bolt", "counted": 1}, 400, "not_lot_tracked"),
    ({"product": "milk", "counted": 1}, 400, "lot_required"),
    ({"product": "milk", "lot": "L-1", "expires_on": LATER.isoformat(), "counted": 1}, 409, "lot_mismatch"),
    ({"product": "milk", "lot": "L-2", "expires_on": SOON.isoformat(), "counted": 1}, 409, "lot_mismatch"),
    ({"product": "milk", "lot": "L-1", "expires_on": None, "counted": 1}, 409, "lot_mismatch"),
])
def test_a_found_lot_refused_by_the_lot_rules_changes_nothing(make_client, world, milk, entry, status, code):
    count = open_count(actor=world.admin, warehouse=world.wh_a, products=[milk, world.product])
    line = count.lines.get(lot__isnull=True)
    entry = {**entry, "product": milk.pk if entry["product"] == "milk" else world.product.pk}
    before = state()
    # The line counted in the same body is not recorded either: all of the body or none of it.
    response = make_client(world.staff_a).patch(url(count, "lines"), {"lines": [
        {"line": line.pk, "counted": 99}, entry]}, format="json")
    assert (response.status_code, response.data["code"]) == (status, code), response.data
    if code == "lot_mismatch":
        known = Lot.objects.get(product=milk, code=entry["lot"]).expires_on
        assert response.data["expires_on"] == (known.isoformat() if known else None)
    assert state() == before


@pytest.mark.parametrize(("entries", "field"), [
    ([{"line": "LINE", "product": "milk", "lot": "X", "counted": 1}], "non_field_errors"),
    ([{"counted": 1}], "non_field_errors"),
    ([{"line": "LINE", "lot": "X", "counted": 1}], "lot"),
    ([{"line": "LINE", "expires_on": "2031-01-01", "counted": 1}], "expires_on"),
    ([{"product": 999_999, "lot": "X", "counted": 1}], "product"),
    ([{"product": "milk", "lot": "", "counted": 1}], "lot"),
    ([{"product": "milk", "lot": "X" * 51, "counted": 1}], "lot"),
    ([{"product": "milk", "lot": "X", "expires_on": "soon", "counted": 1}], "expires_on"),
    ([{"product": "milk", "lot": "X", "counted": -1}], "counted"),
    ([{"product": "milk", "lot": "X", "counted": 1, "expected": 5}], "expected"),
])
def test_malformed_found_lots_are_field_errors(make_client, world, milk, entries, field):
    count = open_count(actor=world.admin, warehouse=world.wh_a, products=[milk])
    line = count.lines.first()
    entries = [{key: (line.pk if value == "LINE" else milk.pk if value == "milk" else value)
                for key, value in entry.items()} for entry in entries]
    before = state()
    response = make_client(world.staff_a).patch(url(count, "lines"), {"lines": entries}, format="json")
    assert response.status_code == 400, response.data
    assert field in str(response.data["lines"]), response.data
    assert state() == before


def test_a_lot_given_twice_in_one_body_is_refused(make_client, world, milk):
    count = open_count(actor=world.admin, warehouse=world.wh_a, products=[milk])
    l1_line = count.lines.get(lot__code="L-1")
    client = make_client(world.staff_a)
    before = state()
    for entries in ([{"product": milk.pk, "lot": "N-1", "counted": 1},
                     {"product": milk.pk, "lot": "n-1", "counted": 2}],
                    [{"line": l1_line.pk, "counted": 1}, {"product": milk.pk, "lot": "L-1", "counted": 2}]):
        response = client.patch(url(count, "lines"), {"lines": entries}, format="json")
        assert (response.status_code, response.data["code"]) == (400, "invalid"), response.data
        assert state() == before


def test_a_found_lot_needs_an_open_count(make_client, world, milk):
    count = open_count(actor=world.admin, warehouse=world.wh_a, products=[milk])
    cancel_count(actor=world.admin, count_id=count.pk)
    before = state()
    response = make_client(world.staff_a).patch(url(count, "lines"), {"lines": [
        {"product": milk.pk, "lot": "F-1", "counted": 2}]}, format="json")
    assert (response.status_code, response.data["code"], response.data["status"]) == (409, "invalid_state",
                                                                                      "cancelled")
    assert state() == before


def test_a_lot_emptied_before_approval_is_a_409_and_the_count_stays_submitted(make_client, world, milk):
    count = open_count(actor=world.admin, warehouse=world.wh_a, products=[milk])
    count.lines.filter(lot__code="L-1").update(counted=0)
    count.lines.filter(lot__code="L-2").update(counted=3)
    submit_count(actor=world.staff_a, count_id=count.pk)
    adjust_stock(actor=world.manager_a, warehouse=world.wh_a, product=milk, delta=-5, reason="loss", lot="L-1")
    before = state()
    response = make_client(world.manager_a).post(url(count, "approve"), {"decision": "approve"}, format="json")
    assert (response.status_code, response.data["code"], response.data["product"]) == (
        409, "insufficient_stock", milk.pk)
    assert state() == before
    count.refresh_from_db()
    assert count.status == "submitted"


def test_expired_lots_are_counted_like_any_lot(make_client, world):
    old = ProductFactory(sku="OLD-1", tracking=Product.Tracking.LOT)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=old, quantity=4, lot="E-1",
                 expires_on=datetime.date.today() - datetime.timedelta(days=2))
    count = open_count(actor=world.admin, warehouse=world.wh_a, products=[old])
    assert [(line.lot.code, line.expected) for line in count.lines.all()] == [("E-1", 4)]
    count.lines.update(counted=1)
    submit_count(actor=world.staff_a, count_id=count.pk)
    decide_count(actor=world.manager_a, count_id=count.pk, decision="approve")
    assert balance(old, world.wh_a, "E-1") == 1


def test_open_count_products_names_the_products_of_open_and_submitted_counts(world, milk):
    other = ProductFactory(sku="OTHER-1")
    open_count(actor=world.admin, warehouse=world.wh_a, products=[milk])
    done = open_count(actor=world.admin, warehouse=world.wh_a, products=[world.product, other])
    cancel_count(actor=world.admin, count_id=done.pk)
    assert open_count_products([milk.pk, world.product.pk, other.pk]) == {milk.pk}
    submitted = open_count(actor=world.admin, warehouse=world.wh_b, products=[other])
    submitted.lines.update(counted=5)
    submit_count(actor=world.staff_b, count_id=submitted.pk)
    assert open_count_products([milk.pk, world.product.pk, other.pk]) == {milk.pk, other.pk}
    from inventory.switch_guards import open_count_products as guard
    assert guard([other.pk, world.product.pk]) == {other.pk}  # registered by WorkflowsConfig.ready()


@pytest.mark.parametrize("products", [1, 10])
def test_opening_a_count_costs_the_same_queries_for_few_or_many_lots(world, django_assert_num_queries, products):
    tracked = [ProductFactory(sku=f"Q-{index}", tracking=Product.Tracking.LOT) for index in range(products)]
    for product in tracked:
        for code in ("A", "B"):
            assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=1, lot=code)
    # Its savepoint and release; the products' tracking locks (shared) and their `tracking` read under them, the
    # count, the on-hand snapshot, the lot balances, the lines (one insert), the audit event. SQLite takes no
    # advisory lock (one writer at a time: nothing to wait for).
    with django_assert_num_queries(9 if connection.vendor == "postgresql" else 8):
        count = open_count(actor=world.admin, warehouse=world.wh_a, products=[*tracked, world.product])
    assert count.lines.count() == 2 * products + 1
