"""`GET /api/alerts/`: who sees which alerts, filters, bad input, pagination and a pinned query count."""

import pytest
from django.utils import timezone

from inventory.models import LowStockAlert
from inventory.tests.factories import LowStockAlertFactory, ProductFactory

URL = "/api/alerts/"
FIELDS = {"id", "kind", "product", "warehouse", "lot", "quantity_at_trigger", "threshold", "status", "created_at",
          "resolved_at"}


def make_alert(product, warehouse, *, status="open", quantity=2, threshold=5):
    return LowStockAlertFactory(
        product=product, warehouse=warehouse, quantity_at_trigger=quantity, threshold=threshold, status=status,
        resolved_at=timezone.now() if status == "resolved" else None,
    )


@pytest.fixture
def alerts(world):
    """Warehouse A: one open and one resolved alert; warehouse B: one open alert."""
    return {
        "a_open": make_alert(world.product, world.wh_a),
        "a_resolved": make_alert(world.product, world.wh_a, status="resolved", quantity=1),
        "b_open": make_alert(world.product2, world.wh_b, quantity=0, threshold=3),
    }


def ids(response):
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.django_db
def test_admin_sees_the_alerts_of_every_warehouse(make_client, world, alerts):
    response = make_client(world.admin).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert ids(response) == {a.pk for a in alerts.values()}


@pytest.mark.django_db
def test_an_alert_is_shown_with_exactly_the_documented_fields(make_client, world, alerts):
    response = make_client(world.admin).get(URL, {"warehouse": world.wh_b.pk})

    (row,) = response.json()["results"]
    assert set(row) == FIELDS
    alert = alerts["b_open"]
    assert row == {
        "id": alert.pk, "kind": "low_stock", "lot": None, "product": world.product2.pk, "warehouse": world.wh_b.pk,
        "quantity_at_trigger": 0,
        "threshold": 3, "status": "open", "created_at": row["created_at"], "resolved_at": None,
    }
    assert row["created_at"].startswith(str(alert.created_at.date()))


@pytest.mark.django_db
def test_alerts_are_listed_newest_first(make_client, world, alerts):
    response = make_client(world.admin).get(URL)

    assert [row["id"] for row in response.json()["results"]] == [
        alerts["b_open"].pk, alerts["a_resolved"].pk, alerts["a_open"].pk]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["manager_a", "staff_a"])
def test_manager_and_staff_see_only_their_warehouses_alerts(make_client, world, alerts, who):
    response = make_client(getattr(world, who)).get(URL)

    assert response.status_code == 200
    assert ids(response) == {alerts["a_open"].pk, alerts["a_resolved"].pk}


@pytest.mark.django_db
def test_a_manager_filtering_on_another_warehouse_gets_nothing(make_client, world, alerts):
    response = make_client(world.manager_b).get(URL, {"warehouse": world.wh_a.pk})

    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.django_db
def test_staff_without_a_warehouse_see_no_alerts(make_client, world, alerts):
    world.staff_a.warehouse = None
    world.staff_a.save()

    response = make_client(world.staff_a).get(URL)

    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.django_db
def test_a_viewer_may_not_list_alerts(make_client, world, alerts):
    response = make_client(world.viewer).get(URL)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.django_db
def test_an_anonymous_request_is_unauthenticated(anon, alerts):
    response = anon.get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_a_dismissed_manager_is_refused(make_client, world, alerts):
    client = make_client(world.manager_a)
    world.manager_a.status = "dismissed"
    world.manager_a.save()

    response = client.get(URL)

    assert response.status_code == 401  # the token stops working at once


@pytest.mark.django_db
def test_alerts_are_read_only(make_client, world, alerts):
    client = make_client(world.admin)

    response = client.post(URL, {"product": world.product.pk, "warehouse": world.wh_a.pk}, format="json")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert LowStockAlert.objects.count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("status, expected", [("open", {"a_open", "b_open"}), ("resolved", {"a_resolved"})])
def test_the_status_filter(make_client, world, alerts, status, expected):
    response = make_client(world.admin).get(URL, {"status": status})

    assert response.status_code == 200
    assert ids(response) == {alerts[name].pk for name in expected}


@pytest.mark.django_db
def test_the_status_and_warehouse_filters_combine(make_client, world, alerts):
    response = make_client(world.admin).get(URL, {"status": "open", "warehouse": world.wh_a.pk})

    assert ids(response) == {alerts["a_open"].pk}


@pytest.mark.django_db
@pytest.mark.parametrize("params, field", [
    ({"status": "closed"}, "status"),
    ({"status": "OPEN"}, "status"),
    ({"warehouse": "abc"}, "warehouse"),
    ({"warehouse": "1.5"}, "warehouse"),
    ({"warehouse": "0"}, "warehouse"),
    ({"warehouse": str(10**30)}, "warehouse"),
])
def test_an_invalid_filter_is_a_400_naming_the_field(make_client, world, alerts, params, field):
    response = make_client(world.admin).get(URL, params)

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.django_db
def test_an_unknown_warehouse_id_lists_nothing(make_client, world, alerts):
    response = make_client(world.admin).get(URL, {"warehouse": 2**63 - 1})

    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.django_db
def test_alerts_are_paginated_by_page_and_page_size(make_client, world, alerts):
    client = make_client(world.admin)

    first = client.get(URL, {"page_size": 2}).json()
    second = client.get(URL, {"page_size": 2, "page": 2}).json()

    assert (first["count"], len(first["results"]), second["count"], len(second["results"])) == (3, 2, 3, 1)
    assert first["next"] and first["previous"] is None and second["next"] is None
    assert client.get(URL, {"page": 9}).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("count", [5, 50])
def test_the_list_costs_the_same_three_queries_for_5_or_50_alerts(make_client, world, django_assert_num_queries, count):
    for index, product in enumerate(ProductFactory.create_batch(count)):
        make_alert(product, world.wh_a, status="open" if index % 2 else "resolved")
    client = make_client(world.manager_a)

    # The user with its role (authentication), the count, the page.
    with django_assert_num_queries(3):
        response = client.get(URL, {"page_size": 200})

    assert response.status_code == 200
    assert len(response.json()["results"]) == count


@pytest.mark.django_db
def test_alerts_can_be_ordered_by_quantity_at_trigger(make_client, world, alerts):
    response = make_client(world.admin).get(URL, {"ordering": "quantity_at_trigger"})

    assert [row["quantity_at_trigger"] for row in response.json()["results"]] == [0, 1, 2]
