"""Every change of a user's role, status (`is_active` follows it) or warehouse announces `AccessChanged(user)`
once, in its transaction, after the user row is saved: registration and its decision, promotion, dismissal,
demotion and the admin's user changes. A refused change announces nothing.
"""

import pytest
from django.test import Client

from accounts.events import AccessChanged
from accounts.models import Role, User
from accounts.services import decide_promotion_request, decide_registration, request_staff_promotion
from accounts.tests.factories import PASSWORD, UserFactory
from core.errors import NotEligible, NotPending, PermissionDenied
from core.tests.recording import recording
from warehouses import staffing

pytestmark = pytest.mark.django_db


@pytest.fixture
def seen():
    with recording(AccessChanged) as recorded:
        yield recorded


def access(seen):
    """`[(user pk, role name, status, is_active, warehouse id)]` as the database held each user row at its emit."""
    roles = dict(Role.objects.values_list("pk", "name"))
    return [(s.subject.pk, roles[s.row["role_id"]], s.row["status"], s.row["is_active"], s.row["warehouse_id"])
            for s in seen]


@pytest.mark.parametrize(("decision", "status", "active"), [("approve", "active", True),
                                                             ("reject", "rejected", False)])
def test_deciding_a_registration_is_announced_once(world, seen, pending_staff, decision, status, active):
    decide_registration(actor=world.manager_a, user=pending_staff, decision=decision)
    assert access(seen) == [(pending_staff.pk, "staff", status, active, world.wh_a.pk)]
    assert seen[0].in_transaction


def test_approving_a_promotion_is_announced_and_rejecting_one_is_not(world, seen):
    first = request_staff_promotion(actor=world.manager_a, user=world.staff_a, reason="reliable")
    second = request_staff_promotion(actor=world.manager_b, user=world.staff_b, reason="maybe")
    assert seen == []  # asking changes nobody's access
    decide_promotion_request(actor=world.admin, promotion_id=second.pk, decision="reject")
    decide_promotion_request(actor=world.admin, promotion_id=first.pk, decision="approve")
    assert access(seen) == [(world.staff_a.pk, "manager", "active", True, world.wh_a.pk)]


def test_refused_account_decisions_announce_nothing(world, seen, pending_staff, pending_viewer):
    with pytest.raises(PermissionDenied):  # the manager of another warehouse
        decide_registration(actor=world.manager_b, user=pending_staff, decision="approve")
    decide_registration(actor=world.admin, user=pending_viewer, decision="reject")
    with pytest.raises(NotPending):
        decide_registration(actor=world.admin, user=pending_viewer, decision="approve")
    promotion = request_staff_promotion(actor=world.admin, user=world.staff_a, reason="x")
    with pytest.raises(PermissionDenied):
        decide_promotion_request(actor=world.manager_a, promotion_id=promotion.pk, decision="approve")
    staffing.dismiss_user(actor=world.admin, user=world.staff_a, reason="left")
    seen.clear()
    with pytest.raises(NotEligible):  # no longer active staff
        decide_promotion_request(actor=world.admin, promotion_id=promotion.pk, decision="approve")
    assert seen == []
    assert User.objects.get(pk=world.staff_a.pk).role.name == "staff"


# --- staffing (warehouses.staffing) -----------------------------------------------------------------

def test_a_registration_is_announced_with_its_pending_account(world, seen):
    user = staffing.register_user(username="newbie", email="n@example.com", password=PASSWORD, role="staff",
                                  warehouse=world.wh_a)
    assert access(seen) == [(user.pk, "staff", "pending", False, world.wh_a.pk)]


def test_dismissing_is_announced_once(world, seen):
    staffing.dismiss_user(actor=world.admin, user=world.manager_a, reason="restructuring")
    assert access(seen) == [(world.manager_a.pk, "manager", "dismissed", False, None)]


def test_demoting_is_announced_once_for_the_demoted_manager(world, seen):
    staffing.demote_manager(actor=world.admin, user=world.manager_a, reason="merge", warehouse=world.wh_b,
                            reassign_to=world.manager_b)
    assert access(seen) == [(world.manager_a.pk, "staff", "active", True, world.wh_b.pk)]


