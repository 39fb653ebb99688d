"""Registration decisions, dismissals and demotions."""

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import AuditEvent, Role, User
from accounts.tests.conftest import snapshot
from accounts.tests.factories import UserFactory
from warehouses.models import Warehouse
from warehouses.tests.factories import WarehouseFactory

APPROVE = "/api/staffs/approve/"
DISMISS = "/api/staffs/dismiss/"
DEMOTE = "/api/admin/demote-manager/"


# --- approve / reject registrations --------------------------------------------------------------


def test_manager_of_the_requested_warehouse_approves_a_staff_registration(world, make_client, pending_staff):
    response = make_client(world.manager_a).post(APPROVE, {"user": pending_staff.pk, "decision": "approve"},
                                                 format="json")
    assert response.status_code == 200, response.data
    assert response.data["status"] == "active"
    pending_staff.refresh_from_db()
    assert pending_staff.is_active
    event = AuditEvent.objects.get(action="user.approve")
    assert event.actor == world.manager_a
    assert event.target == f"user:{pending_staff.pk}"


def test_approved_user_can_log_in(world, make_client, anon, pending_staff):
    make_client(world.admin).post(APPROVE, {"user": pending_staff.pk, "decision": "approve"}, format="json")
    response = anon.post("/api/auth/login/", {"username": "pending_staff", "password": "Str0ng-pass-phrase!"},
                         format="json")
    assert response.status_code == 200


def test_rejecting_a_registration_records_the_reason(world, make_client, pending_staff):
    response = make_client(world.admin).post(
        APPROVE, {"user": pending_staff.pk, "decision": "reject", "reason": "unknown person"}, format="json")
    assert response.status_code == 200
    assert response.data["status"] == "rejected"
    assert AuditEvent.objects.get(action="user.reject").data["reason"] == "unknown person"


def test_any_manager_may_approve_a_viewer_registration(world, make_client, pending_viewer):
    response = make_client(world.manager_b).post(APPROVE, {"user": pending_viewer.pk, "decision": "approve"},
                                                 format="json")
    assert response.status_code == 200
    assert response.data["status"] == "active"


def test_manager_cannot_approve_another_warehouses_staff_registration(world, make_client, pending_staff):
    users = snapshot(User)
    response = make_client(world.manager_b).post(APPROVE, {"user": pending_staff.pk, "decision": "approve"},
                                                 format="json")
    # Out of the manager's scope: the id is treated as unknown (ids do not leak).
    assert response.status_code == 400
    assert "user" in response.data
    assert snapshot(User) == users


@pytest.mark.parametrize("who", ["staff_a", "viewer"])
def test_staff_and_viewers_cannot_decide_registrations(world, make_client, pending_viewer, who):
    response = make_client(getattr(world, who)).post(APPROVE, {"user": pending_viewer.pk, "decision": "approve"},
                                                     format="json")
    assert response.status_code == 403
    assert response.data["code"] == "permission_denied"
    pending_viewer.refresh_from_db()
    assert pending_viewer.status == "pending"


def test_deciding_an_already_decided_registration_is_409(world, make_client, pending_viewer):
    client = make_client(world.admin)
    client.post(APPROVE, {"user": pending_viewer.pk, "decision": "reject"}, format="json")
    response = client.post(APPROVE, {"user": pending_viewer.pk, "decision": "approve"}, format="json")
    assert response.status_code == 409
    assert response.data["code"] == "not_pending"
    pending_viewer.refresh_from_db()
    assert pending_viewer.status == "rejected"


@pytest.mark.parametrize("body", [{}, {"user": 999999, "decision": "approve"}, {"user": 10**30, "decision": "approve"},
                                  {"user": "x", "decision": "approve"}, {"user": 1, "decision": "maybe"},
                                  {"user": 1, "decision": "approve", "status": "active"}])
def test_bad_decision_input_is_400(world, make_client, pending_viewer, body):
    users = snapshot(User)
    assert make_client(world.admin).post(APPROVE, body, format="json").status_code == 400
    assert snapshot(User) == users


