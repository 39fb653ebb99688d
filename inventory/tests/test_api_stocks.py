import pytest

from accounts.models import AuditEvent
from inventory.models import Stock, StockMovement
from inventory.services import assign_stock, reserve_stock
from inventory.tests.factories import ProductFactory, ThresholdFactory
from warehouses.tests.factories import WarehouseFactory

LIST = "/api/stocks/"
ASSIGN = "/api/stocks/assign/"
ADJUST = "/api/stocks/adjust/"


def state():
    """Everything an assign or adjust could change."""
    return (list(Stock.objects.order_by("pk").values("pk", "quantity")),
            StockMovement.objects.count(), AuditEvent.objects.filter(action__startswith="stock.").count())


def stock_of(world, warehouse=None, product=None):
    return Stock.objects.get(warehouse=warehouse or world.wh_a, product=product or world.product)


# --- list -----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "manager_b", "staff_b", "viewer"])
def test_every_active_user_reads_all_stock_levels(make_client, world, who):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=7)
    assign_stock(actor=world.admin, warehouse=world.wh_b, product=world.product2, quantity=3)
    response = make_client(getattr(world, who)).get(LIST)
    assert response.status_code == 200
    assert response.data["count"] == 2
    row = response.data["results"][0]
    assert row["product"] == {"id": world.product.pk, "sku": "BOLT-1", "name": "Bolt"}
    assert row["warehouse"] == {"id": world.wh_a.pk, "code": "A", "name": "Alpha"}
    assert (row["quantity"], row["threshold"], row["is_low"]) == (7, None, False)
    assert (row["reserved"], row["available"], row["incoming"]) == (0, 7, 0)
    assert set(row) == {"id", "product", "warehouse", "quantity", "reserved", "expired", "available", "incoming",
                        "threshold",
                        "is_low", "updated_at"}


@pytest.mark.django_db
def test_stock_list_shows_threshold_and_filters_low_rows_in_the_database(make_client, world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=2)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product2, quantity=10)
    assign_stock(actor=world.admin, warehouse=world.wh_b, product=world.product, quantity=5)
    ThresholdFactory(warehouse=world.wh_a, product=world.product, threshold=5)
    ThresholdFactory(warehouse=world.wh_a, product=world.product2, threshold=10)
    ThresholdFactory(warehouse=world.wh_b, product=world.product, threshold=5)
    client = make_client(world.viewer)
    low = client.get(LIST, {"low": "true"}).data["results"]
    assert [(r["warehouse"]["code"], r["product"]["sku"], r["threshold"], r["is_low"]) for r in low] == [
        ("A", "BOLT-1", 5, True)]  # equal to the threshold is not low
    assert client.get(LIST, {"low": "false"}).data["count"] == 2
    assert client.get(LIST, {"low": "sometimes"}).status_code == 400


@pytest.mark.django_db
def test_stock_list_filters_search_and_ordering(make_client, world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=9)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product2, quantity=1)
    assign_stock(actor=world.admin, warehouse=world.wh_b, product=world.product, quantity=4)
    client = make_client(world.staff_a)

    def quantities(**params):
        response = client.get(LIST, params)
        assert response.status_code == 200, response.data
        return [r["quantity"] for r in response.data["results"]]

    assert quantities(warehouse=world.wh_b.pk) == [4]
    assert quantities(product=world.product.pk) == [9, 4]
    assert quantities(search="nut") == [1]
    assert quantities(search="BOLT") == [9, 4]
    assert quantities(ordering="quantity") == [1, 4, 9]
    assert quantities(ordering="-quantity") == [9, 4, 1]
    assert quantities(ordering="-sku", warehouse=world.wh_a.pk) == [1, 9]
    assert quantities(ordering="-product__sku", warehouse=world.wh_a.pk) == [1, 9]  # DRF's name for it
    assert quantities(ordering="updated_at") == [9, 1, 4]
    assert client.get(LIST, {"ordering": "quantity"}).data["results"][0]["quantity"] == 1
    for bad in ({"warehouse": "x"}, {"product": "1.5"}, {"warehouse": str(10**30)}):
        assert client.get(LIST, bad).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 50])
