"""`/api/reservations/` (SPEC §10) per role, and every Part I operation refusing to take reserved units."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from inventory.models import Reservation, Stock, StockMovement
from inventory.services import assign_stock, reserve_stock
from inventory.tests.factories import ProductFactory, ReservationFactory
from workflows.services import create_purchase_request, create_transfer_request

pytestmark = pytest.mark.django_db
LIST = "/api/reservations/"
OPERATORS = ["admin", "manager_a", "staff_a"]


def detail(pk, action=""):
    return f"{LIST}{pk}/" + (f"{action}/" if action else "")


def state():
    """Everything a refused request must leave untouched."""
    return (list(Stock.objects.order_by("pk").values_list("quantity", "reserved", "incoming")),
            list(Reservation.objects.order_by("pk").values_list("status", "fulfilled_quantity")),
            StockMovement.objects.count(), AuditEvent.objects.count())


@pytest.fixture
def stocked(world):
    """10 units of the product in A, 5 in B."""
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    assign_stock(actor=world.admin, warehouse=world.wh_b, product=world.product, quantity=5)
    return world


def body(world, **extra):
    return {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 3, **extra}


# --- create ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", OPERATORS)
def test_operators_of_the_warehouse_reserve_stock(make_client, stocked, who):
    expires = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    response = make_client(getattr(stocked, who)).post(
        LIST, body(stocked, reference="SO-42", note="for ACME", expires_at=expires.isoformat()), format="json")
    assert response.status_code == 201, response.data
    reservation = Reservation.objects.get()
    assert response.json() == {
        "id": reservation.pk, "warehouse": stocked.wh_a.pk, "product": stocked.product.pk, "quantity": 3,
        "fulfilled_quantity": 0, "status": "active", "reference": "SO-42", "note": "for ACME",
        "created_by": getattr(stocked, who).pk, "created_at": response.json()["created_at"],
        "expires_at": expires.isoformat().replace("+00:00", "Z"), "closed_at": None,
    }
    stock = make_client(stocked.viewer).get("/api/stocks/", {"warehouse": stocked.wh_a.pk}).json()["results"][0]
    assert (stock["quantity"], stock["reserved"], stock["available"], stock["incoming"]) == (10, 3, 7, 0)
    assert AuditEvent.objects.get(action="reservation.create").ip == "127.0.0.1"


@pytest.mark.parametrize("who", ["viewer", "manager_b", "staff_b"])
def test_others_cannot_reserve_in_warehouse_a(make_client, stocked, who):
    before = state()
    response = make_client(getattr(stocked, who)).post(LIST, body(stocked), format="json")
    assert response.status_code == 403 and response.data["code"] == "permission_denied"
    assert state() == before


def test_anonymous_cannot_reserve(anon, stocked):
    assert anon.post(LIST, body(stocked), format="json").status_code == 401


def test_reserving_more_than_available_is_409_with_available_and_requested(make_client, stocked):
    reserve_stock(actor=stocked.admin, warehouse=stocked.wh_a, product=stocked.product, quantity=8)
    before = state()
    response = make_client(stocked.staff_a).post(LIST, body(stocked, quantity=3), format="json")
    assert response.status_code == 409
    assert response.data == {"detail": response.data["detail"], "code": "insufficient_stock", "available": 2,
                             "requested": 3}
    assert state() == before


@pytest.mark.parametrize("patch", [
    {"quantity": 0}, {"quantity": -1}, {"quantity": 10**9 + 1}, {"quantity": 10**30}, {"quantity": "x"},
    {"quantity": 1.5}, {"warehouse": 10**9}, {"product": 10**9}, {"warehouse": "x"}, {"reference": "x" * 101},
    {"expires_at": "yesterday"}, {"expires_at": "2001-01-01T00:00:00Z"}, {"note": "n" * 1001},
])
def test_bad_input_is_400_and_changes_nothing(make_client, stocked, patch):
    before = state()
    response = make_client(stocked.admin).post(LIST, body(stocked, **patch), format="json")
    assert response.status_code == 400, response.data
    assert set(patch) <= set(response.data)
    assert state() == before


@pytest.mark.parametrize(("offset", "status"), [
    (timedelta(seconds=-1), 400), (timedelta(days=30, minutes=1), 400), (timedelta(days=29, hours=23), 201),
])
def test_expires_at_must_be_in_the_future_and_within_30_days(make_client, stocked, offset, status):
    expires = timezone.now() + offset
    response = make_client(stocked.admin).post(LIST, body(stocked, expires_at=expires.isoformat()), format="json")
    assert response.status_code == status, response.data
    if status == 400:
        assert "expires_at" in response.data and not Reservation.objects.exists()


def test_reserving_an_inactive_product_or_warehouse_is_400_inactive(make_client, stocked):
    stocked.product.is_active = False
    stocked.product.save()
    before = state()
    response = make_client(stocked.admin).post(LIST, body(stocked), format="json")
    assert (response.status_code, response.data["code"]) == (400, "inactive")
    assert state() == before


@pytest.mark.parametrize("key", ["actor", "status", "created_by", "fulfilled_quantity", "id", "created_at",
                                 "closed_at", "reserved", "surely_unknown"])
def test_an_unknown_or_read_only_key_in_a_create_is_400_naming_it(make_client, stocked, key):
    before = state()
    response = make_client(stocked.admin).post(LIST, body(stocked, **{key: 1}), format="json")
    assert response.status_code == 400 and key in response.data
    assert state() == before


def test_a_repeated_idempotency_key_reserves_once(make_client, stocked):
    client = make_client(stocked.staff_a)
    first = client.post(LIST, body(stocked), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(LIST, body(stocked), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Reservation.objects.count() == 1 and Stock.objects.get(warehouse=stocked.wh_a).reserved == 3


# --- list and detail ----------------------------------------------------------------------------------------

@pytest.fixture
def two(stocked):
    """One reservation in A (SO-A), one in B (SO-B)."""
    a = reserve_stock(actor=stocked.admin, warehouse=stocked.wh_a, product=stocked.product, quantity=2,
                      reference="SO-A")
    b = reserve_stock(actor=stocked.admin, warehouse=stocked.wh_b, product=stocked.product, quantity=1,
                      reference="SO-B")
    return a, b


@pytest.mark.parametrize(("who", "sees"), [("admin", {"SO-A", "SO-B"}), ("manager_a", {"SO-A"}),
                                           ("staff_a", {"SO-A"}), ("staff_b", {"SO-B"})])
def test_the_list_shows_the_reservations_of_the_callers_warehouses(make_client, world, two, who, sees):
    response = make_client(getattr(world, who)).get(LIST)
    assert response.status_code == 200
    assert {r["reference"] for r in response.data["results"]} == sees


def test_viewers_may_not_list_reservations_and_find_none(make_client, world, two):
    client = make_client(world.viewer)
    assert client.get(LIST).status_code == 403
    assert client.get(detail(two[0].pk)).status_code == 404


def test_detail_of_another_warehouses_reservation_is_404(make_client, world, two):
    assert make_client(world.staff_b).get(detail(two[0].pk)).status_code == 404
    assert make_client(world.manager_b).get(detail(two[0].pk)).status_code == 404
    assert make_client(world.staff_a).get(detail(two[0].pk)).json()["reference"] == "SO-A"
    for bad in ("999999", "x", str(10**30)):
        assert make_client(world.admin).get(detail(bad)).status_code == 404


def test_the_list_filters_by_status_warehouse_product_and_reference(make_client, world, two):
    other = ProductFactory()
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=other, quantity=1)
    reserve_stock(actor=world.admin, warehouse=world.wh_a, product=other, quantity=1, reference="SO-C")
    make_client(world.admin).post(detail(two[1].pk, "release"), {}, format="json")
    client = make_client(world.admin)

    def refs(**query):
        response = client.get(LIST, query)
        assert response.status_code == 200, response.data
        return {r["reference"] for r in response.data["results"]}

    assert refs(status="active") == {"SO-A", "SO-C"}
    assert refs(status="released") == {"SO-B"}
    assert refs(warehouse=world.wh_b.pk) == {"SO-B"}
    assert refs(product=other.pk) == {"SO-C"}
    assert refs(reference="SO-A") == {"SO-A"}
    for bad in ({"status": "gone"}, {"warehouse": "x"}, {"product": str(10**30)}, {"reference": "r" * 101}):
        assert client.get(LIST, bad).status_code == 400


# --- release and fulfil --------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", OPERATORS)
def test_operators_release_a_reservation(make_client, world, two, who):
    response = make_client(getattr(world, who)).post(detail(two[0].pk, "release"), {}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["status"] == "released" and response.data["closed_at"] is not None
    assert Stock.objects.get(warehouse=world.wh_a).reserved == 0


@pytest.mark.parametrize("who", OPERATORS)
def test_operators_fulfil_a_reservation_in_part(make_client, world, two, who):
    response = make_client(getattr(world, who)).post(detail(two[0].pk, "fulfil"), {"quantity": 1}, format="json")
    assert response.status_code == 200, response.data
    assert (response.data["status"], response.data["fulfilled_quantity"]) == ("fulfilled", 1)
    stock = Stock.objects.get(warehouse=world.wh_a)
    assert (stock.quantity, stock.reserved) == (9, 0)
    movement = StockMovement.objects.get(kind="fulfil")
    feed = make_client(world.staff_a).get("/api/stock-movements/", {"kind": "fulfil"}).json()["results"]
    assert [(m["id"], m["reference_type"], m["reference_id"]) for m in feed] == [
        (movement.pk, "reservation", two[0].pk)]


def test_fulfil_without_a_body_takes_everything(make_client, world, two):
    response = make_client(world.staff_a).post(detail(two[0].pk, "fulfil"), format="json")
    assert (response.status_code, response.data["fulfilled_quantity"]) == (200, 2)


@pytest.mark.parametrize("action", ["release", "fulfil"])
@pytest.mark.parametrize(("who", "status"), [("viewer", 404), ("manager_b", 404), ("staff_b", 404)])
def test_others_cannot_act_on_warehouse_as_reservations(make_client, world, two, action, who, status):
    before = state()
    response = make_client(getattr(world, who)).post(detail(two[0].pk, action), {}, format="json")
    assert response.status_code == status
    assert state() == before


@pytest.mark.parametrize("quantity", [3, 0, -1, "x", 10**30])
def test_fulfilling_more_than_reserved_or_a_bad_quantity_is_400_and_changes_nothing(make_client, world, two,
                                                                                     quantity):
    before = state()
    response = make_client(world.admin).post(detail(two[0].pk, "fulfil"), {"quantity": quantity}, format="json")
    assert response.status_code == 400, response.data
    assert state() == before


@pytest.mark.parametrize("action", ["release", "fulfil"])
@pytest.mark.parametrize("key", ["surely_unknown", "status", "created_at", "actor"])
def test_an_unknown_or_read_only_key_in_an_action_is_400_naming_it(make_client, world, two, action, key):
    before = state()
    response = make_client(world.admin).post(detail(two[0].pk, action), {key: 1}, format="json")
    assert response.status_code == 400 and key in response.data
    assert state() == before


@pytest.mark.parametrize("first", ["release", "fulfil"])
@pytest.mark.parametrize("then", ["release", "fulfil"])
def test_acting_on_a_closed_reservation_is_409_not_active_with_its_status(make_client, world, two, first, then):
    client = make_client(world.admin)
    assert client.post(detail(two[0].pk, first), {}, format="json").status_code == 200
    before = state()
    response = client.post(detail(two[0].pk, then), {}, format="json")
    assert response.status_code == 409
    assert (response.data["code"], response.data["status"]) == (
        "not_active", "released" if first == "release" else "fulfilled")
    assert state() == before


def test_a_repeated_idempotency_key_fulfils_once(make_client, world, two):
    client = make_client(world.staff_a)
    first = client.post(detail(two[0].pk, "fulfil"), {"quantity": 1}, format="json", HTTP_IDEMPOTENCY_KEY="f")
    again = client.post(detail(two[0].pk, "fulfil"), {"quantity": 1}, format="json", HTTP_IDEMPOTENCY_KEY="f")
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (200, 200, "true")
    assert StockMovement.objects.filter(kind="fulfil").count() == 1


# --- every Part I operation refuses to take reserved units (409, nothing changed) ------------------------------

@pytest.fixture
def mostly_reserved(stocked):
    """A: 10 on hand, 8 reserved, 2 available."""
    ReservationFactory(warehouse=stocked.wh_a, product=stocked.product, quantity=8, assign=0)
    return stocked


def assert_refused(response, *, available, requested):
    assert response.status_code == 409, response.data
    assert (response.data["code"], response.data["available"], response.data["requested"]) == (
        "insufficient_stock", available, requested)


def test_api_adjust_cannot_take_reserved_units(make_client, mostly_reserved):
    world = mostly_reserved
    before = state()
    response = make_client(world.staff_a).post("/api/stocks/adjust/", {
        "warehouse": world.wh_a.pk, "product": world.product.pk, "delta": -3, "reason": "damage"}, format="json")
    assert_refused(response, available=2, requested=3)
    assert state() == before


def _purchase(world):
    request = create_purchase_request(actor=world.viewer, warehouse=world.wh_a, product=world.product, quantity=3)
    return request, "/api/purchase-requests/approve/", world.staff_a


def _direct_transfer(world):
    request = create_transfer_request(actor=world.admin, source=world.wh_a, destination=world.wh_b,
                                      product=world.product, quantity=3)
    return request, "/api/transfer-requests/approve/", world.admin


@pytest.mark.parametrize("make", [_purchase, _direct_transfer], ids=["purchase", "direct_transfer"])
def test_api_request_approvals_cannot_take_reserved_units(make_client, mostly_reserved, make):
    request, url, decider = make(mostly_reserved)
    before = state()
    response = make_client(decider).post(url, {"id": request.pk, "decision": "approve"}, format="json")
    assert_refused(response, available=2, requested=3)
    assert state() == before
    request.refresh_from_db()
    assert request.status == "pending"


def test_api_reserve_cannot_take_reserved_units(make_client, mostly_reserved):
    world = mostly_reserved
    before = state()
    response = make_client(world.manager_a).post(LIST, body(world, quantity=3), format="json")
    assert_refused(response, available=2, requested=3)
    assert state() == before


def test_api_adjust_with_a_stale_expected_quantity_is_409_with_current(make_client, mostly_reserved):
    world = mostly_reserved
    client = make_client(world.staff_a)
    payload = {"warehouse": world.wh_a.pk, "product": world.product.pk, "delta": 1, "reason": "correction",
               "expected_quantity": 9}
    before = state()
    response = client.post("/api/stocks/adjust/", payload, format="json")
    assert response.status_code == 409
    assert (response.data["code"], response.data["current"]) == ("stale_quantity", 10)
    assert state() == before
    response = client.post("/api/stocks/adjust/", {**payload, "expected_quantity": 10}, format="json")
    assert response.status_code == 200 and response.data["quantity"] == 11
    for bad in (-1, "x", 1.5):
        assert client.post("/api/stocks/adjust/", {**payload, "expected_quantity": bad},
                           format="json").status_code == 400
