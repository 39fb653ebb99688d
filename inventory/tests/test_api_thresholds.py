import pytest

from accounts.models import AuditEvent
from inventory.models import LowStockAlert, LowStockThreshold
from inventory.services import assign_stock
from inventory.tests.factories import ProductFactory, ThresholdFactory

URL = "/api/low-stock-thresholds/"


def detail(pk):
    return f"{URL}{pk}/"


def snapshot():
    return (list(LowStockThreshold.objects.order_by("pk").values("pk", "product", "warehouse", "threshold")),
            list(LowStockAlert.objects.order_by("pk").values("pk", "status")))


@pytest.fixture
def threshold_a(world):
    return ThresholdFactory(product=world.product, warehouse=world.wh_a, threshold=5)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "manager_b", "staff_b", "viewer"])
def test_every_active_user_reads_thresholds(make_client, world, threshold_a, who):
    client = make_client(getattr(world, who))
    response = client.get(URL)
    assert response.status_code == 200
    assert response.data["results"] == [{"id": threshold_a.pk, "product": world.product.pk,
                                         "warehouse": world.wh_a.pk, "threshold": 5}]
    assert client.get(detail(threshold_a.pk)).data["threshold"] == 5


@pytest.mark.django_db
def test_thresholds_filter_by_warehouse_and_product(make_client, world, threshold_a):
    other = ThresholdFactory(product=world.product2, warehouse=world.wh_b, threshold=1)
    client = make_client(world.viewer)
    assert [r["id"] for r in client.get(URL, {"warehouse": world.wh_b.pk}).data["results"]] == [other.pk]
    assert [r["id"] for r in client.get(URL, {"product": world.product.pk}).data["results"]] == [threshold_a.pk]
    assert client.get(URL, {"warehouse": "x"}).status_code == 400
    assert client.get(detail(999999)).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "manager_a"])
def test_admin_and_the_warehouses_manager_set_a_threshold(make_client, world, who):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    response = make_client(getattr(world, who)).post(
        URL, {"product": world.product.pk, "warehouse": world.wh_a.pk, "threshold": 4}, format="json")
    assert response.status_code == 201, response.data
    row = LowStockThreshold.objects.get()
    assert response.data == {"id": row.pk, "product": world.product.pk, "warehouse": world.wh_a.pk, "threshold": 4}
    assert not LowStockAlert.objects.exists()  # 10 is not below 4
    event = AuditEvent.objects.get(action="threshold.create")
    assert event.actor == getattr(world, who) and event.data["threshold"] == 4


@pytest.mark.django_db
def test_a_threshold_above_the_current_quantity_opens_an_alert(make_client, world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3)
    response = make_client(world.manager_a).post(
        URL, {"product": world.product.pk, "warehouse": world.wh_a.pk, "threshold": 10}, format="json")
    assert response.status_code == 201
    alert = LowStockAlert.objects.get()
    assert (alert.status, alert.threshold, alert.quantity_at_trigger) == ("open", 10, 3)


@pytest.mark.django_db
def test_a_threshold_without_stock_counts_as_zero_on_hand(make_client, world):
    make_client(world.manager_a).post(
        URL, {"product": world.product.pk, "warehouse": world.wh_a.pk, "threshold": 1}, format="json")
    assert LowStockAlert.objects.get().quantity_at_trigger == 0


@pytest.mark.django_db
def test_lowering_then_deleting_a_threshold_resolves_its_alert(make_client, world, threshold_a):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3)
    assert LowStockAlert.objects.get().status == "open"
    client = make_client(world.manager_a)
    response = client.patch(detail(threshold_a.pk), {"threshold": 2}, format="json")
    assert response.status_code == 200 and response.data["threshold"] == 2
    assert LowStockAlert.objects.get().status == "resolved"
    client.patch(detail(threshold_a.pk), {"threshold": 8}, format="json")
    assert LowStockAlert.objects.filter(status="open").count() == 1
    assert client.delete(detail(threshold_a.pk)).status_code == 204
    assert not LowStockThreshold.objects.exists()
    assert not LowStockAlert.objects.filter(status="open").exists()
    assert list(AuditEvent.objects.filter(action__startswith="threshold.").values_list("action", flat=True)
                .order_by("id")) == ["threshold.update", "threshold.update", "threshold.delete"]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["staff_a", "viewer"])
