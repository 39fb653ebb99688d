"""`GET /api/stock-lots/` (SPEC §14): one row per lot per warehouse holding units, for every active user (stock
levels are the catalogue), first-expired-first-out then warehouse code; filters; constant query count."""

import datetime

import pytest
import time_machine

from inventory.models import Product
from inventory.services import adjust_stock, assign_stock
from inventory.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

URL = "/api/stock-lots/"
TODAY = datetime.date(2027, 5, 20)
DAY = datetime.timedelta(days=1)


def at(day: datetime.date, hour: int = 12):
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC), tick=False)


@pytest.fixture
def milk():
    return ProductFactory(sku="MILK-1", name="Milk", tracking=Product.Tracking.LOT)


@pytest.fixture
def stocked(world, milk):
    """Lots of milk in A and B: P (expired yesterday), T (last day today), L (later), N (no date); E emptied."""
    with at(TODAY - 10 * DAY):
        for warehouse, code, expires_on, units in [
            (world.wh_b, "L", TODAY + 5 * DAY, 4), (world.wh_a, "L", TODAY + 5 * DAY, 3),
            (world.wh_a, "N", None, 7), (world.wh_a, "P", TODAY - DAY, 2), (world.wh_b, "T", TODAY, 1),
            (world.wh_a, "E", TODAY + DAY, 5),
        ]:
            assign_stock(actor=world.admin, warehouse=warehouse, product=milk, quantity=units, lot=code,
                         expires_on=expires_on)
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=milk, delta=-5, reason="damage", lot="E")
    return milk


def listed(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200, response.data
    return [(row["warehouse"]["code"], row["lot"]["code"], row["quantity"], row["expired"])
            for row in response.data["results"]]


@pytest.mark.parametrize("who", ["admin", "manager_b", "staff_a", "viewer"])
def test_every_active_user_reads_lot_balances_fefo_then_warehouse_code(make_client, world, stocked, who):
    with at(TODAY):
        client = make_client(getattr(world, who))
        rows = listed(client)
        response = client.get(URL, {"lot": stocked.lots.get(code="N").pk})
    # Expired first (FEFO order is by date), emptied lot E left out, no date last.
    assert rows == [("A", "P", 2, True), ("B", "T", 1, False), ("A", "L", 3, False), ("B", "L", 4, False),
                    ("A", "N", 7, False)]
    (row,) = response.data["results"]
    lot = stocked.lots.get(code="N")
    assert row == {"id": row["id"], "warehouse": {"id": world.wh_a.pk, "code": "A", "name": "Alpha"},
                   "product": {"id": stocked.pk, "sku": "MILK-1", "name": "Milk"},
                   "lot": {"id": lot.pk, "code": "N", "expires_on": None}, "quantity": 7, "expired": False}


def test_anonymous_cannot_read_lot_balances(anon, world):
    assert anon.get(URL).status_code == 401


def test_filters(make_client, world, stocked):
    with at(TODAY):
        client = make_client(world.viewer)
        assert listed(client, warehouse=world.wh_b.pk) == [("B", "T", 1, False), ("B", "L", 4, False)]
        assert listed(client, product=world.product.pk) == []
        assert [r[:2] for r in listed(client, product=stocked.pk)] == [("A", "P"), ("B", "T"), ("A", "L"),
                                                                       ("B", "L"), ("A", "N")]
        assert listed(client, expired="true") == [("A", "P", 2, True)]
        assert [r[:2] for r in listed(client, expired="false")] == [("B", "T"), ("A", "L"), ("B", "L"), ("A", "N")]
        # expires_before leaves out lots with no date
        assert [r[:2] for r in listed(client, expires_before=(TODAY + 30 * DAY).isoformat())] == [
            ("A", "P"), ("B", "T"), ("A", "L"), ("B", "L")]
        assert [r[:2] for r in listed(client, expires_before=TODAY.isoformat())] == [("A", "P")]


def test_expired_turns_at_midnight_in_the_project_time_zone(make_client, world, stocked, berlin):
    lot_t = stocked.lots.get(code="T").pk
    with time_machine.travel(datetime.datetime(2027, 5, 20, 21, 59, tzinfo=datetime.UTC), tick=False):
        assert listed(make_client(world.viewer), lot=lot_t) == [("B", "T", 1, False)]  # 23:59 in Berlin
    with time_machine.travel(datetime.datetime(2027, 5, 20, 22, 1, tzinfo=datetime.UTC), tick=False):
        assert listed(make_client(world.viewer), lot=lot_t) == [("B", "T", 1, True)]  # 00:01 the next day


@pytest.mark.parametrize("params", [{"expired": "x"}, {"warehouse": "a"}, {"lot": "-1"}, {"expires_before": "2027"}])
def test_bad_filters_are_400(make_client, world, params):
    assert make_client(world.viewer).get(URL, params).status_code == 400


@pytest.mark.parametrize("lots", [2, 20])
def test_the_query_count_is_constant(make_client, world, django_assert_num_queries, lots):
    for n in range(lots):
        product = ProductFactory(tracking=Product.Tracking.LOT)
        assign_stock(actor=world.admin, warehouse=world.wh_a if n % 2 else world.wh_b, product=product, quantity=2,
                     lot=f"L{n}", expires_on=datetime.date(2030, 1, 1) + n * DAY)
    client = make_client(world.viewer)
    with django_assert_num_queries(3):  # the user, the count, the page (with warehouse, product and lot)
        response = client.get(URL, {"page_size": 200})
    assert response.data["count"] == lots
