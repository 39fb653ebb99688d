"""Schema truth: schemathesis drives every operation of /api/schema/ in-process, once per role.

Four checks, never loosened: no 5xx (`not_a_server_error`), every status is documented
(`status_code_conformance`), every content type is documented (`content_type_conformance`) and every
body matches its documented schema (`response_schema_conformance`). Bounded and reproducible: a fixed
number of examples per operation with Hypothesis derandomized (seeded by the test's name).
"""

import re

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLES = ["anonymous", "viewer", "staff_a", "manager_a", "admin"]
EXAMPLES_PER_OPERATION = 5

pytestmark = pytest.mark.heavy  # CI runs it once, on PostgreSQL (README, "The suite's speed")


def _load_schema():
    from inventory_project.wsgi import application

    # Generating the schema reads no data: it is loaded once, at collection, from the running app.
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


schema = _load_schema()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django's WSGI handler closes "old" connections at each request; inside the test's transaction that
    would close the test's own connection (Django's test client disconnects it the same way)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, world, role):
    """Every operation, called as each role (a parameter: schemathesis builds each operation's cases once)."""
    headers = {}
    if role != "anonymous":
        headers["Authorization"] = f"Bearer {RefreshToken.for_user(getattr(world, role)).access_token}"
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)


def test_the_schema_generates_without_errors_or_warnings():
    """drf-spectacular skips a view it cannot describe with only a logged error: fail instead."""
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--validate", "--file", "/dev/null")


def test_every_route_is_in_the_schema():
    from django.test import Client

    from core.testing import api_routes

    paths = Client().get("/api/schema/", {"format": "json"}).json()["paths"]
    documented = {(method.upper(), path) for path, item in paths.items() for method in item}
    missing = []
    for pattern, method in api_routes():
        path = "/" + pattern.replace("<int:pk>", "{id}").replace("<pk>", "{id}")
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)  # other parameters keep their names ({delivery_id})
        if path not in ("/api/schema/", "/api/docs/") and (method, path) not in documented:
            missing.append((method, path))
    assert not missing, missing


def test_list_operations_document_the_web_servers_414():
    from django.test import Client

    operation = Client().get("/api/schema/", {"format": "json"}).json()["paths"]["/api/stocks/"]["get"]
    assert "text/html" in operation["responses"]["414"]["content"]