def test_refused_staffing_changes_announce_nothing(world, seen):
    with pytest.raises(PermissionDenied):  # a manager dismisses only their own staff
        staffing.dismiss_user(actor=world.manager_a, user=world.staff_b, reason="x")
    with pytest.raises(PermissionDenied):  # only an admin demotes
        staffing.demote_manager(actor=world.manager_b, user=world.manager_a, reason="x", warehouse=world.wh_a)
    with pytest.raises(NotEligible):  # staff is not a manager
        staffing.demote_manager(actor=world.admin, user=world.staff_a, reason="x", warehouse=world.wh_a)
    staffing.dismiss_user(actor=world.manager_a, user=world.staff_a, reason="left")
    seen.clear()
    from accounts.errors import NotActive

    with pytest.raises(NotActive):
        staffing.dismiss_user(actor=world.admin, user=world.staff_a, reason="again")
    assert seen == []


# --- over HTTP -------------------------------------------------------------------------------------

def test_dismissal_and_demotion_over_http_are_announced_once_each(world, seen, make_client):
    admin = make_client(world.admin)
    response = admin.post("/api/staffs/dismiss/", {"user": world.staff_b.pk, "reason": "left"}, format="json")
    assert response.status_code == 200, response.content
    assert admin.post("/api/staffs/dismiss/", {"user": world.staff_b.pk, "reason": "left"},
                      format="json").status_code == 409
    assert make_client(world.manager_a).post("/api/admin/demote-manager/", {
        "user": world.manager_b.pk, "reason": "x", "warehouse": world.wh_b.pk}, format="json").status_code == 403
    response = admin.post("/api/admin/demote-manager/", {"user": world.manager_b.pk, "reason": "x",
                                                         "warehouse": world.wh_b.pk}, format="json")
    assert response.status_code == 200, response.content
    assert access(seen) == [(world.staff_b.pk, "staff", "dismissed", False, world.wh_b.pk),
                            (world.manager_b.pk, "staff", "active", True, world.wh_b.pk)]


def test_a_registration_over_http_is_announced_once_and_a_refused_one_not_at_all(world, seen, anon):
    body = {"username": "newbie", "email": "newbie@example.com", "password": "Correct-Horse-Battery-9"}
    response = anon.post("/api/auth/register/", body, format="json")
    assert response.status_code == 201, response.content
    assert anon.post("/api/auth/register/", body, format="json").status_code == 400  # taken
    assert access(seen) == [(response.json()["id"], "viewer", "pending", False, None)]


# --- the Django admin ------------------------------------------------------------------------------

@pytest.fixture
def admin_site(db):
    UserFactory(admin=True, is_superuser=True, is_staff=True, username="root")
    client = Client()
    assert client.login(username="root", password=PASSWORD)
    return client


def _change(client, user, **changes):
    data = {"username": user.username, "first_name": user.first_name, "last_name": user.last_name,
            "email": user.email, "role": user.role_id, "status": user.status, "warehouse": user.warehouse_id or "",
            **changes}
    return client.post(f"/admin/accounts/user/{user.pk}/change/", data)


def test_the_admins_user_changes_are_announced_once_each(admin_site, seen):
    manager = UserFactory(manager=True, username="boss")
    clerk = UserFactory(viewer=True, username="clerk")
    assert _change(admin_site, manager, status=User.Status.DISMISSED).status_code == 302
    assert _change(admin_site, clerk, role=Role.get(Role.Name.MANAGER).pk).status_code == 302
    assert _change(admin_site, clerk.__class__.objects.get(pk=clerk.pk), first_name="Clara").status_code == 302
    response = admin_site.post("/admin/accounts/user/add/", {
        "username": "clerk3", "password1": "Another-Strong-Pass-7", "password2": "Another-Strong-Pass-7",
        "usable_password": "true", "role": Role.get(Role.Name.VIEWER).pk, "status": "active", "warehouse": "",
    })
    assert response.status_code == 302, response.content[:2000]
    added = User.objects.get(username="clerk3")
    # A change of the name only is not an access change: nothing is announced for it.
    assert access(seen) == [(manager.pk, "manager", "dismissed", False, None),
                            (clerk.pk, "manager", "active", True, None),
                            (added.pk, "viewer", "active", True, None)]
