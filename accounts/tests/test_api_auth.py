"""Register, login, refresh and logout."""

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import AuditEvent, Role, User, UserProfile
from accounts.tests.factories import PASSWORD, UserFactory
from warehouses import staffing

REGISTER = "/api/auth/register/"
LOGIN = "/api/auth/login/"
REFRESH = "/api/auth/refresh/"
LOGOUT = "/api/auth/logout/"
GOOD_PASSWORD = "Correct-Horse-Battery-9"


def register_body(**overrides):
    body = {"username": "newbie", "email": "newbie@example.com", "password": GOOD_PASSWORD}
    body.update(overrides)
    return body


# --- register -------------------------------------------------------------------------------------


def test_anyone_can_register_as_a_pending_viewer_by_default(world, anon):
    response = anon.post(REGISTER, register_body(), format="json")
    assert response.status_code == 201, response.data
    assert set(response.data) == {"id", "username", "email", "first_name", "last_name", "role", "status",
                                  "warehouse", "date_joined"}
    assert response.data["role"] == Role.Name.VIEWER
    assert response.data["status"] == "pending"
    assert response.data["warehouse"] is None
    user = User.objects.get(username="newbie")
    assert not user.is_active
    assert user.check_password(GOOD_PASSWORD)
    assert UserProfile.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(action="user.register", target=f"user:{user.pk}").exists()


