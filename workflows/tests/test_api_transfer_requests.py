"""`/api/transfer-requests/`: create, list, detail, approve/reject — per role and state."""

import pytest

from accounts.models import AuditEvent
from accounts.tests.factories import UserFactory
from inventory.models import Stock, StockMovement
from inventory.tests.factories import ProductFactory
from warehouses.tests.factories import WarehouseFactory
from workflows.models import TransferRequest

from .conftest import ledger_consistent, put_stock, quantity_of, snapshot
from .factories import TransferRequestFactory

pytestmark = pytest.mark.django_db

LIST = "/api/transfer-requests/"
APPROVE = "/api/transfer-requests/approve/"
FIELDS = {"id", "source_warehouse", "destination_warehouse", "product", "quantity", "mode", "lines", "reason",
          "status", "requested_by", "decided_by", "decision_reason", "created_at", "decided_at", "reorder_rule"}


def _body(world, **overrides):
    return {"source_warehouse": world.wh_a.pk, "destination_warehouse": world.wh_b.pk, "product": world.product.pk,
            "quantity": 4, "reason": "rebalance", **overrides}


@pytest.fixture
def third(world):
    """A third warehouse C with its own manager and staff, unrelated to A and B."""
    manager_c = UserFactory(manager=True)
    wh_c = WarehouseFactory(code="C", manager=manager_c)
    staff_c = UserFactory(staff=True, warehouse=wh_c)
    return {"wh": wh_c, "manager": manager_c, "staff": staff_c}


