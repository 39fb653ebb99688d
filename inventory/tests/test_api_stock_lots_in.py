"""`POST /api/stocks/assign/` and `/api/stocks/adjust/` with lots (SPEC §14): `lot` and `expires_on` in the
body, each role allowed, denied and out of scope, every error code with nothing changed, idempotent replays."""

import datetime

import pytest

from inventory.lots import Lot, StockLot
from inventory.models import Product, Stock, StockMovement
from inventory.services import assign_stock
from inventory.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

ASSIGN = "/api/stocks/assign/"
ADJUST = "/api/stocks/adjust/"
LATER = (datetime.date.today() + datetime.timedelta(days=400)).isoformat()


@pytest.fixture
def milk():
    return ProductFactory(sku="MILK-1", tracking=Product.Tracking.LOT)


def state():
    """Everything an assign or adjust with lots could change."""
    return (list(Stock.objects.order_by("pk").values_list("pk", "quantity", "version")),
            list(StockLot.objects.order_by("pk").values_list("pk", "quantity")),
            list(Lot.objects.order_by("pk").values_list("pk", "code", "expires_on")), StockMovement.objects.count())


@pytest.mark.parametrize("who", ["admin", "manager_a"])
def test_admin_and_the_warehouses_manager_assign_units_into_a_named_lot(make_client, world, milk, who):
    response = make_client(getattr(world, who)).post(
        ASSIGN, {"warehouse": world.wh_a.pk, "product": milk.pk, "quantity": 6, "lot": "L-7", "expires_on": LATER},
        format="json")
    assert response.status_code == 201, response.data
    lot = Lot.objects.get(product=milk)
    assert (lot.code, lot.expires_on.isoformat()) == ("L-7", LATER)
    assert StockMovement.objects.get(product=milk).lot_id == lot.pk
    assert StockLot.objects.get(lot=lot).quantity == 6


@pytest.mark.parametrize("who", ["staff_a", "viewer", "manager_b", "staff_b"])
def test_others_cannot_assign_into_a_lot_and_create_no_lot(make_client, world, milk, who):
    before = state()
    response = make_client(getattr(world, who)).post(
        ASSIGN, {"warehouse": world.wh_a.pk, "product": milk.pk, "quantity": 6, "lot": "L-7"}, format="json")
    assert response.status_code == 403 and response.data["code"] == "permission_denied"
    assert state() == before


@pytest.mark.parametrize("who", ["admin", "manager_a", "staff_a"])
def test_the_warehouses_people_adjust_a_named_lot_up_and_down(make_client, world, milk, who):
    client = make_client(getattr(world, who))
    up = client.post(ADJUST, {"warehouse": world.wh_a.pk, "product": milk.pk, "delta": 4, "reason": "found",
                              "lot": "F-1"}, format="json")
    assert up.status_code == 200, up.data
    down = client.post(ADJUST, {"warehouse": world.wh_a.pk, "product": milk.pk, "delta": -3, "reason": "damage",
                                "lot": "f-1"}, format="json")
    assert down.status_code == 200, down.data
    assert down.data["quantity"] == 1
    assert StockLot.objects.get(lot__code="F-1").quantity == 1


@pytest.mark.parametrize("who", ["viewer", "staff_b", "manager_b"])
def test_others_cannot_adjust_a_lot(make_client, world, milk, who):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=3, lot="L")
    before = state()
    response = make_client(getattr(world, who)).post(
        ADJUST, {"warehouse": world.wh_a.pk, "product": milk.pk, "delta": -1, "reason": "damage", "lot": "L"},
        format="json")
    assert response.status_code == 403 and response.data["code"] == "permission_denied"
    assert state() == before


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"quantity": 1}, 400, "lot_required"),
    ({"quantity": 1, "lot": "K", "expires_on": "2031-01-02"}, 409, "lot_mismatch"),
    ({"quantity": 1, "lot": "K", "expires_on": None}, 409, "lot_mismatch"),
])
def test_assign_lot_errors_answer_with_their_code_and_change_nothing(make_client, world, milk, body, status, code):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=2, lot="K",
                 expires_on=datetime.date(2031, 1, 1))
    before = state()
    response = make_client(world.admin).post(ASSIGN, {"warehouse": world.wh_a.pk, "product": milk.pk, **body},
                                             format="json")
    assert (response.status_code, response.data["code"]) == (status, code), response.data
    if code == "lot_mismatch":
        assert response.data["expires_on"] == "2031-01-01"
    else:
        assert set(response.data) == {"detail", "code"}
    assert state() == before


def test_a_lot_for_a_product_that_is_not_lot_tracked_is_400_not_lot_tracked(make_client, world):
    before = state()
    for url, body in ((ASSIGN, {"quantity": 1}), (ADJUST, {"delta": 1, "reason": "found"})):
        response = make_client(world.admin).post(
            url, {"warehouse": world.wh_a.pk, "product": world.product.pk, "lot": "X", **body}, format="json")
        assert response.status_code == 400
        assert response.data == {"detail": response.data["detail"], "code": "not_lot_tracked"}
    assert state() == before


@pytest.mark.parametrize("lot", ["", "x" * 51, 5, None, ["L"]])
def test_a_malformed_lot_code_is_400_naming_the_field(make_client, world, milk, lot):
    before = state()
    response = make_client(world.admin).post(
        ASSIGN, {"warehouse": world.wh_a.pk, "product": milk.pk, "quantity": 1, "lot": lot}, format="json")
    if lot == 5:  # a number is read as its text, a valid code
        assert response.status_code == 201
        return
    assert response.status_code == 400 and "lot" in response.data
    assert state() == before


def test_a_malformed_expiry_date_is_400_naming_the_field(make_client, world, milk):
    before = state()
    response = make_client(world.admin).post(
        ASSIGN, {"warehouse": world.wh_a.pk, "product": milk.pk, "quantity": 1, "lot": "L", "expires_on": "soon"},
        format="json")
    assert response.status_code == 400 and "expires_on" in response.data
    assert state() == before


def test_taking_more_than_a_named_lot_holds_is_409_with_what_may_be_taken(make_client, world, milk):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=3, lot="A")
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=5, lot="B")
    before = state()
    response = make_client(world.staff_a).post(
        ADJUST, {"warehouse": world.wh_a.pk, "product": milk.pk, "delta": -4, "reason": "damage", "lot": "A"},
        format="json")
    assert response.status_code == 409
    assert (response.data["code"], response.data["available"], response.data["requested"]) == (
        "insufficient_stock", 3, 4)
    assert state() == before


def test_an_assign_into_a_lot_replays_under_its_idempotency_key(make_client, world, milk):
    client = make_client(world.admin)
    body = {"warehouse": world.wh_a.pk, "product": milk.pk, "quantity": 2, "lot": "I-1"}
    first = client.post(ASSIGN, body, format="json", HTTP_IDEMPOTENCY_KEY="lot-assign-1")
    again = client.post(ASSIGN, body, format="json", HTTP_IDEMPOTENCY_KEY="lot-assign-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert StockLot.objects.get(lot__code="I-1").quantity == 2