def test_stock_list_query_count_is_constant(make_client, world, django_assert_num_queries, rows):
    products = ProductFactory.create_batch(rows)
    for product in products:
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=3)
        ThresholdFactory(warehouse=world.wh_a, product=product, threshold=5)
        reserve_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=1)
    client = make_client(world.viewer)
    # the user (with its role), count, page: threshold, is_low and available are annotated in SQL
    with django_assert_num_queries(3):
        response = client.get(LIST, {"low": "true", "ordering": "sku"})
    assert len(response.data["results"]) == rows
    assert all(r["is_low"] for r in response.data["results"])
    assert all((r["quantity"], r["reserved"], r["available"], r["incoming"]) == (3, 1, 2, 0)
               for r in response.data["results"])


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin"])
@pytest.mark.parametrize("params", [{}, {"ordering": "-sku", "search": "o"}, {"low": "true"}, {"page_size": 2}])
def test_the_list_answers_the_serializers_json_byte_for_byte(make_client, world, settings, zone, params):
    """The list shapes `.values()` rows itself (`selectors.stock_row`); its body is exactly what DRF's
    `StockRowSerializer` gives for the same page (keys, order, types, time zone of `updated_at`)."""
    from rest_framework.renderers import JSONRenderer

    from inventory import selectors
    from inventory.serializers import StockRowSerializer

    settings.TIME_ZONE = zone
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=9)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product2, quantity=1)
    assign_stock(actor=world.admin, warehouse=world.wh_b, product=world.product, quantity=4)
    ThresholdFactory(warehouse=world.wh_a, product=world.product2, threshold=5)
    ThresholdFactory(warehouse=world.wh_b, product=world.product, threshold=2)
    reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3)
    response = make_client(world.viewer).get(LIST, params)
    assert response.status_code == 200
    body = response.json()
    # The same rows through the serializer, in the order the list gave (ordering and filters are tested above).
    ids = [row["id"] for row in body["results"]]
    rows = selectors.stock_levels_for(world.viewer).in_bulk(ids)
    expected = StockRowSerializer([rows[pk] for pk in ids], many=True).data
    assert ids and len(ids) == min(body["count"], params.get("page_size", 50))
    assert JSONRenderer().render(body["results"]) == JSONRenderer().render(expected)
    assert response.content.endswith(JSONRenderer().render(expected) + b"}")


# --- assign ---------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "manager_a"])
def test_admin_and_the_warehouses_manager_assign_stock(make_client, world, who):
    client = make_client(getattr(world, who))
    response = client.post(ASSIGN, {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 12,
                                    "note": "opening"}, format="json")
    assert response.status_code == 201, response.data
    assert response.data["quantity"] == 12
    assert response.data["warehouse"]["code"] == "A" and response.data["product"]["sku"] == "BOLT-1"
    assert set(response.data) == {"id", "product", "warehouse", "quantity", "reserved", "expired", "available",
                                  "incoming", "threshold", "is_low", "updated_at"}
    assert (response.data["reserved"], response.data["available"], response.data["incoming"]) == (0, 12, 0)
    movement = StockMovement.objects.get()
    assert (movement.kind, movement.quantity_change, movement.quantity_after, movement.note) == (
        "assign", 12, 12, "opening")
    assert movement.actor == getattr(world, who)
    event = AuditEvent.objects.get(action="stock.assign")
    assert event.ip == "127.0.0.1" and event.data["quantity_after"] == 12
    again = client.post(ASSIGN, {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 3},
                        format="json")
    assert again.data["quantity"] == 15 and again.data["id"] == response.data["id"]


@pytest.mark.django_db
def test_assign_response_carries_threshold(make_client, world):
    ThresholdFactory(warehouse=world.wh_a, product=world.product, threshold=50)
    response = make_client(world.admin).post(ASSIGN, {"warehouse": world.wh_a.pk, "product": world.product.pk,
                                                       "quantity": 5}, format="json")
    assert (response.data["threshold"], response.data["is_low"]) == (50, True)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["staff_a", "viewer"])
def test_staff_and_viewers_cannot_assign_stock(make_client, world, who):
    before = state()
    response = make_client(getattr(world, who)).post(
        ASSIGN, {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 1}, format="json")
    assert response.status_code == 403 and response.data["code"] == "permission_denied"
    assert state() == before