def test_staff_registration_records_the_requested_warehouse(world, anon):
    response = anon.post(REGISTER, register_body(role=Role.Name.STAFF, warehouse=world.wh_a.pk), format="json")
    assert response.status_code == 201, response.data
    assert response.data["role"] == Role.Name.STAFF
    assert response.data["warehouse"] == world.wh_a.pk


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"role": Role.Name.STAFF}, "warehouse"),
        ({"role": Role.Name.ADMIN}, "role"),
        ({"role": Role.Name.MANAGER}, "role"),
        ({"role": Role.Name.STAFF, "warehouse": 999999}, "warehouse"),
        ({"role": Role.Name.STAFF, "warehouse": 10**30}, "warehouse"),
        ({"role": Role.Name.STAFF, "warehouse": "abc"}, "warehouse"),
        ({"password": "password"}, "password"),
        ({"password": "12345678901"}, "password"),
        ({"password": "newbie1"}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"username": "bad name!"}, "username"),
        ({"username": "x" * 151}, "username"),
        ({"status": "active"}, "status"),
        ({"is_staff": True}, "is_staff"),
        ({"is_superuser": True}, "is_superuser"),
        ({"favourite_colour": "red"}, "favourite_colour"),
    ],
)
def test_register_rejects_bad_input_and_creates_nothing(world, anon, overrides, field):
    before = User.objects.count()
    response = anon.post(REGISTER, register_body(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.data
    assert User.objects.count() == before
    assert not AuditEvent.objects.filter(action="user.register").exists()


def test_schema_says_strict_request_bodies_refuse_unknown_keys(world, anon):
    schemas = anon.get("/api/schema/?format=json").json()["components"]["schemas"]
    for name in ("RegisterRequest", "LoginRequest", "PatchedProfileUpdateRequest", "DismissRequest"):
        assert schemas[name]["additionalProperties"] is False, name
    assert "additionalProperties" not in schemas["User"]  # responses are not affected


def test_register_refuses_a_staff_registration_for_an_inactive_warehouse(world, anon):
    world.wh_b.is_active = False
    world.wh_b.save()
    response = anon.post(REGISTER, register_body(role=Role.Name.STAFF, warehouse=world.wh_b.pk), format="json")
    assert response.status_code == 400
    assert "warehouse" in response.data


def test_viewer_registration_may_not_name_a_warehouse(world, anon):
    response = anon.post(REGISTER, register_body(warehouse=world.wh_a.pk), format="json")
    assert response.status_code == 400
    assert "warehouse" in response.data


def test_username_and_email_are_unique_case_insensitively(world, anon):
    response = anon.post(REGISTER, register_body(username="STAFF_A"), format="json")
    assert response.status_code == 400
    assert "already exists" in str(response.data["username"])
    response = anon.post(REGISTER, register_body(email="Staff_A@Example.com"), format="json")
    assert response.status_code == 400
    assert "already exists" in str(response.data["email"])
    assert not User.objects.filter(username="newbie").exists()


def test_register_ignores_any_token_and_answers_malformed_json_with_400(world, anon):
    response = anon.post(REGISTER, data="{not json", content_type="application/json")
    assert response.status_code == 400
    anon.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    response = anon.post(REGISTER, register_body(), format="json")
    assert response.status_code == 201


def test_register_service_turns_a_lost_unique_race_into_a_duplicate_error(world):
    """The database's Lower() unique constraint is the final word when two registrations race."""
    from core.errors import DomainError

    # Bypass the pre-check by registering a name that only collides after lowering.
    User.objects.filter(pk=world.viewer.pk).update(username="RaceName")
    with pytest.raises(DomainError) as info:
        staffing.register_user(username="racename", email="x@example.com", password=GOOD_PASSWORD,
                               role=Role.Name.VIEWER, warehouse=None)
    assert info.value.code == "duplicate_account"


# --- login ----------------------------------------------------------------------------------------


def test_active_user_logs_in_case_insensitively_and_gets_a_token_pair(world, anon):
    response = anon.post(LOGIN, {"username": "STAFF_A", "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.data
    assert set(response.data) == {"access", "refresh", "user"}
    assert response.data["user"]["username"] == "staff_a"
    world.staff_a.refresh_from_db()
    assert world.staff_a.last_login is not None
    assert AuditEvent.objects.get(action="user.login").actor == world.staff_a
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {response.data['access']}")
    assert anon.get("/api/profile/").status_code == 200


@pytest.mark.parametrize("username, password", [("staff_a", "wrong-password"), ("nobody", PASSWORD)])
def test_wrong_credentials_are_401_invalid_credentials(world, anon, username, password):
    response = anon.post(LOGIN, {"username": username, "password": password}, format="json")
    assert response.status_code == 401
    assert response.data == {"detail": "Invalid username or password.", "code": "invalid_credentials"}
    assert not AuditEvent.objects.filter(action="user.login").exists()


@pytest.mark.parametrize("status", ["pending", "rejected", "dismissed"])
def test_right_password_on_an_inactive_account_is_403_with_its_state(world, anon, status):
    UserFactory(username="sleepy", status=status)
    response = anon.post(LOGIN, {"username": "sleepy", "password": PASSWORD}, format="json")
    assert response.status_code == 403
    assert response.data["code"] == f"account_{status}"


def test_wrong_password_on_an_inactive_account_does_not_reveal_its_state(world, anon):
    UserFactory(username="sleepy", status="pending")
    response = anon.post(LOGIN, {"username": "sleepy", "password": "nope"}, format="json")
    assert response.status_code == 401
    assert response.data["code"] == "invalid_credentials"


@pytest.mark.parametrize("body", [{}, {"username": "staff_a"}, {"username": ["a"], "password": PASSWORD},
                                  {"username": "staff_a", "password": PASSWORD, "extra": 1}])
def test_login_with_malformed_input_is_400(world, anon, body):
    assert anon.post(LOGIN, body, format="json").status_code == 400


# --- refresh --------------------------------------------------------------------------------------


def test_refresh_rotates_the_token_and_blacklists_the_old_one(world, anon):
    old = str(RefreshToken.for_user(world.staff_a))
    response = anon.post(REFRESH, {"refresh": old}, format="json")
    assert response.status_code == 200, response.data
    assert set(response.data) == {"access", "refresh"}
    assert response.data["refresh"] != old
    again = anon.post(REFRESH, {"refresh": old}, format="json")
    assert again.status_code == 401
    assert set(again.data) == {"detail", "code"}
    assert again.data["code"] == "token_not_valid"
    assert anon.post(REFRESH, {"refresh": response.data["refresh"]}, format="json").status_code == 200


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
def test_refresh_with_a_bad_token_is_401_or_400(world, anon, token):
    response = anon.post(REFRESH, {"refresh": token}, format="json")
    assert response.status_code in (400, 401)
    if response.status_code == 401:
        assert set(response.data) == {"detail", "code"}


def test_refresh_with_an_access_token_is_refused(world, anon):
    access = str(RefreshToken.for_user(world.staff_a).access_token)
    response = anon.post(REFRESH, {"refresh": access}, format="json")
    assert response.status_code == 401
    assert response.data["code"] == "token_not_valid"


def test_refresh_is_refused_once_the_user_is_no_longer_active(world, anon):
    token = str(RefreshToken.for_user(world.staff_a))
    world.staff_a.status = User.Status.REJECTED
    world.staff_a.save()
    response = anon.post(REFRESH, {"refresh": token}, format="json")
    assert response.status_code == 401
    assert response.data["code"] == "no_active_account"


def test_refresh_for_a_deleted_user_is_401_not_500(world, anon):
    ghost = UserFactory(username="ghost")
    token = str(RefreshToken.for_user(ghost))
    OutstandingToken.objects.filter(user=ghost).delete()
    ghost.delete()
    assert anon.post(REFRESH, {"refresh": token}, format="json").status_code == 401


# --- logout ---------------------------------------------------------------------------------------


def test_logout_blacklists_the_callers_refresh_token(world, make_client, anon):
    token = str(RefreshToken.for_user(world.staff_a))
    response = make_client(world.staff_a).post(LOGOUT, {"refresh": token}, format="json")
    assert response.status_code == 204
    assert BlacklistedToken.objects.filter(token__jti=RefreshToken(token, verify=False)["jti"]).exists()
    assert anon.post(REFRESH, {"refresh": token}, format="json").status_code == 401
    assert AuditEvent.objects.filter(action="user.logout", actor=world.staff_a).exists()


def test_logout_with_another_users_token_is_403_and_leaves_it_usable(world, make_client, anon):
    token = str(RefreshToken.for_user(world.staff_b))
    response = make_client(world.staff_a).post(LOGOUT, {"refresh": token}, format="json")
    assert response.status_code == 403
    assert response.data["code"] == "permission_denied"
    assert not BlacklistedToken.objects.exists()
    assert anon.post(REFRESH, {"refresh": token}, format="json").status_code == 200


def test_logout_needs_authentication(world, anon):
    token = str(RefreshToken.for_user(world.staff_a))
    response = anon.post(LOGOUT, {"refresh": token}, format="json")
    assert response.status_code == 401
    assert not BlacklistedToken.objects.exists()


def test_logout_with_a_malformed_token_is_400(world, make_client):
    response = make_client(world.staff_a).post(LOGOUT, {"refresh": "garbage"}, format="json")
    assert response.status_code == 400
    assert response.data["code"] == "token_not_valid"


def test_login_runs_the_password_hasher_even_for_an_unknown_username(world, anon, settings):
    """Same work for a missing user as for a wrong password, so timing does not reveal which usernames exist."""
    from accounts.tests.hashers import CountingHasher

    settings.PASSWORD_HASHERS = ["accounts.tests.hashers.CountingHasher"]
    UserFactory(username="counted")  # hashed with the counting hasher
    CountingHasher.calls = 0
    assert anon.post(LOGIN, {"username": "counted", "password": "wrong"}, format="json").status_code == 401
    wrong_password_calls = CountingHasher.calls
    CountingHasher.calls = 0
    assert anon.post(LOGIN, {"username": "nobody-at-all", "password": "wrong"}, format="json").status_code == 401
    assert CountingHasher.calls == wrong_password_calls >= 1
