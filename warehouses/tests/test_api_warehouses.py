import pytest

from accounts.models import AuditEvent
from accounts.tests.factories import UserFactory
from inventory.models import LowStockThreshold
from inventory.services import assign_stock
from warehouses.models import Warehouse
from warehouses.tests.factories import WarehouseFactory

URL = "/api/warehouses/"


def detail(pk):
    return f"{URL}{pk}/"


def snapshot():
    return list(Warehouse.objects.order_by("pk").values())


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "manager_a", "staff_a", "viewer"])
def test_every_active_user_can_list_and_read_warehouses(make_client, world, who):
    client = make_client(getattr(world, who))
    response = client.get(URL)
    assert response.status_code == 200
    assert response.data["count"] == 2
    row = response.data["results"][0]
    assert set(row) == {"id", "code", "name", "address", "manager", "is_active", "count_tolerance", "created_at"}
    assert row["code"] == "A" and row["manager"] == world.manager_a.pk
    assert client.get(detail(world.wh_b.pk)).data["code"] == "B"


@pytest.mark.django_db
def test_anonymous_cannot_list_warehouses(anon, world):
    assert anon.get(URL).status_code == 401


@pytest.mark.django_db
def test_dismissed_user_cannot_list_warehouses(make_client, world):
    client = make_client(world.staff_a)
    world.staff_a.status = "dismissed"
    world.staff_a.save()
    assert client.get(URL).status_code == 401


@pytest.mark.django_db
def test_search_and_is_active_filter(make_client, world):
    WarehouseFactory(code="C", name="Gamma store", is_active=False)
    client = make_client(world.viewer)
    assert [r["code"] for r in client.get(URL, {"search": "gamma"}).data["results"]] == ["C"]
    assert [r["code"] for r in client.get(URL, {"is_active": "false"}).data["results"]] == ["C"]
    assert [r["code"] for r in client.get(URL, {"is_active": "true"}).data["results"]] == ["A", "B"]
    assert client.get(URL, {"manager": "abc"}).status_code == 400
    assert client.get(URL, {"is_active": "maybe"}).status_code == 400
    assert client.get(URL, {"manager": str(10**30)}).status_code == 400


@pytest.mark.django_db
def test_unknown_or_malformed_warehouse_id_is_404(make_client, world):
    client = make_client(world.viewer)
    assert client.get(detail(999999)).status_code == 404
    assert client.get(detail("abc")).status_code == 404
    assert client.get(detail(10**30)).status_code == 404


@pytest.mark.django_db
def test_admin_creates_a_warehouse_with_a_manager_and_it_is_audited(make_client, world):
    manager = UserFactory(manager=True)
    response = make_client(world.admin).post(URL, {"code": " C1 ", "name": "Gamma", "address": "x",
                                                    "manager": manager.pk}, format="json")
    assert response.status_code == 201, response.data
    warehouse = Warehouse.objects.get(pk=response.data["id"])
    assert (warehouse.code, warehouse.manager_id, warehouse.is_active) == ("C1", manager.pk, True)
    event = AuditEvent.objects.get(action="warehouse.create")
    assert event.actor == world.admin and event.target == f"warehouse:{warehouse.pk}"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["manager_a", "staff_a", "viewer"])
def test_only_admins_create_change_or_delete_warehouses(make_client, world, who):
    before = snapshot()
    client = make_client(getattr(world, who))
    for response in (
        client.post(URL, {"code": "Z", "name": "Z"}, format="json"),
        client.patch(detail(world.wh_a.pk), {"name": "Renamed"}, format="json"),
        client.delete(detail(world.wh_b.pk)),
    ):
        assert response.status_code == 403
        assert response.data["code"] == "permission_denied"
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [
    {"code": "a", "name": "dup lower-case"},
    {"code": "", "name": "blank code"},
    {"code": "Q", "name": ""},
    {"name": "missing code"},
    {"code": "Q", "name": "n", "manager": 999999},
    {"code": "Q", "name": "n", "manager": "abc"},
    {"code": ["Q"], "name": "n"},
    {"code": "Q", "name": "n", "is_active": "maybe"},
    {"code": "Q" * 40, "name": "too long"},
])
def test_admin_bad_warehouse_input_is_400_and_changes_nothing(make_client, world, payload):
    before = snapshot()
    response = make_client(world.admin).post(URL, payload, format="json")
    assert response.status_code == 400
    assert snapshot() == before


@pytest.mark.django_db
def test_duplicate_code_message_mentions_case_insensitivity(make_client, world):
    response = make_client(world.admin).post(URL, {"code": "b", "name": "x"}, format="json")
    assert response.status_code == 400
    assert "already exists" in str(response.data["code"][0])


@pytest.mark.django_db
@pytest.mark.parametrize("role_kwargs", [{"staff": True}, {"viewer": True}, {"admin": True},
                                         {"manager": True, "status": "dismissed"},
                                         {"manager": True, "status": "pending"}])
def test_warehouse_manager_must_be_an_active_manager(make_client, world, role_kwargs):
    candidate = UserFactory(**role_kwargs)
    before = snapshot()
    response = make_client(world.admin).patch(detail(world.wh_a.pk), {"manager": candidate.pk}, format="json")
    assert response.status_code == 400
    assert "manager" in response.data
    assert snapshot() == before


