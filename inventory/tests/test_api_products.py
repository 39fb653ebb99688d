import pytest

from accounts.models import AuditEvent
from inventory.models import Product
from inventory.tests.factories import ProductFactory

URL = "/api/products/"


def detail(pk):
    return f"{URL}{pk}/"


def snapshot():
    return list(Product.objects.order_by("pk").values())


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "manager_a", "staff_a", "viewer"])
def test_every_active_user_can_list_and_read_products(make_client, world, who):
    client = make_client(getattr(world, who))
    response = client.get(URL)
    assert response.status_code == 200
    assert [r["sku"] for r in response.data["results"]] == ["BOLT-1", "NUT-1"]
    assert set(response.data["results"][0]) == {"id", "sku", "name", "description", "unit", "is_active", "tracking",
                                                 "created_at"}
    assert client.get(detail(world.product2.pk)).data["name"] == "Nut"


@pytest.mark.django_db
def test_anonymous_cannot_read_products(anon, world):
    assert anon.get(URL).status_code == 401


@pytest.mark.django_db
def test_products_search_on_sku_and_name_and_filter_is_active(make_client, world):
    ProductFactory(sku="SCREW-9", name="Wood screw", is_active=False)
    client = make_client(world.viewer)
    assert [r["sku"] for r in client.get(URL, {"search": "nut"}).data["results"]] == ["NUT-1"]
    assert [r["sku"] for r in client.get(URL, {"search": "wood"}).data["results"]] == ["SCREW-9"]
    assert [r["sku"] for r in client.get(URL, {"search": "bolt-1"}).data["results"]] == ["BOLT-1"]
    assert [r["sku"] for r in client.get(URL, {"is_active": "false"}).data["results"]] == ["SCREW-9"]
    assert client.get(URL, {"is_active": "perhaps"}).status_code == 400


@pytest.mark.django_db
def test_unknown_product_is_404(make_client, world):
    client = make_client(world.viewer)
    assert client.get(detail(999999)).status_code == 404
    assert client.get(detail("x")).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "manager_a"])
def test_admin_and_manager_create_products_and_it_is_audited(make_client, world, who):
    actor = getattr(world, who)
    response = make_client(actor).post(URL, {"sku": " WASH-1 ", "name": "Washer", "unit": "box"}, format="json")
    assert response.status_code == 201, response.data
    product = Product.objects.get(pk=response.data["id"])
    assert (product.sku, product.unit, product.is_active) == ("WASH-1", "box", True)
    event = AuditEvent.objects.get(action="product.create")
    assert event.actor == actor and event.target == f"product:{product.pk}"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "manager_b"])
def test_admin_and_manager_update_products(make_client, world, who):
    response = make_client(getattr(world, who)).patch(detail(world.product.pk), {"name": "Big bolt",
                                                                                  "is_active": False}, format="json")
    assert response.status_code == 200
    world.product.refresh_from_db()
    assert (world.product.name, world.product.is_active) == ("Big bolt", False)
    assert AuditEvent.objects.get(action="product.update").data["before"]["name"] == "Bolt"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["staff_a", "viewer"])
def test_staff_and_viewers_cannot_create_or_update_products(make_client, world, who):
    before = snapshot()
    client = make_client(getattr(world, who))
    for response in (client.post(URL, {"sku": "X", "name": "X"}, format="json"),
                     client.patch(detail(world.product.pk), {"name": "X"}, format="json")):
        assert response.status_code == 403
        assert response.data["code"] == "permission_denied"
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [
    {"sku": "bolt-1", "name": "duplicate in other case"},
    {"sku": "  ", "name": "blank sku"},
    {"sku": "OK-1", "name": ""},
    {"name": "no sku"},
    {"sku": "S" * 65, "name": "too long"},
    {"sku": 12, "name": ["list"]},
    {"sku": "OK-2", "name": "n", "is_active": "sometimes"},
])
def test_bad_product_input_is_400_and_changes_nothing(make_client, world, payload):
    before = snapshot()
    response = make_client(world.admin).post(URL, payload, format="json")
    assert response.status_code == 400
    assert snapshot() == before


@pytest.mark.django_db
def test_duplicate_sku_on_update_is_400(make_client, world):
    response = make_client(world.admin).patch(detail(world.product.pk), {"sku": "nut-1"}, format="json")
    assert response.status_code == 400
    assert "sku" in response.data


@pytest.mark.django_db
def test_malformed_json_is_400(make_client, world):
    response = make_client(world.admin).generic("POST", URL, "{not json", content_type="application/json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_products_cannot_be_deleted_through_the_api(make_client, world):
    assert make_client(world.admin).delete(detail(world.product.pk)).status_code == 405
    assert Product.objects.filter(pk=world.product.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 50])
def test_product_list_query_count_is_constant(make_client, world, django_assert_num_queries, rows):
    ProductFactory.create_batch(rows - 2)
    client = make_client(world.viewer)
    with django_assert_num_queries(3):  # the user (with its role), count, page
        response = client.get(URL)
    assert len(response.data["results"]) == rows
