"""Who may call what: the permission matrix of matrix.py, checked cell by cell against the running API."""

import pytest

from core.testing import api_routes
from inventory.models import StockMovement
from inventory.services import assign_stock

from .matrix import CALLERS, MATRIX, Scene, client_for, prepare, send

ROUTES = sorted({(method, pattern.removeprefix("api/")) for pattern, method in api_routes()})

CELLS = [(method, pattern, caller) for method, pattern in sorted(MATRIX) for caller in CALLERS]


def test_every_endpoint_is_in_the_matrix():
    missing = [route for route in ROUTES if route not in MATRIX]
    assert not missing, f"add these endpoints to MATRIX with who may use them: {missing}"


def test_the_matrix_names_no_endpoint_that_does_not_exist():
    assert not set(MATRIX) - set(ROUTES), set(MATRIX) - set(ROUTES)


@pytest.mark.parametrize(("method", "pattern", "caller"), CELLS, ids=[f"{m} {p} {c}" for m, p, c in CELLS])
def test_permission_matrix(world, method, pattern, caller):
    case = MATRIX[(method, pattern)]
    scene = Scene(world)
    user = scene.callers[caller]
    response = send(method, *prepare(case, scene, pattern, user), user)
    expected = case.expected()[caller]
    assert response.status_code == expected, (
        f"{method} {pattern} as {caller}: expected {expected}, got {response.status_code}: "
        f"{getattr(response, 'data', response.content)!r:.300}")


def test_a_refusal_changes_nothing(world):
    """A 403 on a stock write leaves the balance and the ledger alone (spot check of the matrix's refusals)."""
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    movements = StockMovement.objects.count()
    response = client_for(world.manager_b).post("/api/stocks/adjust/", {
        "warehouse": world.wh_a.pk, "product": world.product.pk, "delta": -1, "reason": "loss"}, format="json")
    assert response.status_code == 403
    stock.refresh_from_db()
    assert (stock.quantity, StockMovement.objects.count()) == (5, movements)