@pytest.mark.django_db
def test_admin_changes_manager_and_deactivates_a_warehouse(make_client, world):
    client = make_client(world.admin)
    response = client.patch(detail(world.wh_a.pk), {"manager": world.manager_b.pk, "is_active": False}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["manager"] == world.manager_b.pk and response.data["is_active"] is False
    world.wh_a.refresh_from_db()
    assert world.wh_a.manager_id == world.manager_b.pk
    assert client.patch(detail(world.wh_a.pk), {"manager": None}, format="json").data["manager"] is None
    event = AuditEvent.objects.filter(action="warehouse.update").first()
    assert event.data["before"]["manager"] == world.manager_b.pk and event.data["after"]["manager"] is None


@pytest.mark.django_db
def test_renaming_code_to_own_code_in_other_case_is_allowed(make_client, world):
    response = make_client(world.admin).patch(detail(world.wh_a.pk), {"code": "a"}, format="json")
    assert response.status_code == 200
    assert response.data["code"] == "a"


@pytest.mark.django_db
def test_renaming_code_to_another_warehouses_code_is_400(make_client, world):
    response = make_client(world.admin).patch(detail(world.wh_a.pk), {"code": "b"}, format="json")
    assert response.status_code == 400
    world.wh_a.refresh_from_db()
    assert world.wh_a.code == "A"


@pytest.mark.django_db
def test_put_is_not_allowed(make_client, world):
    response = make_client(world.admin).put(detail(world.wh_a.pk), {"code": "A", "name": "n"}, format="json")
    assert response.status_code == 405


@pytest.mark.django_db
def test_admin_deletes_an_unused_warehouse_and_it_is_audited(make_client, world):
    empty = WarehouseFactory(code="EMPTY")
    response = make_client(world.admin).delete(detail(empty.pk))
    assert response.status_code == 204
    assert not Warehouse.objects.filter(pk=empty.pk).exists()
    assert AuditEvent.objects.filter(action="warehouse.delete", target=f"warehouse:{empty.pk}").exists()


@pytest.mark.django_db
def test_warehouse_with_stock_cannot_be_deleted(make_client, world):
    assign_stock(actor=world.admin, warehouse=world.wh_b, product=world.product, quantity=1)
    staffless = Warehouse.objects.get(pk=world.wh_b.pk)
    staffless.staff.update(warehouse=world.wh_a)
    response = make_client(world.admin).delete(detail(world.wh_b.pk))
    assert response.status_code == 409
    assert response.data["code"] == "warehouse_in_use"
    assert "deactivate" in response.data["detail"]
    assert Warehouse.objects.filter(pk=world.wh_b.pk).exists()


@pytest.mark.django_db
def test_warehouse_with_staff_cannot_be_deleted(make_client, world):
    response = make_client(world.admin).delete(detail(world.wh_a.pk))
    assert response.status_code == 409 and response.data["code"] == "warehouse_in_use"


@pytest.mark.django_db
def test_schema_documents_the_409_of_deleting_a_warehouse_in_use(make_client, world):
    schema = make_client(None).get("/api/schema/?format=json").json()
    assert "409" in schema["paths"]["/api/warehouses/{id}/"]["delete"]["responses"]


@pytest.mark.django_db
def test_warehouse_with_only_a_threshold_cannot_be_deleted(make_client, world):
    lonely = WarehouseFactory(code="LONELY")
    LowStockThreshold.objects.create(product=world.product, warehouse=lonely, threshold=3)
    response = make_client(world.admin).delete(detail(lonely.pk))
    assert response.status_code == 409
    assert LowStockThreshold.objects.filter(warehouse=lonely).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 50])
def test_warehouse_list_query_count_is_constant(make_client, world, django_assert_num_queries, rows):
    for _ in range(rows - 2):
        WarehouseFactory()
    client = make_client(world.viewer)
    # the user (with its role), count, page
    with django_assert_num_queries(3):
        response = client.get(URL)
    assert len(response.data["results"]) == rows


@pytest.mark.django_db
@pytest.mark.parametrize("key,value,message", [
    ("actor", 999, "This field is not writable."),
    ("colour", "red", "Unknown field."),
    ("id", 999, "This field is not writable."),
    ("created_at", "2020-01-01T00:00:00Z", "This field is not writable."),
])
def test_create_refuses_an_unknown_or_read_only_key_naming_it(make_client, world, key, value, message):
    before = snapshot()
    response = make_client(world.admin).post(URL, {"code": "Q", "name": "Quebec", key: value}, format="json")
    assert response.status_code == 400
    assert response.data == {key: [message]}
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("key,value,message", [
    ("actor", 999, "This field is not writable."),
    ("id", 999, "This field is not writable."),
    ("created_at", "2020-01-01T00:00:00Z", "This field is not writable."),
])
def test_update_refuses_an_unknown_or_read_only_key_naming_it(make_client, world, key, value, message):
    before = snapshot()
    response = make_client(world.admin).patch(detail(world.wh_a.pk), {"name": "Renamed", key: value}, format="json")
    assert response.status_code == 400
    assert response.data == {key: [message]}
    assert snapshot() == before
