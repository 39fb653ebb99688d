"""A real client: generated from /api/schema/ by openapi-python-client, then used against a live server.

If the schema lies about a body's content type, a field's type or an answer's shape, the generated code
either does not import or cannot parse what the server sends, and this fails.
"""

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.tests.factories import PASSWORD, UserFactory
from inventory.services import assign_stock
from inventory.tests.factories import ProductFactory
from warehouses.tests.factories import WarehouseFactory

PACKAGE = "inventory_api_client"

pytestmark = pytest.mark.heavy  # CI runs it once, on PostgreSQL


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory):
    """The client package generated from the live schema (once per run), imported."""
    from django.test import Client

    generator = Path(sys.executable).parent / "openapi-python-client"
    if not generator.exists():
        pytest.skip("openapi-python-client is not installed (requirements-dev.txt)")
    out = tmp_path_factory.mktemp("client")
    schema_path = out / "schema.json"
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema_path.write_text(json.dumps(json.loads(response.content)))
    # The generator formats its output with ruff, found on PATH.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(generator), "generate", "--path", str(schema_path), "--meta", "none",
         "--output-path", str(out / PACKAGE)],
        cwd=out, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]
        shutil.rmtree(out, ignore_errors=True)


def _api(name: str):
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def _models():
    return importlib.import_module(f"{PACKAGE}.models")


def test_the_generated_client_logs_in_lists_stock_and_runs_a_purchase_request(generated_client, live_server,
                                                                              transactional_db):
    admin = UserFactory(admin=True, username="boss")
    viewer = UserFactory(viewer=True, username="buyer")
    warehouse = WarehouseFactory(code="NORTH", name="North")
    staff = UserFactory(staff=True, username="picker", warehouse=warehouse)
    product = ProductFactory(sku="BOLT-1", name="Bolt")
    assign_stock(actor=admin, warehouse=warehouse, product=product, quantity=10)
    models = _models()
    anonymous = generated_client.Client(base_url=live_server.url, raise_on_unexpected_status=True)

    def log_in(username):
        login = importlib.import_module(f"{PACKAGE}.api.auth.auth_login_create")
        tokens = login.sync(client=anonymous, body=models.LoginRequest(username=username, password=PASSWORD))
        assert tokens.user.username == username
        return generated_client.AuthenticatedClient(base_url=live_server.url, token=tokens.access,
                                                    raise_on_unexpected_status=True)

    as_viewer, as_staff = log_in("buyer"), log_in("picker")

    stocks = _api("stocks.stocks_list").sync(client=as_viewer)
    assert [(row.product.sku, row.warehouse.code, row.quantity) for row in stocks.results] == [("BOLT-1", "NORTH", 10)]

    created = _api("purchase_requests.purchase_requests_create").sync(
        client=as_viewer, body=models.PurchaseRequestCreateRequest(warehouse=warehouse.pk, product=product.pk,
                                                                   quantity=4))
    assert (created.status.value, created.quantity, created.requested_by) == ("pending", 4, viewer.pk)

    decided = _api("purchase_requests.purchase_requests_approve_create").sync(
        client=as_staff, body=models.DecisionRequest(id=created.id, decision=models.DecisionEnum.APPROVE),
        idempotency_key="approve-once")
    assert (decided.status.value, decided.decided_by) == ("approved", staff.pk)

    after = _api("stocks.stocks_list").sync(client=as_staff)
    assert after.results[0].quantity == 6