# --- dismiss -------------------------------------------------------------------------------------


def test_manager_dismisses_their_staff_and_every_refresh_token_is_blacklisted(world, make_client, anon):
    tokens = [str(RefreshToken.for_user(world.staff_a)) for _ in range(2)]
    staff_client = make_client(world.staff_a)
    assert staff_client.get("/api/profile/").status_code == 200
    response = make_client(world.manager_a).post(DISMISS, {"user": world.staff_a.pk, "reason": "left"},
                                                 format="json")
    assert response.status_code == 200, response.data
    assert response.data["status"] == "dismissed"
    world.staff_a.refresh_from_db()
    assert not world.staff_a.is_active
    assert BlacklistedToken.objects.filter(token__user=world.staff_a).count() == OutstandingToken.objects.filter(
        user=world.staff_a).count() >= 2
    for token in tokens:
        assert anon.post("/api/auth/refresh/", {"refresh": token}, format="json").status_code == 401
    # The access token issued before the dismissal stops working at once.
    response = staff_client.get("/api/profile/")
    assert response.status_code == 401
    assert set(response.data) == {"detail", "code"}
    assert AuditEvent.objects.get(action="user.dismiss").data["reason"] == "left"


def test_dismissed_users_history_stays(world, make_client, pending_viewer):
    make_client(world.staff_a).patch("/api/profile/", {"bio": "hello"}, format="json")
    make_client(world.manager_a).post(DISMISS, {"user": world.staff_a.pk, "reason": "left"}, format="json")
    assert User.objects.filter(pk=world.staff_a.pk).exists()
    assert AuditEvent.objects.filter(actor=world.staff_a, action="user.profile_update").exists()


def test_manager_cannot_dismiss_another_warehouses_staff(world, make_client):
    response = make_client(world.manager_a).post(DISMISS, {"user": world.staff_b.pk, "reason": "x"}, format="json")
    assert response.status_code == 400  # not in the manager's scope: unknown id
    world.staff_b.refresh_from_db()
    assert world.staff_b.status == "active"


def test_manager_cannot_dismiss_a_pending_viewer_they_can_see(world, make_client, pending_viewer):
    response = make_client(world.manager_a).post(DISMISS, {"user": pending_viewer.pk, "reason": "x"}, format="json")
    assert response.status_code == 403
    assert response.data["code"] == "permission_denied"


def test_admin_dismisses_a_manager_and_their_warehouses_become_unmanaged(world, make_client):
    response = make_client(world.admin).post(DISMISS, {"user": world.manager_a.pk, "reason": "restructuring"},
                                             format="json")
    assert response.status_code == 200
    world.wh_a.refresh_from_db()
    assert world.wh_a.manager is None
    world.wh_b.refresh_from_db()
    assert world.wh_b.manager == world.manager_b


def test_admin_dismisses_a_viewer(world, make_client):
    response = make_client(world.admin).post(DISMISS, {"user": world.viewer.pk, "reason": "spam"}, format="json")
    assert response.status_code == 200


def test_nobody_dismisses_an_admin(world, make_client):
    other_admin = UserFactory(admin=True)
    response = make_client(world.admin).post(DISMISS, {"user": other_admin.pk, "reason": "coup"}, format="json")
    assert response.status_code == 403
    assert response.data["code"] == "permission_denied"
    other_admin.refresh_from_db()
    assert other_admin.status == "active"


def test_dismissing_a_user_who_is_not_active_is_409(world, make_client, pending_staff):
    response = make_client(world.admin).post(DISMISS, {"user": pending_staff.pk, "reason": "x"}, format="json")
    assert response.status_code == 409
    assert response.data["code"] == "not_active"


@pytest.mark.parametrize("who", ["staff_a", "viewer"])
def test_staff_and_viewers_cannot_dismiss(world, make_client, who):
    response = make_client(getattr(world, who)).post(DISMISS, {"user": world.staff_a.pk, "reason": "x"},
                                                     format="json")
    assert response.status_code == 403


