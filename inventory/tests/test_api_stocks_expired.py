"""`GET /api/stocks/` with lots (SPEC §14): `expired` (units of expired lots on hand) and `available` =
max(0, quantity − reserved − expired), measured against today in the project's time zone; the query count
stays constant; the stock row answered by assign and adjust has the same fields; the CSV export is §13's."""

import datetime

import pytest
import time_machine

from inventory.models import Product
from inventory.services import adjust_stock, assign_stock, reserve_stock
from inventory.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

LIST = "/api/stocks/"
DAY = datetime.date(2027, 3, 10)


def utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=datetime.UTC)


@pytest.fixture
def milk():
    return ProductFactory(sku="MILK-1", tracking=Product.Tracking.LOT)


def row_of(client, product, warehouse):
    response = client.get(LIST, {"product": product.pk, "warehouse": warehouse.pk})
    assert response.status_code == 200, response.data
    (row,) = response.data["results"]
    return row


def test_expired_units_are_shown_and_not_available_from_the_day_after_expires_on_in_the_project_zone(
        make_client, world, milk, berlin):
    with time_machine.travel(utc(2027, 3, 1, 12), tick=False):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=5, lot="OLD",
                     expires_on=DAY)
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=7, lot="NEW",
                     expires_on=DAY + datetime.timedelta(days=30))
        reserve_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=3)
    # 23:30 in Berlin on the last day of use: not expired yet (in UTC it is 22:30, the same day).
    with time_machine.travel(utc(2027, 3, 10, 22, 30), tick=False):
        row = row_of(make_client(world.viewer), milk, world.wh_a)
    assert (row["quantity"], row["reserved"], row["expired"], row["available"]) == (12, 3, 0, 9)
    # 00:30 in Berlin the next day (still the 10th in UTC): the lot is expired.
    with time_machine.travel(utc(2027, 3, 10, 23, 30), tick=False):
        row = row_of(make_client(world.viewer), milk, world.wh_a)
    assert (row["quantity"], row["reserved"], row["expired"], row["available"]) == (12, 3, 5, 4)


def test_available_never_goes_below_zero(make_client, world, milk):
    with time_machine.travel(utc(2027, 3, 1, 12), tick=False):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=5, lot="OLD",
                     expires_on=DAY)
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=2, lot="NEW")
        reserve_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=4)
    with time_machine.travel(utc(2027, 4, 1, 12), tick=False):
        row = row_of(make_client(world.viewer), milk, world.wh_a)
    assert (row["quantity"], row["reserved"], row["expired"], row["available"]) == (7, 4, 5, 0)


def test_a_product_that_is_not_lot_tracked_has_no_expired_units(make_client, world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=4)
    row = row_of(make_client(world.viewer), world.product, world.wh_a)
    assert (row["expired"], row["available"]) == (0, 4)


def test_the_row_answered_by_assign_and_adjust_counts_expired_units(make_client, world, milk):
    past = datetime.date.today() - datetime.timedelta(days=3)
    client = make_client(world.admin)
    response = client.post("/api/stocks/assign/", {"warehouse": world.wh_a.pk, "product": milk.pk, "quantity": 4,
                                                   "lot": "GONE", "expires_on": past.isoformat()}, format="json")
    assert response.status_code == 201, response.data
    assert (response.data["quantity"], response.data["expired"], response.data["available"]) == (4, 4, 0)
    response = client.post("/api/stocks/adjust/", {"warehouse": world.wh_a.pk, "product": milk.pk, "delta": -1,
                                                   "reason": "expired", "lot": "GONE"}, format="json")
    assert response.status_code == 200, response.data
    assert (response.data["quantity"], response.data["expired"], response.data["available"]) == (3, 3, 0)


@pytest.mark.parametrize("rows", [3, 30])
def test_the_list_query_count_is_constant_with_lots(make_client, world, django_assert_num_queries, rows):
    past = datetime.date.today() - datetime.timedelta(days=1)
    for _ in range(rows):
        product = ProductFactory(tracking=Product.Tracking.LOT)
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=3, lot="A",
                     expires_on=past)
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=2, lot="B")
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=product, delta=-1, reason="damage")
    client = make_client(world.viewer)
    with django_assert_num_queries(3):  # the user, the count, the page (expired is a correlated subquery)
        response = client.get(LIST, {"warehouse": world.wh_a.pk, "page_size": 200})
    lot_rows = [row for row in response.data["results"] if row["quantity"] == 4]
    assert len(lot_rows) == rows
    assert all((row["expired"], row["available"]) == (3, 1) for row in lot_rows)


def test_the_stock_export_keeps_the_columns_of_section_13(make_client, world, milk):
    past = datetime.date.today() - datetime.timedelta(days=1)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=3, lot="A", expires_on=past)
    response = make_client(world.viewer).get("/api/stocks/export/", {"product": milk.pk})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "warehouse_code,sku,product,quantity,reserved,available,incoming,threshold"
    # The columns and one line per row stay; `available` is the list's (expired units are not available).
    assert lines[1].split(",")[:7] == ["A", "MILK-1", milk.name, "3", "0", "0", "0"]
