"""CORS for browser front-ends on another origin (django-cors-headers, configured from the environment)."""

import pytest

APP = "https://app.example.com"


def preflight(client, path="/api/stocks/adjust/", origin=APP):
    return client.options(path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                          HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key")


@pytest.mark.django_db
def test_by_default_no_other_origin_is_allowed(anon):
    response = preflight(anon)
    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.django_db
def test_a_listed_origin_may_send_the_apis_headers(anon, settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    response = preflight(anon)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    allowed = {name.strip() for name in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
    assert "Access-Control-Allow-Credentials" not in response
    assert "Access-Control-Allow-Origin" not in preflight(anon, origin="https://evil.example.com")


@pytest.mark.django_db
def test_answers_expose_the_replay_and_download_headers_and_errors_are_readable(world, make_client, settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    response = make_client(world.manager_a).get("/api/stocks/", HTTP_ORIGIN=APP)
    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == APP
    exposed = {name.strip().lower() for name in response["Access-Control-Expose-Headers"].split(",")}
    assert {"idempotent-replayed", "content-disposition"} <= exposed
    unauthenticated = make_client(None).get("/api/stocks/", HTTP_ORIGIN=APP)
    assert unauthenticated.status_code == 401 and unauthenticated["Access-Control-Allow-Origin"] == APP
    unknown = make_client(None).get("/api/no-such-thing/", HTTP_ORIGIN=APP)
    assert unknown.status_code == 404 and unknown["Access-Control-Allow-Origin"] == APP


@pytest.mark.django_db
def test_the_admin_is_never_opened_to_other_origins(anon, settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    assert "Access-Control-Allow-Origin" not in anon.get("/admin/login/", HTTP_ORIGIN=APP)