@pytest.mark.parametrize("body", [{"user": 0}, {"reason": "x"}, {"user": "me", "reason": "x"}])
def test_bad_dismiss_input_is_400(world, make_client, body):
    users = snapshot(User)
    assert make_client(world.admin).post(DISMISS, body, format="json").status_code == 400
    assert snapshot(User) == users


# --- demote --------------------------------------------------------------------------------------


def test_admin_demotes_a_manager_to_staff_of_their_last_warehouse(world, make_client):
    User.objects.filter(pk=world.manager_a.pk).update(warehouse=world.wh_b)
    manager_client = make_client(world.manager_a)
    assert manager_client.get("/api/users/").status_code == 200
    response = make_client(world.admin).post(DEMOTE, {"user": world.manager_a.pk, "reason": "performance"},
                                             format="json")
    assert response.status_code == 200, response.data
    assert response.data["role"] == Role.Name.STAFF
    assert response.data["warehouse"] == world.wh_b.pk
    world.wh_a.refresh_from_db()
    assert world.wh_a.manager is None
    # Their existing token loses manager rights on the next request.
    response = manager_client.get("/api/users/")
    assert response.status_code == 403
    event = AuditEvent.objects.get(action="user.demote")
    assert event.data["warehouses_moved"] == [world.wh_a.pk]


def test_demotion_moves_warehouses_to_another_active_manager(world, make_client):
    response = make_client(world.admin).post(
        DEMOTE, {"user": world.manager_a.pk, "reassign_to": world.manager_b.pk, "warehouse": world.wh_b.pk,
                 "reason": "merge"}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["warehouse"] == world.wh_b.pk
    assert set(Warehouse.objects.filter(manager=world.manager_b)) == {world.wh_a, world.wh_b}


def test_demoting_a_manager_without_a_known_warehouse_asks_for_one(world, make_client):
    response = make_client(world.admin).post(DEMOTE, {"user": world.manager_a.pk, "reason": "x"}, format="json")
    assert response.status_code == 400
    assert response.data["code"] == "warehouse_required"
    world.manager_a.refresh_from_db()
    assert world.manager_a.role.name == Role.Name.MANAGER
    world.wh_a.refresh_from_db()
    assert world.wh_a.manager == world.manager_a


@pytest.mark.parametrize("reassign", ["self", "staff_b", "dismissed_manager"])
def test_reassign_to_must_be_another_active_manager(world, make_client, reassign):
    if reassign == "self":
        target = world.manager_a
    elif reassign == "staff_b":
        target = world.staff_b
    else:
        target = UserFactory(manager=True, status=User.Status.DISMISSED)
    warehouses = snapshot(Warehouse)
    response = make_client(world.admin).post(
        DEMOTE, {"user": world.manager_a.pk, "reassign_to": target.pk, "warehouse": world.wh_b.pk, "reason": "x"},
        format="json")
    assert response.status_code == 400
    assert snapshot(Warehouse) == warehouses
    world.manager_a.refresh_from_db()
    assert world.manager_a.role.name == Role.Name.MANAGER


def test_only_managers_can_be_demoted(world, make_client):
    response = make_client(world.admin).post(DEMOTE, {"user": world.staff_a.pk, "warehouse": world.wh_a.pk,
                                                      "reason": "x"}, format="json")
    assert response.status_code == 400
    assert response.data["code"] == "not_eligible"


def test_demotion_refuses_an_inactive_warehouse(world, make_client):
    closed = WarehouseFactory(is_active=False)
    response = make_client(world.admin).post(DEMOTE, {"user": world.manager_a.pk, "warehouse": closed.pk,
                                                      "reason": "x"}, format="json")
    assert response.status_code == 400


@pytest.mark.parametrize("who", ["manager_b", "staff_a", "viewer"])
def test_only_admins_demote(world, make_client, who):
    response = make_client(getattr(world, who)).post(
        DEMOTE, {"user": world.manager_a.pk, "warehouse": world.wh_a.pk, "reason": "x"}, format="json")
    assert response.status_code == 403
    world.manager_a.refresh_from_db()
    assert world.manager_a.role.name == Role.Name.MANAGER
