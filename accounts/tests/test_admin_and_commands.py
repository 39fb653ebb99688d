"""Django admin pages, `createsuperuser` and `seed_roles`."""

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import AuditEvent, Role, User
from accounts.tests.factories import PASSWORD, UserFactory


def test_createsuperuser_yields_an_active_admin(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Sup3r-Secret-Phrase!")
    call_command("createsuperuser", interactive=False, username="root", email="root@example.com", verbosity=0)
    user = User.objects.get(username="root")
    assert user.role.name == Role.Name.ADMIN
    assert user.status == User.Status.ACTIVE
    assert user.is_active and user.is_superuser
    assert user.check_password("Sup3r-Secret-Phrase!")


def test_seed_roles_is_idempotent(db):
    call_command("seed_roles", verbosity=0)
    call_command("seed_roles", verbosity=0)
    assert sorted(Role.objects.values_list("name", flat=True)) == sorted(Role.Name.values)


@pytest.fixture
def admin_site(db):
    superuser = UserFactory(admin=True, is_superuser=True, is_staff=True, username="root")
    client = Client()
    assert client.login(username="root", password=PASSWORD)
    return client, superuser


@pytest.mark.parametrize("path", ["accounts/user/", "accounts/role/", "accounts/userprofile/", "accounts/auditevent/",
                                  "accounts/managerpromotionrequest/", "accounts/user/?q=root&status__exact=active"])
def test_admin_changelists_render(admin_site, path):
    client, _ = admin_site
    assert client.get(f"/admin/{path}").status_code == 200


def test_admin_user_change_page_renders(admin_site):
    client, superuser = admin_site
    assert client.get(f"/admin/accounts/user/{superuser.pk}/change/").status_code == 200


def test_audit_events_cannot_be_added_changed_or_deleted_in_the_admin(admin_site):
    client, superuser = admin_site
    event = AuditEvent.objects.create(actor=superuser, action="x.y", target="user:1")
    assert client.get("/admin/accounts/auditevent/add/").status_code == 403
    assert client.post(f"/admin/accounts/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(f"/admin/accounts/auditevent/{event.pk}/change/", {"action": "tampered"})
    event.refresh_from_db()
    assert event.action == "x.y"


def test_inactive_users_cannot_log_into_the_admin(db):
    UserFactory(admin=True, is_superuser=True, is_staff=True, username="gone", status=User.Status.DISMISSED)
    assert not Client().login(username="gone", password=PASSWORD)


def test_admin_adds_a_user_with_a_role_and_status(admin_site):
    client, _ = admin_site
    assert client.get("/admin/accounts/user/add/").status_code == 200
    response = client.post("/admin/accounts/user/add/", {
        "username": "clerk", "password1": "Another-Strong-Pass-7", "password2": "Another-Strong-Pass-7",
        "usable_password": "true", "role": Role.get(Role.Name.VIEWER).pk, "status": "active", "warehouse": "",
    })
    assert response.status_code == 302, response.content[:2000]
    user = User.objects.get(username="clerk")
    assert user.role.name == Role.Name.VIEWER
    assert user.is_active


def _change_user_in_admin(client, user, **changes):
    data = {"username": user.username, "first_name": user.first_name, "last_name": user.last_name,
            "email": user.email, "role": user.role_id, "status": user.status, "warehouse": user.warehouse_id or "",
            **changes}
    return client.post(f"/admin/accounts/user/{user.pk}/change/", data)


def test_dismissing_a_manager_in_the_admin_is_audited_and_has_the_apis_effects(admin_site):
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts import services
    from warehouses.tests.factories import WarehouseFactory

    client, superuser = admin_site
    manager = UserFactory(manager=True, username="boss")
    warehouse = WarehouseFactory(code="DX", manager=manager)
    refresh = str(RefreshToken.for_user(manager))
    response = _change_user_in_admin(client, manager, status=User.Status.DISMISSED)
    assert response.status_code == 302, response.content[:2000]
    event = AuditEvent.objects.get(action="user.admin_change", target=f"user:{manager.pk}")
    assert event.actor == superuser
    assert event.data["fields"] == ["status"] and event.data["status"] == "dismissed"
    warehouse.refresh_from_db()
    assert warehouse.manager is None
    with pytest.raises(services.InvalidToken):
        services.rotate_refresh_token(token=refresh)


def test_a_role_change_in_the_admin_is_audited(admin_site):
    client, _ = admin_site
    staff = UserFactory(staff=True, username="clerk2")
    response = _change_user_in_admin(client, staff, role=Role.get(Role.Name.MANAGER).pk)
    assert response.status_code == 302, response.content[:2000]
    event = AuditEvent.objects.get(action="user.admin_change", target=f"user:{staff.pk}")
    assert event.data["fields"] == ["role"] and event.data["role"] == Role.Name.MANAGER


def test_adding_a_user_in_the_admin_is_audited(admin_site):
    client, _ = admin_site
    client.post("/admin/accounts/user/add/", {
        "username": "clerk3", "password1": "Another-Strong-Pass-7", "password2": "Another-Strong-Pass-7",
        "usable_password": "true", "role": Role.get(Role.Name.VIEWER).pk, "status": "active", "warehouse": "",
    })
    user = User.objects.get(username="clerk3")
    assert AuditEvent.objects.filter(action="user.admin_create", target=f"user:{user.pk}").exists()
