"""Cross-cutting API behaviour: authentication errors, JSON 404/405/400, throttling, health, schema, docs."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import Resolver404, resolve
from rest_framework.throttling import SimpleRateThrottle

from accounts.tests.factories import PASSWORD

BASE_DIR = Path(__file__).resolve().parents[2]

# Every path of SPEC.md ({id} stands for any path parameter).
SPEC_PATHS = [
    "/api/auth/register/", "/api/auth/login/", "/api/auth/refresh/", "/api/auth/logout/",
    "/api/users/", "/api/users/{id}/", "/api/profile/", "/api/staffs/approve/", "/api/staffs/dismiss/",
    "/api/managers/request-staff-promotion/", "/api/promotion-requests/", "/api/promotion-requests/approve/",
    "/api/admin/demote-manager/",
    "/api/warehouses/", "/api/warehouses/{id}/", "/api/products/", "/api/products/{id}/", "/api/stocks/",
    "/api/stocks/assign/", "/api/stocks/adjust/", "/api/stock-movements/", "/api/low-stock-thresholds/",
    "/api/low-stock-thresholds/{id}/", "/api/alerts/",
    "/api/purchase-requests/", "/api/purchase-requests/{id}/", "/api/purchase-requests/approve/",
    "/api/purchase-requests/cancel/", "/api/transfer-requests/", "/api/transfer-requests/{id}/",
    "/api/transfer-requests/approve/",
    "/api/dashboard/admin/", "/api/dashboard/warehouse/", "/api/reports/stock-movements/",
    "/api/audit-events/", "/api/health/",
]


# --- authentication and error shapes ---------------------------------------------------------------


def test_no_token_is_401_with_detail_and_code(world, anon):
    response = anon.get("/api/users/")
    assert response.status_code == 401
    assert response.json() == {"detail": response.json()["detail"], "code": "not_authenticated"}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer garbage", "Bearer a.b.c", "Token abc", "Bearer"])
def test_bad_token_is_401_with_detail_and_code(world, anon, header):
    anon.credentials(HTTP_AUTHORIZATION=header)
    response = anon.get("/api/profile/")
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "code"}


def test_a_refresh_token_is_not_accepted_as_an_access_token(world, anon):
    from rest_framework_simplejwt.tokens import RefreshToken

    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(world.viewer)}")
    assert anon.get("/api/profile/").status_code == 401


def test_unknown_url_under_api_is_a_json_404(world, make_client, anon):
    for client in (anon, make_client(world.admin)):
        response = client.get("/api/no-such-thing/")
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")
        assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.parametrize("method", ["post", "delete", "put", "patch"])
def test_unknown_url_under_api_is_a_json_404_for_writes_too_not_a_csrf_page(db, method):
    from rest_framework.test import APIClient

    response = getattr(APIClient(enforce_csrf_checks=True), method)("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_wrong_method_is_405_with_a_code(world, make_client):
    response = make_client(world.admin).delete("/api/audit-events/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    response = make_client(world.admin).get("/api/staffs/approve/")
    assert response.status_code == 405


@pytest.mark.parametrize("body", ["{not json", '{"user": ', "[1, 2", "\x00\xff", '"just a string"', "[]"])
def test_malformed_json_body_is_400_not_500(world, make_client, body):
    response = make_client(world.admin).post("/api/staffs/dismiss/", data=body, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"user": 1, "decision": "\\ud800"}',
                                  '{"\\udfff": 1}'])
def test_too_deep_or_unencodable_json_is_a_400_parse_error_not_500(world, make_client, body):
    response = make_client(world.admin).post("/api/staffs/approve/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": response.json()["detail"], "code": "parse_error"}


def test_a_multipart_body_over_djangos_field_limit_is_a_400_not_500(world, make_client):
    # Multipart is accepted only where a file is uploaded: the profile.
    body = "".join(f'--B\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n1\r\n' for i in range(2000))
    response = make_client(world.admin).patch("/api/profile/", data=body + "--B--\r\n",
                                              content_type="multipart/form-data; boundary=B")
    assert response.status_code == 400
    assert response.json() == {"detail": response.json()["detail"], "code": "bad_request"}


@pytest.mark.parametrize("content_type, body", [
    ("application/x-www-form-urlencoded", "&".join(f"f{i}=1" for i in range(2000))),
    ("multipart/form-data; boundary=B",
     "".join(f'--B\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n1\r\n' for i in range(2000)) + "--B--\r\n"),
])
def test_a_form_body_where_no_file_is_uploaded_is_a_415_not_500(world, make_client, content_type, body):
    response = make_client(world.admin).post("/api/products/", data=body, content_type=content_type)
    assert response.status_code == 415
    assert response.json() == {"detail": response.json()["detail"], "code": "unsupported_media_type"}


def test_too_many_query_parameters_is_a_400_not_500(world, make_client):
    response = make_client(world.admin).get("/api/products/?" + "&".join(f"f{i}=1" for i in range(2000)))
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_unsupported_media_type_is_415_with_a_code(world, make_client):
    response = make_client(world.admin).post("/api/staffs/dismiss/", data="user=1", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


# --- throttling ----------------------------------------------------------------------------------


@pytest.fixture
def tiny_rates(settings, monkeypatch):
    """Two requests a minute. DRF copies the rates into SimpleRateThrottle at import, so patch both."""
    rates = {"user_write": "2/minute", "auth": "2/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    cache.clear()
    yield
    cache.clear()


def test_anonymous_auth_endpoints_are_throttled_per_ip(world, anon, tiny_rates):
    body = {"username": "viewer1", "password": PASSWORD}
    assert anon.post("/api/auth/login/", body, format="json").status_code == 200
    assert anon.post("/api/auth/login/", body, format="json").status_code == 200
    response = anon.post("/api/auth/login/", body, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "detail" in response.json()
    # Another address is not affected.
    assert anon.post("/api/auth/login/", body, format="json", REMOTE_ADDR="10.9.8.7").status_code == 200


def test_writes_are_throttled_per_user_and_reads_are_not(world, make_client, tiny_rates):
    client = make_client(world.viewer)
    for _ in range(2):
        assert client.patch("/api/profile/", {"bio": "x"}, format="json").status_code == 200
    response = client.patch("/api/profile/", {"bio": "y"}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert client.get("/api/profile/").status_code == 200
    assert make_client(world.staff_a).patch("/api/profile/", {"bio": "z"}, format="json").status_code == 200


# --- health, schema, docs ------------------------------------------------------------------------


def test_health_is_ok_without_a_token(db, anon):
    response = anon.get("/api/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_is_503_with_detail_and_code_when_the_database_fails(db, anon, monkeypatch):
    from django.db import OperationalError

    from core import views

    class BrokenConnection:
        def cursor(self):
            raise OperationalError("database is down")

    monkeypatch.setattr(views, "connection", BrokenConnection())
    response = anon.get("/api/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "database_unavailable"
    assert body["status"] == "unavailable"
    assert body["detail"]


def _exists(path: str) -> bool:
    try:
        resolve(path.replace("{id}", "1"))
    except Resolver404:
        return False
    return True


def test_schema_is_served_and_lists_every_spec_path_that_exists(db, anon):
    response = anon.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    documented = {re.sub(r"\{[^}]+\}", "{id}", path) for path in schema["paths"]}
    existing = [path for path in SPEC_PATHS if _exists(path)]
    assert "/api/auth/register/" in existing  # the check below is not vacuous
    assert [path for path in existing if path not in documented] == []


def test_schema_describes_the_accounts_endpoints_truthfully(db, anon):
    schema = anon.get("/api/schema/?format=json").json()
    login = schema["paths"]["/api/auth/login/"]["post"]
    assert set(login["responses"]) >= {"200", "401", "403"}
    assert login.get("security") in (None, [], [{}])  # no token needed
    assert "jwtAuth" in schema["components"]["securitySchemes"]
    user = schema["components"]["schemas"]["User"]["properties"]
    assert set(user) == {"id", "username", "email", "first_name", "last_name", "role", "status", "warehouse",
                         "date_joined"}


def test_schema_documents_every_error_answer_with_its_shape(db, anon):
    schema = anon.get("/api/schema/?format=json").json()
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail", "code"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    # Every error the API answers is JSON; only the web server's 414 comes before the API.
                    media = "text/html" if status == "414" else "application/json"
                    assert "schema" in response["content"][media], (method, path, status)
    assert set(schema["paths"]["/api/users/"]["get"]["responses"]) >= {"200", "400", "401", "403", "404"}
    assert set(schema["paths"]["/api/products/{id}/"]["patch"]["responses"]) >= {"400", "401", "403", "404", "429"}
    assert "400" in schema["paths"]["/api/auth/login/"]["post"]["responses"]
    assert "404" in schema["paths"]["/api/stock-movements/"]["get"]["responses"]  # an invalid cursor


@pytest.mark.parametrize(("method", "url", "status"), [
    ("get", "/api/schema/?format=xx", 404), ("post", "/api/schema/", 405),
    ("get", "/api/docs/?format=json", 404), ("post", "/api/docs/", 405),
])
def test_schema_and_docs_errors_are_json_with_detail_and_code(db, anon, method, url, status):
    response = getattr(anon, method)(url)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"detail", "code"}


def test_swagger_ui_is_served_from_local_static_files_only(db, anon):
    response = anon.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    external = re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", html)
    assert external == []
    assert "/static/drf_spectacular_sidecar/" in html


# --- deployment ----------------------------------------------------------------------------------


def test_check_deploy_is_clean_with_debug_off():
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "inventory.example.com",
        "DJANGO_SETTINGS_MODULE": "inventory_project.settings",
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_unknown_url_under_api_is_json_even_with_debug_on(db, anon, settings):
    settings.DEBUG = True  # Django's own debug 404 page would be HTML
    response = anon.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_a_disallowed_host_under_api_is_a_json_400_even_with_debug_on(db, anon, settings):
    settings.DEBUG = True  # Django answers a bad Host header with its HTML technical page
    response = anon.get("/api/health/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Bad Request.", "code": "bad_request"}


def test_a_crash_under_api_is_a_json_500_even_with_debug_on(db, settings, monkeypatch):
    from django.test import Client

    from core.views import HealthView

    def explode(self, request):
        raise RuntimeError("boom")

    settings.DEBUG = True
    monkeypatch.setattr(HealthView, "get", explode)
    response = Client(raise_request_exception=False).get("/api/health/")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "code": "server_error"}
