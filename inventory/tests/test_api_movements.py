import base64
import datetime

import pytest
import time_machine
from django.utils import timezone

from inventory.models import StockMovement
from inventory.services import Reference, adjust_stock, assign_stock, deduct_stock
from inventory.tests.factories import ProductFactory
from inventory.tests.horizon import wait_for_horizon

URL = "/api/stock-movements/"


def seed(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=-2, reason="damage")
    deduct_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, quantity=1,
                 reference=Reference("purchase_request", 7))
    assign_stock(actor=world.admin, warehouse=world.wh_b, product=world.product2, quantity=5)
    return list(StockMovement.objects.order_by("id"))


def ids(response):
    assert response.status_code == 200, response.data
    return [r["id"] for r in response.data["results"]]


@pytest.mark.django_db
def test_admin_reads_the_whole_ledger_newest_first(make_client, world):
    rows = seed(world)
    response = make_client(world.admin).get(URL)
    assert ids(response) == [m.pk for m in reversed(rows)]
    assert set(response.data) == {"next", "previous", "results"}
    first = response.data["results"][-1]
    assert first == {
        "id": rows[0].pk, "stock": rows[0].stock_id, "warehouse": world.wh_a.pk, "product": world.product.pk,
        "kind": "assign", "quantity_change": 10, "quantity_after": 10, "actor": world.admin.pk,
        "reference_type": None, "reference_id": None, "reason": "", "note": "", "lot": None,
        "created_at": first["created_at"],
    }
    purchase = response.data["results"][1]
    assert (purchase["kind"], purchase["reference_type"], purchase["reference_id"]) == (
        "purchase", "purchase_request", 7)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["manager_a", "staff_a"])
def test_manager_and_staff_read_only_their_warehouses_ledger(make_client, world, who):
    rows = seed(world)
    expected = [m.pk for m in reversed(rows) if m.warehouse_id == world.wh_a.pk]
    assert ids(make_client(getattr(world, who)).get(URL)) == expected


@pytest.mark.django_db
def test_viewers_cannot_read_the_ledger(make_client, world):
    seed(world)
    response = make_client(world.viewer).get(URL)
    assert response.status_code == 403 and response.data["code"] == "permission_denied"


@pytest.mark.django_db
def test_anonymous_cannot_read_the_ledger(anon, world):
    assert anon.get(URL).status_code == 401


@pytest.mark.django_db
def test_filtering_on_another_warehouse_shows_nothing_of_it(make_client, world):
    seed(world)
    assert ids(make_client(world.staff_a).get(URL, {"warehouse": world.wh_b.pk})) == []
    assert ids(make_client(world.manager_b).get(URL, {"warehouse": world.wh_a.pk})) == []


@pytest.mark.django_db
def test_ledger_filters_by_warehouse_product_and_kind(make_client, world):
    rows = seed(world)
    client = make_client(world.admin)
    assert ids(client.get(URL, {"warehouse": world.wh_b.pk})) == [rows[3].pk]
    assert ids(client.get(URL, {"product": world.product.pk})) == [rows[2].pk, rows[1].pk, rows[0].pk]
    assert ids(client.get(URL, {"kind": "adjust"})) == [rows[1].pk]
    assert ids(client.get(URL, {"kind": "assign", "warehouse": world.wh_a.pk})) == [rows[0].pk]


@pytest.mark.django_db
def test_ledger_date_filters_are_inclusive_days_in_the_project_time_zone(make_client, world, settings):
    settings.TIME_ZONE = "America/New_York"
    rows = seed(world)
    zone = timezone.get_current_timezone()
    # Two movements around local midnight, made through the service at chosen times.
    with time_machine.travel(datetime.datetime(2026, 3, 10, 23, 30, tzinfo=zone), tick=False):
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, delta=1, reason="found")
    with time_machine.travel(datetime.datetime(2026, 3, 11, 0, 30, tzinfo=zone), tick=False):
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, delta=-1, reason="count")
    late, early = StockMovement.objects.order_by("id")[len(rows):]
    assert (late.quantity_change, early.quantity_change) == (1, -1)
    client = make_client(world.admin)
    assert ids(client.get(URL, {"date_from": "2026-03-10", "date_to": "2026-03-10"})) == [late.pk]
    assert ids(client.get(URL, {"date_from": "2026-03-11", "date_to": "2026-03-11"})) == [early.pk]
    assert ids(client.get(URL, {"date_from": "2026-03-10", "date_to": "2026-03-11"})) == [early.pk, late.pk]
    assert ids(client.get(URL, {"date_to": "2026-03-09"})) == []


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_dates_at_the_ends_of_the_calendar_mean_no_bound(make_client, world, settings, zone):
    settings.TIME_ZONE = zone
    rows = seed(world)
    client = make_client(world.admin)
    assert len(ids(client.get(URL, {"date_from": "0001-01-01", "date_to": "9999-12-31"}))) == len(rows)
    assert len(ids(client.get(URL, {"date_from": "0001-01-02", "date_to": "9999-12-30"}))) == len(rows)


