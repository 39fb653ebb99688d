"""One rule for who the client is (issue 24, also seen): audit IPs follow TRUSTED_PROXY_COUNT as the throttles do."""

import pytest
from django.test import RequestFactory

from core.http import client_ip
from core.throttling import client_ident

FORGED = "6.6.6.6"


@pytest.mark.parametrize(("proxies", "forwarded", "expected"), [
    (0, f"{FORGED}", "10.0.0.1"),                       # no proxy: the header is the client's own words
    (0, None, "10.0.0.1"),
    (1, f"{FORGED}, 198.51.100.7", "198.51.100.7"),     # one proxy appended what it saw; the rest is forged
    (1, None, "10.0.0.1"),
    (2, f"{FORGED}, 198.51.100.7, 10.1.1.1", "198.51.100.7"),  # the outer proxy saw the client, the inner the outer
    (2, "198.51.100.7", "198.51.100.7"),               # fewer entries than proxies: the leftmost one
    (1, "not-an-address", "10.0.0.1"),                 # garbage from a proxy is not an address: the peer
])
def test_audit_ip_and_throttle_identity_follow_one_rule(settings, proxies, forwarded, expected):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", **headers)
    assert client_ip(request) == expected
    assert client_ident(request) == expected


@pytest.mark.django_db
def test_an_audited_login_behind_a_trusted_proxy_records_the_client(world, anon, settings):
    from accounts.models import AuditEvent
    from accounts.tests.factories import PASSWORD

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    response = anon.post("/api/auth/login/", {"username": "viewer1", "password": PASSWORD}, format="json",
                         HTTP_X_FORWARDED_FOR=f"{FORGED}, 198.51.100.7")
    assert response.status_code == 200
    assert AuditEvent.objects.get(action="user.login").ip == "198.51.100.7"
