"""Throttles keyed on the peer address, the admin login throttled with the API's limit, the database cache."""

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.throttling import SimpleRateThrottle

from accounts.tests.factories import PASSWORD

LOGIN = "/api/auth/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def five_a_minute(settings, monkeypatch):
    """Five auth attempts a minute per address and per username (patched in both places DRF reads rates)."""
    rates = {"user_write": "100000/minute", "auth": "5/minute", "auth_username": "5/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    cache.clear()
    yield
    cache.clear()


def wrong_login(client, username="viewer1", **extra):
    return client.post(LOGIN, {"username": username, "password": "wrong"}, format="json", **extra)


def test_rotating_x_forwarded_for_does_not_bypass_the_login_throttle(world, anon, five_a_minute):
    statuses = [wrong_login(anon, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(6)]
    assert statuses == [401] * 5 + [429]
    # The real password does not get through either: the address is throttled.
    response = anon.post(LOGIN, {"username": "viewer1", "password": PASSWORD}, format="json",
                         HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"


def test_another_peer_address_has_its_own_budget(world, anon, five_a_minute):
    for i in range(5):
        wrong_login(anon, f"user{i}")  # one username each: only the address's budget is spent
    assert wrong_login(anon, "user5").status_code == 429
    assert wrong_login(anon, "user6", REMOTE_ADDR="192.0.2.77").status_code == 401


def test_behind_a_trusted_proxy_the_address_it_saw_is_the_client(world, anon, five_a_minute, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    # The proxy appends the address it saw; what the client wrote before it does not count.
    for i in range(5):
        assert wrong_login(anon, f"user{i}", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}, 198.51.100.1").status_code == 401
    assert wrong_login(anon, "user5", HTTP_X_FORWARDED_FOR="10.0.0.99, 198.51.100.1").status_code == 429
    assert wrong_login(anon, "user6", HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_the_database_cache_table_exists_and_holds_the_throttle(settings, five_a_minute):
    """Without REDIS_URL the counters live in the database cache, whose table core's migration creates."""
    from accounts.tests.factories import UserFactory

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                                   "LOCATION": "django_cache"}}
    cache.clear()
    UserFactory(username="viewer1")
    client = Client()
    statuses = [client.post(LOGIN, {"username": "viewer1", "password": "x"}, content_type="application/json",
                            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(6)]
    assert statuses == [401] * 5 + [429]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_cache WHERE cache_key LIKE %s", ["%throttle_auth_%"])
        assert cursor.fetchone()[0] == 2  # the address's counter and the username's


# --- the admin login -------------------------------------------------------------------------------


@pytest.fixture
def no_password_check(monkeypatch):
    """Fails the test if the admin's login form checks a password."""
    import django.contrib.auth.forms

    def explode(*args, **kwargs):
        raise AssertionError("the password was checked")

    monkeypatch.setattr(django.contrib.auth.forms, "authenticate", explode)


def admin_login(client, username, password, **extra):
    return client.post(ADMIN_LOGIN, {"username": username, "password": password, "next": "/admin/"}, **extra)


def test_the_admin_login_is_throttled_per_address_without_checking_the_password(world, five_a_minute, monkeypatch):
    client = Client()
    for i in range(5):
        response = admin_login(client, "admin1", f"guess{i}", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        assert response.status_code == 200  # the form again, with its error
    import django.contrib.auth.forms

    monkeypatch.setattr(django.contrib.auth.forms, "authenticate",
                        lambda *a, **k: pytest.fail("the password was checked"))
    response = admin_login(client, "admin1", PASSWORD)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "_auth_user_id" not in client.session


def test_the_admin_login_shares_the_apis_per_address_budget(world, anon, five_a_minute, no_password_check):
    for _ in range(5):
        wrong_login(anon)
    assert admin_login(Client(), "admin1", PASSWORD).status_code == 429


def test_the_admin_login_is_throttled_per_username_across_addresses(world, five_a_minute):
    client = Client()
    for i in range(5):
        assert admin_login(client, "admin1", f"guess{i}", REMOTE_ADDR=f"192.0.2.{i}").status_code == 200
    assert admin_login(client, "ADMIN1", PASSWORD, REMOTE_ADDR="192.0.2.200").status_code == 429
    # Another account from a fresh address is not affected.
    assert admin_login(client, "manager_a", "guess", REMOTE_ADDR="192.0.2.201").status_code == 200


def test_the_admin_login_still_works_under_the_limit(world, five_a_minute):
    client = Client()
    response = admin_login(client, "admin1", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(world.admin.pk)
    assert client.get(ADMIN_LOGIN).status_code in (200, 302)  # GETs are never throttled


# --- per-username limits on the API (issue 24, item 4) ---------------------------------------------


def test_guesses_at_one_username_from_many_addresses_are_capped(world, anon, five_a_minute):
    statuses = [wrong_login(anon, REMOTE_ADDR=f"192.0.2.{i}").status_code for i in range(6)]
    assert statuses == [401] * 5 + [429]
    # Case and width variants are the same account, so the same budget.
    response = anon.post(LOGIN, {"username": "ＶＩＥＷＥＲ1", "password": "wrong"}, format="json",
                         REMOTE_ADDR="192.0.2.50")
    assert response.status_code == 429
    # Another account is not held back by it.
    other = anon.post(LOGIN, {"username": "staff_a", "password": "wrong"}, format="json", REMOTE_ADDR="192.0.2.51")
    assert other.status_code == 401


def test_the_api_and_the_admin_login_share_one_username_budget(world, anon, five_a_minute):
    for i in range(5):
        assert wrong_login(anon, REMOTE_ADDR=f"192.0.2.{i}").status_code == 401
    response = Client().post(ADMIN_LOGIN, {"username": "viewer1", "password": "wrong"}, REMOTE_ADDR="192.0.2.99")
    assert response.status_code == 429


def test_reset_requests_for_one_address_from_many_peers_are_capped(world, anon, five_a_minute):
    reset = "/api/auth/password/reset/"
    statuses = [anon.post(reset, {"email": "Viewer1@example.com"}, format="json",
                          REMOTE_ADDR=f"192.0.2.{i}").status_code for i in range(6)]
    assert statuses == [202] * 5 + [429]
    # An unknown address is capped the same way (the throttle does not tell them apart).
    statuses = [anon.post(reset, {"email": "nobody@example.com"}, format="json",
                          REMOTE_ADDR=f"192.0.2.{i}").status_code for i in range(10, 16)]
    assert statuses == [202] * 5 + [429]


@pytest.mark.parametrize("body", [["username"], {"username": ["a"], "password": "x"}, {"username": {"a": 1}}])
def test_a_login_body_of_the_wrong_shape_is_a_400_not_a_500(world, anon, five_a_minute, body):
    assert anon.post(LOGIN, body, format="json").status_code == 400
