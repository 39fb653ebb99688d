"""Promotion requests: create, list, decide (API and services)."""

import pytest

from accounts.models import AuditEvent, ManagerPromotionRequest, Role, User
from accounts.services import request_staff_promotion
from accounts.tests.factories import UserFactory
from core.errors import AlreadyPending

CREATE = "/api/managers/request-staff-promotion/"
LIST = "/api/promotion-requests/"
DECIDE = "/api/promotion-requests/approve/"
FIELDS = {"id", "user", "requested_by", "reason", "status", "decided_by", "decision_reason", "created_at",
          "decided_at"}


def promotions_snapshot():
    return list(ManagerPromotionRequest.objects.order_by("pk").values())


@pytest.fixture
def promotion(world):
    return request_staff_promotion(actor=world.manager_a, user=world.staff_a, reason="reliable")


# --- create --------------------------------------------------------------------------------------


def test_manager_requests_a_promotion_for_their_staff(world, make_client):
    response = make_client(world.manager_a).post(CREATE, {"user": world.staff_a.pk, "reason": "reliable"},
                                                 format="json")
    assert response.status_code == 201, response.data
    assert set(response.data) == FIELDS
    assert response.data["status"] == "pending"
    assert response.data["user"] == world.staff_a.pk
    assert response.data["requested_by"] == world.manager_a.pk
    assert response.data["decided_by"] is None
    assert AuditEvent.objects.filter(action="promotion.request", actor=world.manager_a).exists()


def test_admin_requests_a_promotion_for_any_active_staff(world, make_client):
    response = make_client(world.admin).post(CREATE, {"user": world.staff_b.pk, "reason": "x"}, format="json")
    assert response.status_code == 201


def test_manager_cannot_request_a_promotion_for_another_warehouses_staff(world, make_client):
    response = make_client(world.manager_a).post(CREATE, {"user": world.staff_b.pk, "reason": "x"}, format="json")
    assert response.status_code == 400  # out of scope: treated as an unknown id
    assert not ManagerPromotionRequest.objects.exists()


@pytest.mark.parametrize("who", ["staff_a", "viewer"])
def test_staff_and_viewers_cannot_request_promotions(world, make_client, who):
    response = make_client(getattr(world, who)).post(CREATE, {"user": world.staff_a.pk, "reason": "x"},
                                                     format="json")
    assert response.status_code == 403
    assert not ManagerPromotionRequest.objects.exists()


def test_a_second_pending_request_for_the_same_user_is_409(world, make_client, promotion):
    response = make_client(world.admin).post(CREATE, {"user": world.staff_a.pk, "reason": "again"}, format="json")
    assert response.status_code == 409
    assert response.data["code"] == "already_pending"
    assert ManagerPromotionRequest.objects.count() == 1


@pytest.mark.parametrize("target", ["viewer", "manager_b", "pending_staff", "dismissed_staff"])
def test_only_active_staff_can_be_proposed(world, make_client, target):
    if target == "pending_staff":
        user = UserFactory(staff=True, warehouse=world.wh_a, status=User.Status.PENDING)
    elif target == "dismissed_staff":
        user = UserFactory(staff=True, warehouse=world.wh_a, status=User.Status.DISMISSED)
    else:
        user = getattr(world, target)
    response = make_client(world.admin).post(CREATE, {"user": user.pk, "reason": "x"}, format="json")
    assert response.status_code == 400
    assert response.data["code"] == "not_eligible"
    assert not ManagerPromotionRequest.objects.exists()


@pytest.mark.parametrize("body", [{"user": 999999, "reason": "x"}, {"user": 10**30, "reason": "x"},
                                  {"reason": "x"}, {"user": 1}, {"user": 1, "reason": "x", "status": "approved"}])
def test_bad_promotion_input_is_400(world, make_client, body):
    assert make_client(world.admin).post(CREATE, body, format="json").status_code == 400
    assert not ManagerPromotionRequest.objects.exists()


def test_the_database_refuses_a_second_pending_request_even_past_the_check(world, promotion, monkeypatch):
    """The partial unique constraint is the last line: a lost race becomes AlreadyPending, not a 500."""
    from django.db.models import QuerySet

    real_exists = QuerySet.exists

    def blind_exists(self):
        if self.model is ManagerPromotionRequest:
            return False  # simulate the other transaction not being visible yet
        return real_exists(self)

    monkeypatch.setattr(QuerySet, "exists", blind_exists)
    with pytest.raises(AlreadyPending):
        request_staff_promotion(actor=world.admin, user=world.staff_a, reason="race")
    assert ManagerPromotionRequest.objects.count() == 1


# --- list ----------------------------------------------------------------------------------------


def test_admin_lists_all_promotion_requests_and_manager_only_their_own(world, make_client, promotion):
    other = request_staff_promotion(actor=world.manager_b, user=world.staff_b, reason="x")
    response = make_client(world.admin).get(LIST)
    assert response.status_code == 200
    assert {row["id"] for row in response.data["results"]} == {promotion.pk, other.pk}
    response = make_client(world.manager_a).get(LIST)
    assert [row["id"] for row in response.data["results"]] == [promotion.pk]