def test_staff_and_viewers_cannot_write_thresholds(make_client, world, threshold_a, who):
    before = snapshot()
    client = make_client(getattr(world, who))
    for response in (
        client.post(URL, {"product": world.product2.pk, "warehouse": world.wh_a.pk, "threshold": 1}, format="json"),
        client.patch(detail(threshold_a.pk), {"threshold": 9}, format="json"),
        client.delete(detail(threshold_a.pk)),
    ):
        assert response.status_code == 403 and response.data["code"] == "permission_denied"
    assert snapshot() == before


@pytest.mark.django_db
def test_manager_cannot_write_thresholds_of_another_managers_warehouse(make_client, world, threshold_a):
    before = snapshot()
    client = make_client(world.manager_b)
    for response in (
        client.post(URL, {"product": world.product2.pk, "warehouse": world.wh_a.pk, "threshold": 1}, format="json"),
        client.patch(detail(threshold_a.pk), {"threshold": 9}, format="json"),
        client.delete(detail(threshold_a.pk)),
    ):
        assert response.status_code == 403 and response.data["code"] == "permission_denied"
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("patch", [
    {"threshold": -1}, {"threshold": 1.5}, {"threshold": "lots"}, {"threshold": 10**30}, {"threshold": None},
    {"product": 999999}, {"warehouse": 999999}, {"warehouse": "x"},
])
def test_bad_threshold_input_is_400_and_changes_nothing(make_client, world, patch):
    before = snapshot()
    payload = {"product": world.product.pk, "warehouse": world.wh_a.pk, "threshold": 3, **patch}
    response = make_client(world.admin).post(URL, payload, format="json")
    assert response.status_code == 400
    assert set(patch) <= set(response.data)
    assert snapshot() == before


@pytest.mark.django_db
def test_a_second_threshold_for_the_same_product_and_warehouse_is_400(make_client, world, threshold_a):
    before = snapshot()
    response = make_client(world.admin).post(
        URL, {"product": world.product.pk, "warehouse": world.wh_a.pk, "threshold": 9}, format="json")
    assert response.status_code == 400
    assert snapshot() == before


@pytest.mark.django_db
def test_a_zero_threshold_is_allowed(make_client, world):
    response = make_client(world.admin).post(
        URL, {"product": world.product.pk, "warehouse": world.wh_a.pk, "threshold": 0}, format="json")
    assert response.status_code == 201
    assert not LowStockAlert.objects.exists()


@pytest.mark.django_db
def test_product_and_warehouse_of_a_threshold_cannot_change(make_client, world, threshold_a):
    client = make_client(world.admin)
    response = client.patch(detail(threshold_a.pk), {"warehouse": world.wh_b.pk}, format="json")
    assert response.status_code == 400 and "warehouse" in response.data
    response = client.patch(detail(threshold_a.pk), {"product": world.product.pk, "threshold": 6}, format="json")
    assert response.status_code == 200 and response.data["threshold"] == 6


@pytest.mark.django_db
def test_put_is_not_allowed_on_thresholds(make_client, world, threshold_a):
    response = make_client(world.admin).put(detail(threshold_a.pk), {"product": world.product.pk,
                                                                      "warehouse": world.wh_a.pk, "threshold": 1},
                                             format="json")
    assert response.status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 50])
def test_threshold_list_query_count_is_constant(make_client, world, django_assert_num_queries, rows):
    for product in ProductFactory.create_batch(rows):
        ThresholdFactory(product=product, warehouse=world.wh_a, threshold=1)
    client = make_client(world.viewer)
    with django_assert_num_queries(3):  # the user (with its role), count, page
        response = client.get(URL)
    assert len(response.data["results"]) == rows