# --- create ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["admin", "manager_a", "manager_b"])
def test_admin_or_manager_of_either_side_creates_a_transfer(world, role, make_client):
    actor = getattr(world, role)
    response = make_client(actor).post(LIST, _body(world), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == FIELDS
    assert (body["source_warehouse"], body["destination_warehouse"], body["product"], body["quantity"]) == (
        world.wh_a.pk, world.wh_b.pk, world.product.pk, 4)
    assert (body["status"], body["requested_by"], body["decided_by"]) == ("pending", actor.pk, None)
    event = AuditEvent.objects.get(action="transfer_request.create")
    assert (event.actor, event.target) == (actor, f"transferrequest:{body['id']}")


@pytest.mark.parametrize("role", ["staff_a", "viewer", "manager_c"])
def test_staff_viewers_and_managers_of_neither_side_cannot_create(world, third, role, make_client):
    actor = third["manager"] if role == "manager_c" else getattr(world, role)
    before = snapshot()
    response = make_client(actor).post(LIST, _body(world), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert snapshot() == before


@pytest.mark.parametrize("overrides, field", [
    ({"destination_warehouse": "SRC"}, "destination_warehouse"),
    ({"quantity": 0}, "quantity"),
    ({"quantity": 10**30}, "quantity"),
    ({"quantity": "four"}, "quantity"),
    ({"source_warehouse": 999_999}, "source_warehouse"),
    ({"destination_warehouse": 10**30}, "destination_warehouse"),
    ({"product": "x"}, "product"),
    ({"product": None}, "product"),
])
def test_bad_transfer_input_is_a_400_and_nothing_is_created(world, overrides, field, make_client):
    overrides = {key: world.wh_a.pk if value == "SRC" else value for key, value in overrides.items()}
    before = snapshot()
    response = make_client(world.admin).post(LIST, _body(world, **overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert snapshot() == before


def test_inactive_warehouse_or_product_is_a_400(world, make_client):
    closed = WarehouseFactory(is_active=False, manager=world.manager_a)
    retired = ProductFactory(is_active=False)
    client = make_client(world.manager_a)
    response = client.post(LIST, _body(world, destination_warehouse=closed.pk), format="json")
    assert response.status_code == 400 and "destination_warehouse" in response.json()
    response = client.post(LIST, _body(world, product=retired.pk), format="json")
    assert response.status_code == 400 and "product" in response.json()
    assert not TransferRequest.objects.exists()


# --- list and detail ----------------------------------------------------------------------------

@pytest.fixture
def transfers(world, third):
    return {
        "ab": TransferRequestFactory(source_warehouse=world.wh_a, destination_warehouse=world.wh_b,
                                     product=world.product, requested_by=world.manager_a),
        "ca": TransferRequestFactory(source_warehouse=third["wh"], destination_warehouse=world.wh_a,
                                     product=world.product, requested_by=world.admin, status="rejected"),
        "bc": TransferRequestFactory(source_warehouse=world.wh_b, destination_warehouse=third["wh"],
                                     product=world.product2, requested_by=world.manager_b),
    }


def _ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("role, expected", [
    ("admin", {"ab", "ca", "bc"}),
    ("manager_a", {"ab", "ca"}),
    ("staff_a", {"ab", "ca"}),
    ("manager_b", {"ab", "bc"}),
    ("staff_b", {"ab", "bc"}),
    ("viewer", set()),
])
def test_list_shows_transfers_touching_the_users_warehouses(world, transfers, role, expected, make_client):
    assert _ids(make_client(getattr(world, role)).get(LIST)) == {transfers[name].pk for name in expected}


def test_list_filters_by_either_warehouse_and_status(world, transfers, third, make_client):
    client = make_client(world.admin)
    assert _ids(client.get(LIST, {"warehouse": third["wh"].pk})) == {transfers["ca"].pk, transfers["bc"].pk}
    assert _ids(client.get(LIST, {"warehouse": world.wh_a.pk, "status": "pending"})) == {transfers["ab"].pk}
    assert client.get(LIST, {"warehouse": "nope"}).status_code == 400
    assert client.get(LIST, {"status": "nope"}).status_code == 400


@pytest.mark.parametrize("extra", [5, 50])
def test_list_query_count_is_constant(world, transfers, extra, django_assert_num_queries, make_client):
    """Session + count + page + every line of the page (prefetched): 4 queries for 7 transfers or 52."""
    for index in range(extra):
        lines = [(world.product, 1), (world.product2, 2)] if index % 2 else None
        TransferRequestFactory(source_warehouse=world.wh_a, destination_warehouse=world.wh_b,
                               product=world.product, requested_by=world.manager_a, lines=lines)
    client = make_client(world.staff_a)
    with django_assert_num_queries(4):
        body = client.get(LIST, {"page_size": 200}).json()
    assert body["count"] == extra + 2
    assert sum(len(item["lines"]) for item in body["results"]) == extra + 2 + extra // 2


def test_detail_is_404_out_of_scope(world, transfers, third, make_client):
    url = f"{LIST}{transfers['ab'].pk}/"
    response = make_client(world.staff_b).get(url)
    assert response.status_code == 200 and set(response.json()) == FIELDS
    for user in (third["manager"], third["staff"], world.viewer):
        assert make_client(user).get(url).status_code == 404
    assert make_client(world.admin).get(f"{LIST}{10**30}/").status_code == 404


# --- approve / reject ---------------------------------------------------------------------------

def test_admin_approves_a_transfer_and_stock_moves_with_two_movements(world, transfer, make_client):
    put_stock(world, world.wh_a, 10)
    put_stock(world, world.wh_b, 1)
    response = make_client(world.admin).post(APPROVE, {"id": transfer.pk, "decision": "approve", "reason": "go"},
                                            format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == FIELDS
    assert (body["status"], body["decided_by"], body["decision_reason"]) == ("approved", world.admin.pk, "go")
    assert body["decided_at"] is not None
    assert (quantity_of(world.wh_a, world.product), quantity_of(world.wh_b, world.product)) == (6, 5)
    moves = StockMovement.objects.filter(reference_type="transfer_request", reference_id=transfer.pk)
    assert sorted(moves.values_list("kind", "warehouse_id", "quantity_change", "quantity_after")) == [
        ("transfer_in", world.wh_b.pk, 4, 5), ("transfer_out", world.wh_a.pk, -4, 6)]
    assert AuditEvent.objects.filter(action="transfer_request.approve", actor=world.admin,
                                     target=f"transferrequest:{transfer.pk}").count() == 1
    assert ledger_consistent()


def test_approval_creates_the_destination_stock_row_when_missing(world, transfer, make_client):
    put_stock(world, world.wh_a, 4)
    assert not Stock.objects.filter(warehouse=world.wh_b, product=world.product).exists()
    response = make_client(world.admin).post(APPROVE, {"id": transfer.pk, "decision": "approve"}, format="json")
    assert response.status_code == 200
    assert (quantity_of(world.wh_a, world.product), quantity_of(world.wh_b, world.product)) == (0, 4)
    assert ledger_consistent()


def test_admin_rejects_a_transfer_and_nothing_moves(world, transfer, make_client):
    put_stock(world, world.wh_a, 10)
    response = make_client(world.admin).post(APPROVE, {"id": transfer.pk, "decision": "reject", "reason": "no"},
                                            format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert quantity_of(world.wh_a, world.product) == 10
    assert not StockMovement.objects.filter(reference_type="transfer_request").exists()
    assert AuditEvent.objects.filter(action="transfer_request.reject").count() == 1


@pytest.mark.parametrize("role", ["manager_a", "manager_b", "staff_a", "staff_b"])
def test_managers_and_staff_who_see_the_transfer_cannot_decide_it(world, transfer, role, make_client):
    put_stock(world, world.wh_a, 10)
    before = snapshot()
    response = make_client(getattr(world, role)).post(APPROVE, {"id": transfer.pk, "decision": "approve"},
                                                     format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert snapshot() == before


@pytest.mark.parametrize("role", ["viewer", "manager_c", "staff_c"])
def test_users_who_cannot_see_the_transfer_get_404(world, transfer, third, role, make_client):
    actor = getattr(world, role) if role == "viewer" else third[role.split("_")[0]]
    before = snapshot()
    response = make_client(actor).post(APPROVE, {"id": transfer.pk, "decision": "approve"}, format="json")
    assert response.status_code == 404
    assert snapshot() == before


def test_insufficient_source_stock_is_409_and_the_transfer_stays_pending(world, transfer, make_client):
    put_stock(world, world.wh_a, 3)
    before = snapshot()
    response = make_client(world.admin).post(APPROVE, {"id": transfer.pk, "decision": "approve"}, format="json")
    assert response.status_code == 409
    assert (response.json()["code"], response.json()["available"], response.json()["requested"]) == (
        "insufficient_stock", 3, 4)
    assert snapshot() == before
    transfer.refresh_from_db()
    assert transfer.status == "pending"


def test_deciding_a_transfer_twice_is_409_not_pending(world, transfer, make_client):
    put_stock(world, world.wh_a, 10)
    client = make_client(world.admin)
    assert client.post(APPROVE, {"id": transfer.pk, "decision": "reject"}, format="json").status_code == 200
    before = snapshot()
    response = client.post(APPROVE, {"id": transfer.pk, "decision": "approve"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "not_pending")
    assert snapshot() == before


@pytest.mark.parametrize("body", [{"id": "ID", "decision": "yes"}, {"id": "ID"}, {"decision": "approve"},
                                  {"id": 10**30, "decision": "approve"}, {"id": "ID", "decision": 1}])
def test_bad_transfer_decision_input_is_a_400(world, transfer, body, make_client):
    body = {key: transfer.pk if value == "ID" else value for key, value in body.items()}
    before = snapshot()
    assert make_client(world.admin).post(APPROVE, body, format="json").status_code == 400
    assert snapshot() == before


def test_approving_into_a_deactivated_warehouse_is_refused_and_stays_pending(world, transfer, make_client):
    put_stock(world, world.wh_a, 10)
    world.wh_b.is_active = False
    world.wh_b.save()
    before = snapshot()
    response = make_client(world.admin).post(APPROVE, {"id": transfer.pk, "decision": "approve"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "inactive")
    assert snapshot() == before
