"""`/api/purchase-requests/`: create, list, detail, approve/reject, cancel — per role and state."""

import pytest

from accounts.models import AuditEvent
from accounts.tests.factories import UserFactory
from inventory.models import StockMovement
from inventory.tests.factories import ProductFactory
from warehouses.tests.factories import WarehouseFactory
from workflows.models import PurchaseRequest

from .conftest import put_stock, quantity_of, snapshot
from .factories import PurchaseRequestFactory

pytestmark = pytest.mark.django_db

LIST = "/api/purchase-requests/"
APPROVE = "/api/purchase-requests/approve/"
CANCEL = "/api/purchase-requests/cancel/"
FIELDS = {"id", "warehouse", "product", "quantity", "reason", "status", "requested_by", "decided_by",
          "decision_reason", "created_at", "decided_at"}


def _body(world, **overrides):
    return {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 2, "reason": "repairs",
            **overrides}


# --- create ---------------------------------------------------------------------------------------

def test_viewer_creates_a_pending_purchase_request(world, make_client):
    response = make_client(world.viewer).post(LIST, _body(world), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == FIELDS
    assert body["status"] == "pending"
    assert (body["warehouse"], body["product"], body["quantity"], body["reason"]) == (
        world.wh_a.pk, world.product.pk, 2, "repairs")
    assert body["requested_by"] == world.viewer.pk
    assert body["decided_by"] is None and body["decided_at"] is None
    event = AuditEvent.objects.get(action="purchase_request.create")
    assert (event.actor, event.target) == (world.viewer, f"purchaserequest:{body['id']}")


def test_reason_is_optional_when_creating(world, make_client):
    response = make_client(world.viewer).post(LIST, {"warehouse": world.wh_a.pk, "product": world.product.pk,
                                                    "quantity": 1}, format="json")
    assert response.status_code == 201
    assert response.json()["reason"] == ""


@pytest.mark.parametrize("role", ["admin", "manager_a", "staff_a"])
def test_only_viewers_may_create_purchase_requests(world, role, make_client):
    before = snapshot()
    response = make_client(getattr(world, role)).post(LIST, _body(world), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert snapshot() == before


def test_anonymous_cannot_create_or_list(world, anon):
    assert anon.post(LIST, _body(world), format="json").status_code == 401
    assert anon.get(LIST).status_code == 401


@pytest.mark.parametrize("overrides, field", [
    ({"quantity": 0}, "quantity"),
    ({"quantity": -1}, "quantity"),
    ({"quantity": 10**30}, "quantity"),
    ({"quantity": 1_000_000_001}, "quantity"),
    ({"quantity": "many"}, "quantity"),
    ({"quantity": 1.5}, "quantity"),
    ({"quantity": None}, "quantity"),
    ({"warehouse": 999_999}, "warehouse"),
    ({"warehouse": 10**30}, "warehouse"),
    ({"warehouse": -3}, "warehouse"),
    ({"warehouse": "abc"}, "warehouse"),
    ({"warehouse": True}, "warehouse"),
    ({"warehouse": [1]}, "warehouse"),
    ({"warehouse": None}, "warehouse"),
    ({"product": 999_999}, "product"),
    ({"product": {"id": 1}}, "product"),
    ({"reason": "x" * 2001}, "reason"),
])
def test_bad_input_is_a_400_field_error_and_nothing_is_created(world, overrides, field, make_client):
    before = snapshot()
    response = make_client(world.viewer).post(LIST, _body(world, **overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert snapshot() == before


@pytest.mark.parametrize("missing", ["warehouse", "product", "quantity"])
def test_missing_required_field_is_a_400(world, missing, make_client):
    body = _body(world)
    del body[missing]
    response = make_client(world.viewer).post(LIST, body, format="json")
    assert response.status_code == 400
    assert missing in response.json()
    assert not PurchaseRequest.objects.exists()


def test_inactive_warehouse_or_product_is_a_400(world, make_client):
    closed = WarehouseFactory(is_active=False)
    retired = ProductFactory(is_active=False)
    client = make_client(world.viewer)
    assert "warehouse" in client.post(LIST, _body(world, warehouse=closed.pk), format="json").json()
    response = client.post(LIST, _body(world, product=retired.pk), format="json")
    assert response.status_code == 400 and "product" in response.json()
    assert not PurchaseRequest.objects.exists()


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"null"])
def test_malformed_body_is_a_400_not_a_500(world, raw, make_client):
    response = make_client(world.viewer).post(LIST, raw, content_type="application/json")
    assert response.status_code == 400
    assert not PurchaseRequest.objects.exists()


# --- list and detail ----------------------------------------------------------------------------

@pytest.fixture
def requests_ab(world):
    other_viewer = UserFactory(viewer=True)
    mine_a = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, requested_by=world.viewer)
    mine_b = PurchaseRequestFactory(warehouse=world.wh_b, product=world.product, requested_by=world.viewer,
                                    status="rejected")
    theirs_a = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product2, requested_by=other_viewer)
    return {"mine_a": mine_a, "mine_b": mine_b, "theirs_a": theirs_a, "other_viewer": other_viewer}