@pytest.mark.django_db
def test_manager_cannot_assign_stock_in_another_managers_warehouse(make_client, world):
    before = state()
    response = make_client(world.manager_b).post(
        ASSIGN, {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 1}, format="json")
    assert response.status_code == 403 and response.data["code"] == "permission_denied"
    assert state() == before


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [0, -1, 2.5, "abc", "", None, True, [1], {"a": 1}, 10**30, 1_000_000_001])
def test_assign_rejects_bad_quantities_and_changes_nothing(make_client, world, quantity):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    before = state()
    response = make_client(world.admin).post(
        ASSIGN, {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": quantity}, format="json")
    assert response.status_code == 400
    assert "quantity" in response.data
    assert state() == before


@pytest.mark.django_db
def test_assign_accepts_the_maximum_quantity(make_client, world):
    response = make_client(world.admin).post(
        ASSIGN, {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 1_000_000_000}, format="json")
    assert response.status_code == 201 and response.data["quantity"] == 1_000_000_000


@pytest.mark.django_db
@pytest.mark.parametrize("field,value", [("warehouse", 999999), ("product", 999999), ("warehouse", "x"),
                                         ("product", None), ("warehouse", 10**30), ("product", -1)])
def test_assign_with_unknown_ids_is_400(make_client, world, field, value):
    before = state()
    payload = {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 1, field: value}
    response = make_client(world.admin).post(ASSIGN, payload, format="json")
    assert response.status_code == 400 and field in response.data
    assert state() == before


@pytest.mark.django_db
def test_assign_with_missing_fields_or_malformed_body_is_400(make_client, world):
    client = make_client(world.admin)
    response = client.post(ASSIGN, {}, format="json")
    assert response.status_code == 400 and {"warehouse", "product", "quantity"} <= set(response.data)
    assert client.generic("POST", ASSIGN, "{", content_type="application/json").status_code == 400
    assert client.post(ASSIGN, [1, 2], format="json").status_code == 400
    assert client.post(ASSIGN, {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 1,
                                "note": "n" * 1001}, format="json").status_code == 400
    assert StockMovement.objects.count() == 0


@pytest.mark.django_db
def test_assign_into_an_inactive_warehouse_or_product_is_400(make_client, world):
    closed = WarehouseFactory(code="CLOSED", is_active=False, manager=world.manager_a)
    retired = ProductFactory(is_active=False)
    client = make_client(world.manager_a)
    for payload in ({"warehouse": closed.pk, "product": world.product.pk, "quantity": 1},
                    {"warehouse": world.wh_a.pk, "product": retired.pk, "quantity": 1}):
        response = client.post(ASSIGN, payload, format="json")
        assert response.status_code == 400 and response.data["code"] == "inactive"
    assert Stock.objects.count() == 0 and StockMovement.objects.count() == 0


@pytest.mark.django_db
def test_anonymous_cannot_assign(anon, world):
    response = anon.post(ASSIGN, {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 1},
                         format="json")
    assert response.status_code == 401


# --- adjust ---------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "manager_a", "staff_a"])
def test_admin_manager_and_staff_of_the_warehouse_adjust_stock(make_client, world, who):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    response = make_client(getattr(world, who)).post(
        ADJUST, {"warehouse": world.wh_a.pk, "product": world.product.pk, "delta": -4, "reason": "damage",
                 "note": "dropped"}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["quantity"] == 6
    movement = StockMovement.objects.first()
    assert (movement.kind, movement.quantity_change, movement.quantity_after, movement.reason) == (
        "adjust", -4, 6, "damage")
    assert AuditEvent.objects.filter(action="stock.adjust", actor=getattr(world, who)).count() == 1


@pytest.mark.django_db
def test_a_positive_adjustment_creates_a_missing_stock_row(make_client, world):
    response = make_client(world.staff_a).post(
        ADJUST, {"warehouse": world.wh_a.pk, "product": world.product2.pk, "delta": 3, "reason": "found"},
        format="json")
    assert response.status_code == 200 and response.data["quantity"] == 3


@pytest.mark.django_db
def test_adjusting_below_zero_is_409_with_available_and_requested_and_changes_nothing(make_client, world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3)
    before = state()
    response = make_client(world.staff_a).post(
        ADJUST, {"warehouse": world.wh_a.pk, "product": world.product.pk, "delta": -4, "reason": "loss"},
        format="json")
    assert response.status_code == 409
    assert response.data == {"detail": response.data["detail"], "code": "insufficient_stock",
                             "available": 3, "requested": 4}
    assert state() == before


@pytest.mark.django_db
def test_adjusting_a_missing_row_down_is_409_and_creates_nothing(make_client, world):
    response = make_client(world.staff_a).post(
        ADJUST, {"warehouse": world.wh_a.pk, "product": world.product.pk, "delta": -1, "reason": "count"},
        format="json")
    assert response.status_code == 409 and response.data["available"] == 0
    assert Stock.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["staff_b", "manager_b"])
def test_staff_and_managers_cannot_adjust_another_warehouses_stock(make_client, world, who):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3)
    before = state()
    response = make_client(getattr(world, who)).post(
        ADJUST, {"warehouse": world.wh_a.pk, "product": world.product.pk, "delta": 1, "reason": "found"},
        format="json")
    assert response.status_code == 403 and response.data["code"] == "permission_denied"
    assert state() == before


@pytest.mark.django_db
def test_viewers_cannot_adjust_stock(make_client, world):
    response = make_client(world.viewer).post(
        ADJUST, {"warehouse": world.wh_a.pk, "product": world.product.pk, "delta": 1, "reason": "found"},
        format="json")
    assert response.status_code == 403
    assert Stock.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("patch", [
    {"delta": 0}, {"delta": 1.5}, {"delta": "many"}, {"delta": 10**30}, {"delta": -(10**30)}, {"delta": None},
    {"reason": "theft"}, {"reason": ""}, {"reason": None}, {"reason": ["count"]},
    {"warehouse": 999999}, {"product": 999999}, {"product": "abc"},
])
def test_adjust_rejects_bad_input_and_changes_nothing(make_client, world, patch):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    before = state()
    payload = {"warehouse": world.wh_a.pk, "product": world.product.pk, "delta": 1, "reason": "count", **patch}
    response = make_client(world.admin).post(ADJUST, payload, format="json")
    assert response.status_code == 400
    assert set(patch) <= set(response.data)
    assert state() == before


@pytest.mark.django_db
def test_adjust_in_an_inactive_warehouse_is_400(make_client, world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    world.wh_a.is_active = False
    world.wh_a.save()
    before = state()
    response = make_client(world.staff_a).post(
        ADJUST, {"warehouse": world.wh_a.pk, "product": world.product.pk, "delta": -1, "reason": "count"},
        format="json")
    assert response.status_code == 400 and response.data["code"] == "inactive"
    assert state() == before


# --- idempotency ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url,payload,status", [
    (ASSIGN, {"quantity": 4}, 201),
    (ADJUST, {"delta": 4, "reason": "receipt"}, 200),
])
def test_a_repeated_idempotency_key_replays_the_first_response_and_moves_stock_once(make_client, world, url, payload,
                                                                                   status):
    client = make_client(world.manager_a)
    body = {"warehouse": world.wh_a.pk, "product": world.product.pk, **payload}
    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    second = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == second.status_code == status
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.json() == first.json()
    assert StockMovement.objects.count() == 1
    assert stock_of(world).quantity == 4
    reused = client.post(url, {**body, "note": "different"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert reused.status_code == 409 and reused.data["code"] == "idempotency_key_reused"
    assert StockMovement.objects.count() == 1


@pytest.mark.django_db
def test_an_idempotency_key_is_per_user(make_client, world):
    body = {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 2}
    make_client(world.manager_a).post(ASSIGN, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    response = make_client(world.admin).post(ASSIGN, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert stock_of(world).quantity == 4


@pytest.mark.django_db
def test_a_failed_request_does_not_burn_its_idempotency_key(make_client, world):
    client = make_client(world.staff_a)
    body = {"warehouse": world.wh_a.pk, "product": world.product.pk, "delta": -2, "reason": "count"}
    assert client.post(ADJUST, body, format="json", HTTP_IDEMPOTENCY_KEY="retry").status_code == 409
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    response = client.post(ADJUST, body, format="json", HTTP_IDEMPOTENCY_KEY="retry")
    assert response.status_code == 200 and response.data["quantity"] == 3


@pytest.mark.django_db
def test_equal_sort_keys_page_in_a_stable_id_order(make_client, world):
    for product in ProductFactory.create_batch(5):
        assign_stock(actor=world.admin, warehouse=world.wh_b, product=product, quantity=2)
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=2)
    client = make_client(world.viewer)
    expected = list(Stock.objects.order_by("id").values_list("id", flat=True))
    seen = []
    for page in (1, 2, 3, 4):
        response = client.get(LIST, {"ordering": "-quantity", "page_size": 3, "page": page})
        seen += [r["id"] for r in response.data["results"]]
    assert seen == expected