@pytest.mark.django_db
@pytest.mark.parametrize("params", [
    {"warehouse": "x"}, {"product": "1.5"}, {"kind": "gift"}, {"date_from": "yesterday"},
    {"date_to": "2026-13-01"}, {"after": "abc"}, {"after": str(10**30)}, {"after": "-1"}, {"warehouse": str(10**30)},
])
def test_invalid_ledger_filters_are_400(make_client, world, params):
    seed(world)
    assert make_client(world.admin).get(URL, params).status_code == 400


# The feed serves only committed rows below the stable horizon (inventory/feed.py): these tests commit.
@pytest.mark.django_db(transaction=True)
def test_after_returns_newer_rows_oldest_first_as_a_change_feed(make_client, world):
    rows = seed(world)
    wait_for_horizon()
    client = make_client(world.admin)
    assert ids(client.get(URL, {"after": rows[1].pk})) == [rows[2].pk, rows[3].pk]
    assert ids(client.get(URL, {"after": 0})) == [m.pk for m in rows]
    assert ids(client.get(URL, {"after": rows[3].pk})) == []
    assert ids(make_client(world.staff_a).get(URL, {"after": rows[0].pk})) == [rows[1].pk, rows[2].pk]


@pytest.mark.django_db(transaction=True)
def test_the_ledger_is_cursor_paginated_in_both_directions(make_client, world):
    product_rows = []
    for _ in range(5):
        product_rows.append(assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1))
    wait_for_horizon()
    all_ids = list(StockMovement.objects.order_by("-id").values_list("id", flat=True))
    client = make_client(world.admin)
    page1 = client.get(URL, {"page_size": 2})
    page2 = client.get(page1.data["next"])
    page3 = client.get(page2.data["next"])
    assert ids(page1) + ids(page2) + ids(page3) == all_ids
    assert page3.data["next"] is None
    feed1 = client.get(URL, {"page_size": 3, "after": 0})
    feed2 = client.get(feed1.data["next"])
    assert ids(feed1) + ids(feed2) == sorted(all_ids)
    assert feed1.data["previous"] is None and feed2.data["next"] is None
    assert f"after={ids(feed1)[-1]}" in feed1.data["next"]  # the next page is the poll after the last id


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["p=abc", "p=\x00", "p=1e309", "r=1&p=1.5", "p="])
def test_a_forged_cursor_is_a_404_invalid_cursor_not_500(make_client, world, raw):
    cursor = base64.b64encode(raw.encode()).decode()
    response = make_client(world.admin).get(URL, {"cursor": cursor})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor", "code": "not_found"}


@pytest.mark.django_db
def test_the_ledger_has_no_write_methods(make_client, world):
    rows = seed(world)
    client = make_client(world.admin)
    assert client.post(URL, {}, format="json").status_code == 405
    assert client.delete(f"{URL}{rows[0].pk}/").status_code == 404
    assert StockMovement.objects.count() == len(rows)


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 50])
def test_ledger_query_count_is_constant(make_client, world, django_assert_num_queries, rows):
    for product in ProductFactory.create_batch(rows):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=1)
    client = make_client(world.manager_a)
    with django_assert_num_queries(2):  # the user (with role), one page query (scope is a subquery)
        response = client.get(URL, {"page_size": 200})
    assert len(response.data["results"]) == rows


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rows", [5, 50])
def test_change_feed_query_count_is_constant(make_client, world, django_assert_num_queries, rows):
    for product in ProductFactory.create_batch(rows):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=1)
    wait_for_horizon()
    client = make_client(world.manager_a)
    with django_assert_num_queries(2):  # the user; one page query (scope, anchor and horizon are subqueries)
        response = client.get(URL, {"page_size": 200, "after": 0})
    assert len(response.data["results"]) == rows


@pytest.mark.django_db(transaction=True)
def test_a_feed_link_holding_a_cursor_from_before_the_position_continues_after_its_id(make_client, world):
    rows = seed(world)
    wait_for_horizon()
    # What a feed page's `next` link looked like when the feed was ordered by id alone.
    cursor = base64.b64encode(f"p={rows[1].pk}".encode()).decode()
    response = make_client(world.admin).get(URL, {"after": 0, "cursor": cursor})
    assert ids(response) == [rows[2].pk, rows[3].pk]


def test_the_feed_position_column_passes_djangos_checks():
    # A database default must be an expression Django accepts (fields.E012); `manage.py` runs this check.
    assert StockMovement._meta.get_field("txid").check(databases=["default"]) == []