def _ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("role, expected", [
    ("admin", {"mine_a", "mine_b", "theirs_a"}),
    ("manager_a", {"mine_a", "theirs_a"}),
    ("staff_a", {"mine_a", "theirs_a"}),
    ("manager_b", {"mine_b"}),
    ("staff_b", {"mine_b"}),
    ("viewer", {"mine_a", "mine_b"}),
])
def test_list_shows_only_requests_in_scope(world, requests_ab, role, expected, make_client):
    response = make_client(getattr(world, role)).get(LIST)
    assert _ids(response) == {requests_ab[name].pk for name in expected}
    assert set(response.json()) == {"count", "next", "previous", "results"}


def test_another_viewer_sees_only_their_own(world, requests_ab, make_client):
    assert _ids(make_client(requests_ab["other_viewer"]).get(LIST)) == {requests_ab["theirs_a"].pk}


def test_list_filters_by_status_and_warehouse(world, requests_ab, make_client):
    client = make_client(world.admin)
    assert _ids(client.get(LIST, {"status": "rejected"})) == {requests_ab["mine_b"].pk}
    assert _ids(client.get(LIST, {"warehouse": world.wh_a.pk})) == {requests_ab["mine_a"].pk,
                                                                    requests_ab["theirs_a"].pk}
    assert _ids(client.get(LIST, {"warehouse": world.wh_a.pk, "status": "rejected"})) == set()


@pytest.mark.parametrize("params", [{"status": "bogus"}, {"warehouse": "abc"}, {"warehouse": "1.5"},
                                    {"warehouse": str(10**30)}, {"page": "999"}])
def test_bad_list_parameters_are_a_client_error(world, requests_ab, params, make_client):
    response = make_client(world.admin).get(LIST, params)
    assert response.status_code in (400, 404)  # an unknown page is DRF's 404
    assert response.status_code != 500


def test_list_query_count_does_not_grow_with_rows(world, requests_ab, django_assert_num_queries, make_client):
    client = make_client(world.manager_a)
    for _ in range(20):
        PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, requested_by=world.viewer)
    # authentication (user + role), count, page
    with django_assert_num_queries(3):
        response = client.get(LIST)
    assert response.json()["count"] == 22


def test_detail_in_scope_and_out_of_scope(world, requests_ab, make_client):
    theirs = requests_ab["theirs_a"]
    response = make_client(world.staff_a).get(f"{LIST}{theirs.pk}/")
    assert response.status_code == 200
    assert set(response.json()) == FIELDS
    for user in (world.viewer, world.staff_b, world.manager_b):
        response = make_client(user).get(f"{LIST}{theirs.pk}/")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert make_client(world.admin).get(f"{LIST}{10**30}/").status_code == 404
    assert make_client(world.admin).get(f"{LIST}999999/").status_code == 404


