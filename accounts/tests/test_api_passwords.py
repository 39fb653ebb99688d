"""SPEC §3 passwords: change, reset by an e-mailed link (through a real SMTP server and the real worker),
single use, expiry, sessions ending, no account enumeration, throttled like login."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core.cache import cache
from django_tasks_db.models import DBTaskResult
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import AuditEvent, User
from accounts.tasks import reset_link
from accounts.tests.factories import PASSWORD, UserFactory
from inventory.tests.test_alerts_worker import run_worker, smtp  # noqa: F401 - `smtp` is a fixture

CHANGE = "/api/auth/password/change/"
RESET = "/api/auth/password/reset/"
CONFIRM = "/api/auth/password/reset/confirm/"
LOGIN = "/api/auth/login/"
REFRESH = "/api/auth/refresh/"
NEW = "An0ther-long-phrase!"
TASK_PATH = "accounts.tasks.send_password_reset_email"


def login(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password}, format="json")


def link_parts(link: str) -> dict:
    query = parse_qs(urlsplit(link).query)
    return {"uid": query["uid"][0], "token": query["token"][0]}


# --- change ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_change_sets_the_new_password_and_ends_every_session(world, make_client, anon):
    sessions = [str(RefreshToken.for_user(world.staff_a)) for _ in range(2)]

    response = make_client(world.staff_a).post(CHANGE, {"old_password": PASSWORD, "new_password": NEW},
                                               format="json")

    assert response.status_code == 204, response.content
    event = AuditEvent.objects.get(action="user.password_change")
    outstanding = OutstandingToken.objects.filter(user=world.staff_a).count()  # 2 sessions + make_client's
    assert (event.actor_id, event.data["revoked_tokens"]) == (world.staff_a.pk, outstanding)
    assert BlacklistedToken.objects.filter(token__user=world.staff_a).count() == outstanding
    assert login(anon, "staff_a", PASSWORD).status_code == 401
    assert login(anon, "staff_a", NEW).status_code == 200
    for refresh in sessions:
        assert anon.post(REFRESH, {"refresh": refresh}, format="json").status_code == 401


@pytest.mark.django_db
def test_change_with_a_wrong_old_password_is_a_400_and_changes_nothing(world, make_client, anon):
    refresh = str(RefreshToken.for_user(world.staff_a))
    response = make_client(world.staff_a).post(CHANGE, {"old_password": "nope", "new_password": NEW}, format="json")
    assert response.status_code == 400
    assert "old_password" in response.json()
    assert login(anon, "staff_a", PASSWORD).status_code == 200
    assert anon.post(REFRESH, {"refresh": refresh}, format="json").status_code == 200
    assert not AuditEvent.objects.filter(action="user.password_change").exists()


@pytest.mark.django_db
def test_change_applies_the_password_validators(world, make_client):
    response = make_client(world.staff_a).post(CHANGE, {"old_password": PASSWORD, "new_password": "123"},
                                               format="json")
    assert response.status_code == 400
    assert "new_password" in response.json()
    assert User.objects.get(pk=world.staff_a.pk).check_password(PASSWORD)


@pytest.mark.django_db
def test_change_needs_a_token(anon):
    assert anon.post(CHANGE, {"old_password": PASSWORD, "new_password": NEW}, format="json").status_code == 401


# --- reset -----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_reset_by_the_emailed_link_works_once_and_ends_every_session(world, anon, smtp, settings):  # noqa: F811
    settings.SITE_URL = "https://inventory.example.com"
    old_session = login(anon, "staff_a", PASSWORD).json()["refresh"]

    response = anon.post(RESET, {"email": "STAFF_A@example.com"}, format="json")

    assert response.status_code == 202
    assert smtp.messages == []  # the request itself sends nothing: the worker does
    assert AuditEvent.objects.filter(action="user.password_reset_request", target=f"user:{world.staff_a.pk}").exists()
    run_worker()
    ((rcpt_tos, message),) = smtp.messages
    assert rcpt_tos == [world.staff_a.email]
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https://inventory\.example\.com/reset-password\?\S+", body).group(0)
    parts = link_parts(link)

    assert anon.post(CONFIRM, {**parts, "new_password": NEW}, format="json").status_code == 204

    assert login(anon, "staff_a", PASSWORD).status_code == 401
    assert anon.post(REFRESH, {"refresh": old_session}, format="json").status_code == 401
    assert login(anon, "staff_a", NEW).status_code == 200
    again = anon.post(CONFIRM, {**parts, "new_password": "Yet-an0ther-phrase!"}, format="json")
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_token"
    assert AuditEvent.objects.filter(action="user.password_reset").count() == 1


@pytest.mark.django_db
def test_a_reset_link_expires_after_password_reset_timeout(world, anon):
    issued = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(issued, tick=False):
        parts = link_parts(reset_link(world.staff_a))
    with time_machine.travel(issued + timedelta(seconds=3600 + 1), tick=False):
        response = anon.post(CONFIRM, {**parts, "new_password": NEW}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"
    with time_machine.travel(issued + timedelta(seconds=3600 - 60), tick=False):
        assert anon.post(CONFIRM, {**parts, "new_password": NEW}, format="json").status_code == 204


@pytest.mark.django_db
@pytest.mark.parametrize("parts", [
    {"uid": "not-base64!", "token": "x"},
    {"uid": "OTk5OTk", "token": "cq4s0b-0123456789abcdef0123456789abcdef"},  # uid 99999: nobody
    {"uid": None, "token": "cq4s0b-0123456789abcdef0123456789abcdef"},  # a real uid, a forged token
])
def test_a_bad_link_is_a_400_invalid_token(world, anon, parts):
    from django.utils.http import urlsafe_base64_encode

    parts = {**parts, "uid": parts["uid"] or urlsafe_base64_encode(str(world.staff_a.pk).encode())}
    response = anon.post(CONFIRM, {**parts, "new_password": NEW}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"
    assert User.objects.get(pk=world.staff_a.pk).check_password(PASSWORD)


@pytest.mark.django_db
def test_a_link_of_a_dismissed_user_no_longer_works(world, anon):
    parts = link_parts(reset_link(world.staff_a))
    User.objects.filter(pk=world.staff_a.pk).update(status=User.Status.DISMISSED)
    response = anon.post(CONFIRM, {**parts, "new_password": NEW}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_token")


@pytest.mark.django_db
def test_confirm_applies_the_password_validators(world, anon):
    response = anon.post(CONFIRM, {**link_parts(reset_link(world.staff_a)), "new_password": "staff_a"}, format="json")
    assert response.status_code == 400
    assert "new_password" in response.json()


@pytest.mark.django_db
def test_reset_does_not_tell_known_from_unknown_addresses(world, anon):
    dismissed = UserFactory(username="gone", status=User.Status.DISMISSED)
    known = anon.post(RESET, {"email": world.staff_a.email}, format="json")
    assert DBTaskResult.objects.filter(task_path=TASK_PATH).count() == 1

    unknown = anon.post(RESET, {"email": "nobody@example.com"}, format="json")
    inactive = anon.post(RESET, {"email": dismissed.email}, format="json")

    assert known.status_code == unknown.status_code == inactive.status_code == 202
    assert known.content == unknown.content == inactive.content
    assert dict(known.headers).keys() == dict(unknown.headers).keys()
    assert DBTaskResult.objects.filter(task_path=TASK_PATH).count() == 1  # nothing queued for the other two
    assert AuditEvent.objects.filter(action="user.password_reset_request").count() == 1


@pytest.mark.django_db
def test_reset_is_throttled_like_login(world, anon, settings, monkeypatch):
    rates = {"user_write": "100000/minute", "auth": "3/minute", "auth_username": "3/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    cache.clear()
    statuses = [anon.post(RESET, {"email": f"x{i}@example.com"}, format="json",
                          HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(4)]
    assert statuses == [202, 202, 202, 429]
    cache.clear()


# --- access tokens end with the password (issue 24, item 9) ------------------------------------------

PROFILE = "/api/profile/"


@pytest.mark.django_db
def test_a_password_change_ends_every_access_token_issued_before_at_once(world, make_client, anon):
    caller, other_session = make_client(world.staff_a), make_client(world.staff_a)
    assert other_session.get(PROFILE).status_code == 200

    response = caller.post(CHANGE, {"old_password": PASSWORD, "new_password": NEW}, format="json")

    assert response.status_code == 204, response.content
    for client in (caller, other_session):
        stale = client.get(PROFILE)
        assert stale.status_code == 401
        assert stale.json()["code"] == "token_not_valid"
    fresh = login(anon, "staff_a", NEW).json()["access"]
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {fresh}")
    assert anon.get(PROFILE).status_code == 200


@pytest.mark.django_db
def test_a_password_reset_ends_every_access_token_issued_before_at_once(world, make_client, anon):
    session = make_client(world.staff_a)
    assert session.get(PROFILE).status_code == 200
    parts = link_parts(reset_link(world.staff_a))

    response = anon.post(CONFIRM, {**parts, "new_password": NEW}, format="json")

    assert response.status_code == 204, response.content
    assert session.get(PROFILE).status_code == 401


@pytest.mark.django_db
def test_logout_ends_only_its_refresh_token_and_the_access_token_keeps_working(world, make_client, anon):
    tokens = login(anon, "staff_a", PASSWORD).json()
    client = make_client(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.post("/api/auth/logout/", {"refresh": tokens["refresh"]}, format="json").status_code == 204
    assert client.get(PROFILE).status_code == 200  # until it expires (JWT_ACCESS_MINUTES); README says so


@pytest.mark.django_db
@pytest.mark.parametrize("user_id", ["abc", "1.5", [1], {"id": 1}, None, True, 10**30, -1])
def test_a_signed_token_with_a_malformed_user_id_is_a_401_not_a_500(world, anon, user_id):
    token = RefreshToken.for_user(world.staff_a).access_token
    token["user_id"] = user_id
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = anon.get(PROFILE)
    assert response.status_code == 401


# --- the account e-mails retry like the alert e-mails (issue 24, also seen) ---------------------------


class _DownBackend:
    """An e-mail backend whose server is down."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("smtp down")


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "kwargs"), [
    ("accounts.tasks.send_password_reset_email", {}),
    ("accounts.tasks.send_email_change_notice", {"old_email": "old@example.com"}),
])
def test_an_account_email_that_fails_to_send_is_retried_later_then_given_up(world, settings, monkeypatch,
                                                                            path, kwargs):
    from django.utils.module_loading import import_string

    monkeypatch.setattr("django.core.mail.get_connection", lambda *a, **k: _DownBackend())
    settings.LOW_STOCK_EMAIL_MAX_ATTEMPTS = 2
    task = import_string(path)

    assert task.call(user_id=world.staff_a.pk, **kwargs) == "retrying"
    [retry] = DBTaskResult.objects.filter(task_path=path)
    assert retry.args_kwargs["kwargs"] == {"user_id": world.staff_a.pk, **kwargs, "attempt": 2}
    assert retry.run_after is not None

    assert task.call(user_id=world.staff_a.pk, **kwargs, attempt=2) == "failed"
    assert DBTaskResult.objects.filter(task_path=path).count() == 1  # no third attempt
