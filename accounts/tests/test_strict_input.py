"""Every accounts write endpoint refuses a key it does not take (unknown or read-only): 400, nothing written."""

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import AuditEvent, ManagerPromotionRequest, User, UserProfile
from accounts.tests.factories import PASSWORD, ManagerPromotionRequestFactory, UserFactory


def everything() -> dict:
    """Every row an accounts endpoint may write; equal snapshots mean nothing was written."""
    return {
        "users": list(User.objects.order_by("pk").values()),
        "profiles": list(UserProfile.objects.order_by("pk").values()),
        "audit": list(AuditEvent.objects.order_by("pk").values_list("pk", flat=True)),
        "promotions": list(ManagerPromotionRequest.objects.order_by("pk").values()),
        "outstanding": list(OutstandingToken.objects.order_by("pk").values_list("pk", flat=True)),
        "blacklisted": list(BlacklistedToken.objects.order_by("pk").values_list("pk", flat=True)),
    }


def _register(world):
    return None, "/api/auth/register/", {"username": "newcomer", "email": "new@example.com",
                                         "password": "An0ther-good-phrase!"}


def _login(world):
    return None, "/api/auth/login/", {"username": "viewer1", "password": PASSWORD}


def _refresh(world):
    return None, "/api/auth/refresh/", {"refresh": str(RefreshToken.for_user(world.viewer))}


def _logout(world):
    return world.viewer, "/api/auth/logout/", {"refresh": str(RefreshToken.for_user(world.viewer))}


def _profile(world):
    return world.viewer, "/api/profile/", {"first_name": "Vera", "bio": "hello"}


def _approve_registration(world):
    pending = UserFactory(viewer=True, status=User.Status.PENDING)
    return world.admin, "/api/staffs/approve/", {"user": pending.pk, "decision": "approve"}


def _dismiss(world):
    return world.manager_a, "/api/staffs/dismiss/", {"user": world.staff_a.pk, "reason": "leaving"}


def _request_promotion(world):
    return world.manager_a, "/api/managers/request-staff-promotion/", {"user": world.staff_a.pk, "reason": "good"}


def _decide_promotion(world):
    promotion = ManagerPromotionRequestFactory(user=world.staff_a, requested_by=world.manager_a)
    return world.admin, "/api/promotion-requests/approve/", {"id": promotion.pk, "decision": "approve"}


def _demote(world):
    return world.admin, "/api/admin/demote-manager/", {"user": world.manager_a.pk, "warehouse": world.wh_a.pk,
                                                       "reason": "restructuring"}


ENDPOINTS = {
    "register": ("post", _register),
    "login": ("post", _login),
    "refresh": ("post", _refresh),
    "logout": ("post", _logout),
    "profile-put": ("put", _profile),
    "profile-patch": ("patch", _profile),
    "approve-registration": ("post", _approve_registration),
    "dismiss": ("post", _dismiss),
    "request-promotion": ("post", _request_promotion),
    "decide-promotion": ("post", _decide_promotion),
    "demote-manager": ("post", _demote),
}
# An unknown key, and keys clients see in representations but never set (mass-assignment attempts).
EXTRA_KEYS = {"nickname": "x", "actor": 999, "created_at": "2020-01-01T00:00:00Z", "status": "active",
              "is_superuser": True}
UNKNOWN = {"nickname"}


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize("key", sorted(EXTRA_KEYS))
def test_a_key_the_endpoint_does_not_take_is_400_naming_it_and_nothing_changes(world, make_client, anon, endpoint,
                                                                                key):
    method, build = ENDPOINTS[endpoint]
    user, url, body = build(world)
    client = make_client(user) if user else anon
    before = everything()
    response = getattr(client, method)(url, {**body, key: EXTRA_KEYS[key]}, format="json")
    assert response.status_code == 400, response.data
    expected = "Unknown field." if key in UNKNOWN else "This field is not writable."
    assert response.data.get(key) == [expected], response.data
    assert everything() == before


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_the_same_body_without_the_extra_key_is_accepted(world, make_client, anon, endpoint):
    """The strict tests above fail for the right reason: the base bodies are valid."""
    method, build = ENDPOINTS[endpoint]
    user, url, body = build(world)
    client = make_client(user) if user else anon
    response = getattr(client, method)(url, body, format="json")
    assert response.status_code in (200, 201, 204), getattr(response, "data", None)