# --- approve / reject ---------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["admin", "manager_a", "staff_a"])
def test_admin_manager_and_staff_of_the_warehouse_approve(world, purchase, role, make_client):
    put_stock(world, world.wh_a, 10)
    actor = getattr(world, role)
    response = make_client(actor).post(APPROVE, {"id": purchase.pk, "decision": "approve", "reason": "ok"},
                                      format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == FIELDS
    assert (body["status"], body["decided_by"], body["decision_reason"]) == ("approved", actor.pk, "ok")
    assert body["decided_at"] is not None
    assert quantity_of(world.wh_a, world.product) == 7
    movement = StockMovement.objects.get(kind="purchase")
    assert (movement.quantity_change, movement.quantity_after, movement.actor) == (-3, 7, actor)
    assert (movement.reference_type, movement.reference_id) == ("purchase_request", purchase.pk)
    event = AuditEvent.objects.get(action="purchase_request.approve")
    assert (event.actor, event.target, event.data["movement"]) == (actor, f"purchaserequest:{purchase.pk}",
                                                                   movement.pk)


def test_reject_marks_rejected_and_moves_no_stock(world, purchase, make_client):
    put_stock(world, world.wh_a, 10)
    response = make_client(world.staff_a).post(APPROVE, {"id": purchase.pk, "decision": "reject",
                                                        "reason": "not today"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decision_reason"]) == ("rejected", "not today")
    assert quantity_of(world.wh_a, world.product) == 10
    assert not StockMovement.objects.filter(kind="purchase").exists()
    assert AuditEvent.objects.filter(action="purchase_request.reject", actor=world.staff_a).count() == 1


def test_requester_cannot_decide_their_own_request(world, purchase, make_client):
    put_stock(world, world.wh_a, 10)
    before = snapshot()
    response = make_client(world.viewer).post(APPROVE, {"id": purchase.pk, "decision": "approve"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert snapshot() == before


@pytest.mark.parametrize("role", ["manager_b", "staff_b", "other_viewer"])
def test_manager_or_staff_of_another_warehouse_gets_404(world, purchase, role, make_client):
    put_stock(world, world.wh_a, 10)
    actor = UserFactory(viewer=True) if role == "other_viewer" else getattr(world, role)
    before = snapshot()
    response = make_client(actor).post(APPROVE, {"id": purchase.pk, "decision": "approve"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert snapshot() == before


def test_unknown_request_id_is_a_404(world, make_client):
    response = make_client(world.admin).post(APPROVE, {"id": 424242, "decision": "approve"}, format="json")
    assert response.status_code == 404


@pytest.mark.parametrize("body", [
    {"decision": "approve"},
    {"id": "abc", "decision": "approve"},
    {"id": 10**30, "decision": "approve"},
    {"id": 0, "decision": "approve"},
    {"id": None, "decision": "approve"},
    {"id": "ID"},
    {"id": "ID", "decision": "maybe"},
    {"id": "ID", "decision": ""},
    {"id": "ID", "decision": None},
    {"id": "ID", "decision": ["approve"]},
    {"id": "ID", "reason": "x" * 2001, "decision": "approve"},
])
def test_bad_decision_input_is_a_400_and_nothing_changes(world, purchase, body, make_client):
    put_stock(world, world.wh_a, 10)
    body = {key: purchase.pk if value == "ID" else value for key, value in body.items()}
    before = snapshot()
    response = make_client(world.admin).post(APPROVE, body, format="json")
    assert response.status_code == 400, response.content
    assert snapshot() == before


def test_deciding_twice_is_409_not_pending(world, purchase, make_client):
    put_stock(world, world.wh_a, 10)
    client = make_client(world.manager_a)
    assert client.post(APPROVE, {"id": purchase.pk, "decision": "approve"}, format="json").status_code == 200
    before = snapshot()
    for decision in ("approve", "reject"):
        response = client.post(APPROVE, {"id": purchase.pk, "decision": decision}, format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "not_pending"
    assert snapshot() == before
    assert quantity_of(world.wh_a, world.product) == 7


def test_insufficient_stock_is_409_and_the_request_stays_pending(world, purchase, make_client):
    put_stock(world, world.wh_a, 2)
    before = snapshot()
    response = make_client(world.staff_a).post(APPROVE, {"id": purchase.pk, "decision": "approve"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": response.json()["detail"], "code": "insufficient_stock",
                               "available": 2, "requested": 3}
    assert snapshot() == before
    purchase.refresh_from_db()
    assert purchase.status == "pending" and purchase.decided_by is None


def test_approving_with_no_stock_row_at_all_is_insufficient(world, purchase, make_client):
    response = make_client(world.admin).post(APPROVE, {"id": purchase.pk, "decision": "approve"}, format="json")
    assert response.status_code == 409
    assert (response.json()["available"], response.json()["requested"]) == (0, 3)
    purchase.refresh_from_db()
    assert purchase.status == "pending"


def test_approve_after_stock_arrives_succeeds(world, purchase, make_client):
    client = make_client(world.staff_a)
    assert client.post(APPROVE, {"id": purchase.pk, "decision": "approve"}, format="json").status_code == 409
    put_stock(world, world.wh_a, 3)
    assert client.post(APPROVE, {"id": purchase.pk, "decision": "approve"}, format="json").status_code == 200
    assert quantity_of(world.wh_a, world.product) == 0


def test_dismissed_staff_token_stops_working(world, purchase, make_client):
    client = make_client(world.staff_a)
    world.staff_a.status = "dismissed"
    world.staff_a.save()
    assert client.post(APPROVE, {"id": purchase.pk, "decision": "approve"}, format="json").status_code == 401


def test_staff_moved_to_another_warehouse_loses_the_request(world, purchase, make_client):
    put_stock(world, world.wh_a, 10)
    world.staff_a.warehouse = world.wh_b
    world.staff_a.save()
    response = make_client(world.staff_a).post(APPROVE, {"id": purchase.pk, "decision": "approve"}, format="json")
    assert response.status_code == 404


# --- cancel -------------------------------------------------------------------------------------

def test_requester_cancels_their_pending_request(world, purchase, make_client):
    response = make_client(world.viewer).post(CANCEL, {"id": purchase.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    purchase.refresh_from_db()
    assert purchase.status == "cancelled"
    assert AuditEvent.objects.filter(action="purchase_request.cancel", actor=world.viewer).count() == 1


@pytest.mark.parametrize("role", ["admin", "manager_a", "staff_a"])
def test_someone_who_sees_the_request_but_did_not_make_it_cannot_cancel(world, purchase, role, make_client):
    before = snapshot()
    response = make_client(getattr(world, role)).post(CANCEL, {"id": purchase.pk}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert snapshot() == before


@pytest.mark.parametrize("role", ["manager_b", "staff_b", "other_viewer"])
def test_cancel_out_of_scope_is_404(world, purchase, role, make_client):
    actor = UserFactory(viewer=True) if role == "other_viewer" else getattr(world, role)
    before = snapshot()
    assert make_client(actor).post(CANCEL, {"id": purchase.pk}, format="json").status_code == 404
    assert snapshot() == before


def test_cancel_after_approve_is_409(world, purchase, make_client):
    put_stock(world, world.wh_a, 10)
    assert make_client(world.staff_a).post(APPROVE, {"id": purchase.pk, "decision": "approve"},
                                          format="json").status_code == 200
    before = snapshot()
    response = make_client(world.viewer).post(CANCEL, {"id": purchase.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "not_pending"
    assert snapshot() == before


def test_a_cancelled_request_cannot_be_approved_or_cancelled_again(world, purchase, make_client):
    put_stock(world, world.wh_a, 10)
    assert make_client(world.viewer).post(CANCEL, {"id": purchase.pk}, format="json").status_code == 200
    assert make_client(world.viewer).post(CANCEL, {"id": purchase.pk}, format="json").status_code == 409
    response = make_client(world.admin).post(APPROVE, {"id": purchase.pk, "decision": "approve"}, format="json")
    assert response.status_code == 409
    assert quantity_of(world.wh_a, world.product) == 10


@pytest.mark.parametrize("body", [{}, {"id": "x"}, {"id": 10**30}, {"id": -1}])
def test_bad_cancel_input_is_a_400(world, purchase, body, make_client):
    before = snapshot()
    assert make_client(world.viewer).post(CANCEL, body, format="json").status_code == 400
    assert snapshot() == before


def test_get_on_action_endpoints_is_405(world, make_client):
    assert make_client(world.admin).get(APPROVE).status_code == 405
    assert make_client(world.admin).get(CANCEL).status_code == 405