def test_promotion_requests_filter_by_status(world, make_client, promotion):
    client = make_client(world.admin)
    assert client.get(f"{LIST}?status=pending").data["count"] == 1
    assert client.get(f"{LIST}?status=approved").data["count"] == 0
    assert client.get(f"{LIST}?status=bogus").status_code == 400


@pytest.mark.parametrize("who", ["staff_a", "viewer"])
def test_staff_and_viewers_cannot_list_promotion_requests(world, make_client, promotion, who):
    assert make_client(getattr(world, who)).get(LIST).status_code == 403


# --- decide --------------------------------------------------------------------------------------


def test_admin_approves_a_promotion_and_the_user_becomes_manager(world, make_client, promotion):
    staff_client = make_client(world.staff_a)
    assert staff_client.get("/api/users/").status_code == 403
    response = make_client(world.admin).post(DECIDE, {"id": promotion.pk, "decision": "approve", "reason": "ok"},
                                             format="json")
    assert response.status_code == 200, response.data
    assert response.data["status"] == "approved"
    assert response.data["decided_by"] == world.admin.pk
    assert response.data["decision_reason"] == "ok"
    assert response.data["decided_at"] is not None
    world.staff_a.refresh_from_db()
    assert world.staff_a.role.name == Role.Name.MANAGER
    assert world.staff_a.warehouse == world.wh_a  # the warehouse they last belonged to
    # The role is read per request: the same token now has manager rights.
    assert staff_client.get("/api/users/").status_code == 200
    assert AuditEvent.objects.filter(action="promotion.approve", target=f"managerpromotionrequest:{promotion.pk}")


def test_admin_rejects_a_promotion_and_the_role_stays(world, make_client, promotion):
    response = make_client(world.admin).post(DECIDE, {"id": promotion.pk, "decision": "reject"}, format="json")
    assert response.status_code == 200
    assert response.data["status"] == "rejected"
    world.staff_a.refresh_from_db()
    assert world.staff_a.role.name == Role.Name.STAFF


def test_deciding_a_decided_promotion_is_409(world, make_client, promotion):
    client = make_client(world.admin)
    client.post(DECIDE, {"id": promotion.pk, "decision": "reject"}, format="json")
    before = promotions_snapshot()
    response = client.post(DECIDE, {"id": promotion.pk, "decision": "approve"}, format="json")
    assert response.status_code == 409
    assert response.data["code"] == "not_pending"
    assert promotions_snapshot() == before
    world.staff_a.refresh_from_db()
    assert world.staff_a.role.name == Role.Name.STAFF


def test_approving_a_promotion_for_a_user_dismissed_meanwhile_is_refused(world, make_client, promotion):
    User.objects.filter(pk=world.staff_a.pk).update(status=User.Status.DISMISSED)
    before = promotions_snapshot()
    response = make_client(world.admin).post(DECIDE, {"id": promotion.pk, "decision": "approve"}, format="json")
    assert response.status_code == 400
    assert response.data["code"] == "not_eligible"
    assert promotions_snapshot() == before


@pytest.mark.parametrize("who", ["manager_a", "staff_a", "viewer"])
def test_only_admins_decide_promotions(world, make_client, promotion, who):
    before = promotions_snapshot()
    response = make_client(getattr(world, who)).post(DECIDE, {"id": promotion.pk, "decision": "approve"},
                                                     format="json")
    assert response.status_code == 403
    assert promotions_snapshot() == before


@pytest.mark.parametrize("body", [{"id": 999999, "decision": "approve"}, {"id": 10**30, "decision": "approve"},
                                  {"decision": "approve"}, {"id": "x", "decision": "approve"},
                                  {"id": 1, "decision": "perhaps"}])
def test_bad_promotion_decision_input_is_400(world, make_client, promotion, body):
    before = promotions_snapshot()
    assert make_client(world.admin).post(DECIDE, body, format="json").status_code == 400
    assert promotions_snapshot() == before


def test_promotion_request_honours_an_idempotency_key(world, make_client):
    client = make_client(world.manager_a)
    body = {"user": world.staff_a.pk, "reason": "reliable"}
    first = client.post(CREATE, body, format="json", HTTP_IDEMPOTENCY_KEY="promo-1")
    again = client.post(CREATE, body, format="json", HTTP_IDEMPOTENCY_KEY="promo-1")
    assert first.status_code == again.status_code == 201
    assert again.data == first.data
    assert again["Idempotent-Replayed"] == "true"
    assert ManagerPromotionRequest.objects.count() == 1
    reused = client.post(CREATE, {**body, "reason": "other"}, format="json", HTTP_IDEMPOTENCY_KEY="promo-1")
    assert reused.status_code == 409
    assert reused.data["code"] == "idempotency_key_reused"
