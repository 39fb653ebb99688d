"""SPEC §11 through the API: multi-line transfers, direct and in-transit journeys, receipts, closes, cancels."""

import pytest

from accounts.models import AuditEvent
from accounts.tests.factories import UserFactory
from inventory.models import Stock, StockMovement
from warehouses.tests.factories import WarehouseFactory
from workflows.models import TransferLine, TransferRequest

from .conftest import put_stock
from .factories import TransferRequestFactory

pytestmark = pytest.mark.django_db

LIST = "/api/transfer-requests/"
APPROVE = "/api/transfer-requests/approve/"


def _url(transfer, action):
    return f"{LIST}{transfer.pk if hasattr(transfer, 'pk') else transfer}/{action}/"


def buckets(warehouse, product) -> tuple[int, int, int]:
    """(quantity, reserved, incoming) of a stock row; zeros when it does not exist."""
    row = Stock.objects.filter(warehouse=warehouse, product=product).first()
    return (row.quantity, row.reserved, row.incoming) if row else (0, 0, 0)


def state() -> dict:
    """Everything a transfer action may change; equal states mean nothing was written."""
    return {
        "transfers": list(TransferRequest.objects.order_by("pk").values_list("pk", "status", "decided_by")),
        "lines": list(TransferLine.objects.order_by("pk").values_list(
            "pk", "shipped_quantity", "received_quantity", "rejected_quantity")),
        "stock": list(Stock.objects.order_by("pk").values_list("pk", "quantity", "reserved", "incoming")),
        "movements": StockMovement.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def _create(world, client_user, make_client, **body):
    payload = {"source_warehouse": world.wh_a.pk, "destination_warehouse": world.wh_b.pk, **body}
    response = make_client(client_user).post(LIST, payload, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def stocked(world):
    put_stock(world, world.wh_a, 10)
    put_stock(world, world.wh_a, 6, world.product2)
    return world


@pytest.fixture
def approved(stocked, make_client):
    """An approved two-line in-transit transfer A → B (4 bolts, 3 nuts), requested by manager A."""
    body = _create(stocked, stocked.manager_a, make_client, mode="in_transit",
                   lines=[{"product": stocked.product.pk, "quantity": 4},
                          {"product": stocked.product2.pk, "quantity": 3}])
    response = make_client(stocked.admin).post(APPROVE, {"id": body["id"], "decision": "approve"}, format="json")
    assert response.status_code == 200, response.content
    return TransferRequest.objects.get(pk=body["id"])


@pytest.fixture
def shipped(approved, world, make_client):
    response = make_client(world.staff_a).post(_url(approved, "ship"), {}, format="json")
    assert response.status_code == 200, response.content
    return approved


def _lines(transfer) -> dict[int, TransferLine]:
    return {line.product_id: line for line in TransferLine.objects.filter(transfer=transfer)}


# --- create ---------------------------------------------------------------------------------------

def test_part_one_body_becomes_one_line_and_shows_product_and_quantity(world, make_client):
    body = _create(world, world.admin, make_client, product=world.product.pk, quantity=4)
    assert (body["product"], body["quantity"], body["mode"]) == (world.product.pk, 4, "direct")
    [line] = body["lines"]
    assert set(line) == {"id", "product", "quantity", "shipped_quantity", "received_quantity", "rejected_quantity"}
    assert (line["product"], line["quantity"], line["shipped_quantity"]) == (world.product.pk, 4, 0)


def test_multi_line_request_has_null_product_and_quantity(world, make_client):
    body = _create(world, world.manager_b, make_client, mode="in_transit", lines=[
        {"product": world.product.pk, "quantity": 2}, {"product": world.product2.pk, "quantity": 5}])
    assert (body["product"], body["quantity"], body["mode"], body["status"]) == (None, None, "in_transit", "pending")
    assert [(line["product"], line["quantity"]) for line in body["lines"]] == [
        (world.product.pk, 2), (world.product2.pk, 5)]


@pytest.mark.parametrize("change, key", [
    ({"lines": [{"product": "P1", "quantity": 1}, {"product": "P1", "quantity": 2}]}, "lines"),
    ({"lines": [{"product": "P1", "quantity": 0}]}, "lines"),
    ({"lines": [{"product": "P1", "quantity": -3}]}, "lines"),
    ({"lines": []}, "lines"),
    ({"lines": "P1"}, "lines"),
    ({"lines": [{"product": "P1", "quantity": 1, "shipped_quantity": 1}]}, "lines"),
    ({"lines": [{"product": "P1", "quantity": 1}], "product": "P1", "quantity": 1}, "product"),
    ({"lines": [{"product": "P1", "quantity": 1}], "quantity": 1}, "quantity"),
    ({"product": "P1"}, "quantity"),
    ({}, "product"),
    ({"product": "P1", "quantity": 1, "mode": "teleport"}, "mode"),
])
def test_bad_lines_are_a_400_naming_the_problem_and_nothing_is_created(world, change, key, make_client):
    def fill(value):
        if value == "P1":
            return world.product.pk
        if isinstance(value, list):
            return [fill(item) for item in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    before = state()
    response = make_client(world.admin).post(LIST, {"source_warehouse": world.wh_a.pk,
                                                    "destination_warehouse": world.wh_b.pk, **fill(change)},
                                             format="json")
    assert response.status_code == 400, response.content
    assert key in response.json(), response.json()
    assert state() == before


def test_more_than_one_hundred_lines_is_a_400(world, make_client):
    from inventory.tests.factories import ProductFactory

    products = ProductFactory.create_batch(101)
    lines = [{"product": product.pk, "quantity": 1} for product in products]
    client = make_client(world.admin)
    body = {"source_warehouse": world.wh_a.pk, "destination_warehouse": world.wh_b.pk}
    before = state()
    response = client.post(LIST, {**body, "lines": lines}, format="json")
    assert response.status_code == 400 and "lines" in response.json()
    assert state() == before
    assert client.post(LIST, {**body, "lines": lines[:100]}, format="json").status_code == 201


# --- direct mode ------------------------------------------------------------------------------------

def test_direct_journey_moves_every_line_at_once(stocked, make_client):
    world = stocked
    body = _create(world, world.manager_a, make_client, lines=[
        {"product": world.product.pk, "quantity": 4}, {"product": world.product2.pk, "quantity": 6}])
    response = make_client(world.admin).post(APPROVE, {"id": body["id"], "decision": "approve"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    assert [(line["shipped_quantity"], line["received_quantity"]) for line in response.json()["lines"]] == [
        (4, 4), (6, 6)]
    assert buckets(world.wh_a, world.product) == (6, 0, 0) and buckets(world.wh_b, world.product) == (4, 0, 0)
    assert buckets(world.wh_a, world.product2) == (0, 0, 0) and buckets(world.wh_b, world.product2) == (6, 0, 0)
    moves = StockMovement.objects.filter(reference_type="transfer_request", reference_id=body["id"])
    assert sorted(moves.values_list("kind", "product_id")) == sorted([
        ("transfer_out", world.product.pk), ("transfer_in", world.product.pk),
        ("transfer_out", world.product2.pk), ("transfer_in", world.product2.pk)])
    # an approved direct transfer cannot be shipped or cancelled: its units already moved
    for action in ("ship", "cancel"):
        refused = make_client(world.admin).post(_url(body["id"], action), {}, format="json")
        assert refused.status_code == 409 and refused.json()["code"] == "invalid_state"
        assert refused.json()["status"] == "approved"


def test_one_short_line_refuses_the_whole_direct_transfer_naming_it(stocked, make_client):
    world = stocked
    body = _create(world, world.admin, make_client, lines=[
        {"product": world.product.pk, "quantity": 4}, {"product": world.product2.pk, "quantity": 7}])
    before = state()
    response = make_client(world.admin).post(APPROVE, {"id": body["id"], "decision": "approve"}, format="json")
    assert response.status_code == 409
    assert response.json() | {"detail": None} == {"detail": None, "code": "insufficient_stock",
                                                   "product": world.product2.pk, "available": 6, "requested": 7}
    assert state() == before


# --- in-transit mode --------------------------------------------------------------------------------

def test_in_transit_journey_reserve_ship_and_receive_in_two_partial_receipts(approved, world, make_client):
    lines = _lines(approved)
    bolts, nuts = lines[world.product.pk], lines[world.product2.pk]
    assert approved.status == "approved"
    assert buckets(world.wh_a, world.product) == (10, 4, 0) and buckets(world.wh_a, world.product2) == (6, 3, 0)

    shipped = make_client(world.manager_a).post(_url(approved, "ship"), {}, format="json")
    assert shipped.status_code == 200, shipped.content
    assert shipped.json()["status"] == "in_transit"
    assert [line["shipped_quantity"] for line in shipped.json()["lines"]] == [4, 3]
    assert buckets(world.wh_a, world.product) == (6, 0, 0) and buckets(world.wh_b, world.product) == (0, 0, 4)
    assert buckets(world.wh_a, world.product2) == (3, 0, 0) and buckets(world.wh_b, world.product2) == (0, 0, 3)

    first = make_client(world.staff_b).post(_url(approved, "receive"), {"lines": [
        {"line": bolts.pk, "accepted": 2, "rejected": 1}]}, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "in_transit"
    assert buckets(world.wh_b, world.product) == (2, 0, 1)

    # a later receipt adds to the earlier one, never replaces it
    second = make_client(world.manager_b).post(_url(approved, "receive"), {"lines": [
        {"line": bolts.pk, "accepted": 1, "rejected": 0}, {"line": nuts.pk, "accepted": 3, "rejected": 0}]},
        format="json")
    assert second.status_code == 200, second.content
    body = second.json()
    assert body["status"] == "received"
    assert [(line["received_quantity"], line["rejected_quantity"]) for line in body["lines"]] == [(3, 1), (3, 0)]
    assert buckets(world.wh_b, world.product) == (3, 0, 0) and buckets(world.wh_b, world.product2) == (3, 0, 0)
    kinds = StockMovement.objects.filter(reference_type="transfer_request", reference_id=approved.pk)
    assert sorted(kinds.values_list("kind", "warehouse_id", "quantity_change")) == sorted([
        ("transfer_out", world.wh_a.pk, -4), ("transfer_out", world.wh_a.pk, -3),
        ("transfer_in", world.wh_b.pk, 2), ("transfer_in", world.wh_b.pk, 1), ("transfer_in", world.wh_b.pk, 3)])
    actions = set(AuditEvent.objects.filter(target=f"transferrequest:{approved.pk}").values_list("action", flat=True))
    assert {"transfer_request.approve", "transfer_request.ship", "transfer_request.receive"} <= actions
    # received is final
    again = make_client(world.admin).post(_url(approved, "receive"), {"lines": [
        {"line": bolts.pk, "accepted": 1, "rejected": 0}]}, format="json")
    assert again.status_code == 409 and again.json()["status"] == "received"


def test_approval_that_cannot_reserve_every_line_reserves_nothing(stocked, make_client):
    world = stocked
    body = _create(world, world.admin, make_client, mode="in_transit", lines=[
        {"product": world.product.pk, "quantity": 10}, {"product": world.product2.pk, "quantity": 7}])
    before = state()
    response = make_client(world.admin).post(APPROVE, {"id": body["id"], "decision": "approve"}, format="json")
    assert response.status_code == 409
    assert (response.json()["code"], response.json()["product"], response.json()["available"]) == (
        "insufficient_stock", world.product2.pk, 6)
    assert state() == before


def test_reserved_transfer_units_are_not_available_to_others(approved, world, make_client):
    response = make_client(world.admin).post("/api/stocks/adjust/", {
        "warehouse": world.wh_a.pk, "product": world.product.pk, "delta": -7, "reason": "loss"}, format="json")
    assert response.status_code == 409 and response.json()["available"] == 6


def test_close_writes_off_the_unaccounted_units_as_lost(shipped, world, make_client):
    bolts = _lines(shipped)[world.product.pk]
    make_client(world.staff_b).post(_url(shipped, "receive"), {"lines": [
        {"line": bolts.pk, "accepted": 1, "rejected": 0}]}, format="json")
    no_reason = make_client(world.manager_b).post(_url(shipped, "close"), {}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    movements = StockMovement.objects.count()
    response = make_client(world.manager_b).post(_url(shipped, "close"), {"reason": "truck never came"},
                                                 format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"
    assert [(line["received_quantity"], line["rejected_quantity"]) for line in response.json()["lines"]] == [
        (1, 3), (0, 3)]
    assert buckets(world.wh_b, world.product) == (1, 0, 0) and buckets(world.wh_b, world.product2) == (0, 0, 0)
    assert StockMovement.objects.count() == movements  # lost units were on no shelf: no ledger row
    event = AuditEvent.objects.get(action="transfer_request.close")
    assert event.data["reason"] == "truck never came"
    again = make_client(world.admin).post(_url(shipped, "close"), {"reason": "again"}, format="json")
    assert again.status_code == 409 and again.json() | {"detail": None} == {
        "detail": None, "code": "invalid_state", "status": "closed", "mode": "in_transit"}


def test_cancel_of_an_approved_transfer_releases_its_reservation(approved, world, make_client):
    response = make_client(world.admin).post(_url(approved, "cancel"), {}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["decided_by"]) == ("cancelled", world.admin.pk)
    assert buckets(world.wh_a, world.product) == (10, 0, 0) and buckets(world.wh_a, world.product2) == (6, 0, 0)


def test_cancel_once_shipped_is_invalid_state_and_changes_nothing(shipped, world, make_client):
    before = state()
    response = make_client(world.admin).post(_url(shipped, "cancel"), {}, format="json")
    assert response.status_code == 409
    assert (response.json()["code"], response.json()["status"]) == ("invalid_state", "in_transit")
    assert state() == before


def test_requester_cancels_only_while_pending(stocked, make_client):
    world = stocked
    body = _create(world, world.manager_a, make_client, mode="in_transit", product=world.product.pk, quantity=1)
    other = _create(world, world.manager_a, make_client, mode="in_transit", product=world.product.pk, quantity=1)
    assert make_client(world.manager_a).post(_url(body["id"], "cancel"), {}, format="json").status_code == 200
    make_client(world.admin).post(APPROVE, {"id": other["id"], "decision": "approve"}, format="json")
    before = state()
    response = make_client(world.manager_a).post(_url(other["id"], "cancel"), {}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert state() == before


@pytest.mark.parametrize("action, body", [("ship", {}), ("close", {"reason": "x"}),
                                          ("receive", {"lines": [{"line": 1, "accepted": 1, "rejected": 0}]})])
def test_actions_in_the_wrong_state_are_invalid_state(stocked, action, body, make_client):
    world = stocked
    pending = TransferRequestFactory(source_warehouse=world.wh_a, destination_warehouse=world.wh_b,
                                     product=world.product, quantity=1, mode="in_transit",
                                     requested_by=world.manager_a)
    before = state()
    response = make_client(world.admin).post(_url(pending, action), body, format="json")
    assert response.status_code == 409
    assert (response.json()["code"], response.json()["status"]) == ("invalid_state", "pending")
    assert state() == before


def test_approve_of_a_shipped_transfer_is_not_pending(shipped, world, make_client):
    response = make_client(world.admin).post(APPROVE, {"id": shipped.pk, "decision": "approve"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "not_pending"


# --- receipts: bad input ------------------------------------------------------------------------------

def test_receiving_more_than_shipped_is_a_400_and_changes_nothing(shipped, world, make_client):
    bolts = _lines(shipped)[world.product.pk]
    client = make_client(world.staff_b)
    before = state()
    response = client.post(_url(shipped, "receive"), {"lines": [{"line": bolts.pk, "accepted": 4, "rejected": 1}]},
                           format="json")
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["line"]) == ("invalid_quantity", bolts.pk)
    assert state() == before
    client.post(_url(shipped, "receive"), {"lines": [{"line": bolts.pk, "accepted": 3, "rejected": 0}]},
                format="json")
    response = client.post(_url(shipped, "receive"), {"lines": [{"line": bolts.pk, "accepted": 2, "rejected": 0}]},
                           format="json")
    assert response.status_code == 400 and response.json()["outstanding"] == 1


def test_unknown_lines_and_lines_of_another_transfer_are_a_400(shipped, world, make_client):
    foreign = TransferRequestFactory(source_warehouse=world.wh_a, destination_warehouse=world.wh_b,
                                     product=world.product, quantity=1, requested_by=world.manager_a)
    foreign_line = TransferLine.objects.get(transfer=foreign)
    before = state()
    for line in (foreign_line.pk, 10**9):
        response = make_client(world.admin).post(_url(shipped, "receive"), {"lines": [
            {"line": line, "accepted": 1, "rejected": 0}]}, format="json")
        assert response.status_code == 400
        assert (response.json()["code"], response.json()["line"]) == ("invalid", line)
    assert state() == before


@pytest.mark.parametrize("lines", [
    [],
    [{"line": "L", "accepted": -1, "rejected": 0}],
    [{"line": "L", "accepted": 1, "rejected": -1}],
    [{"line": "L", "accepted": 1}, {"line": "L", "accepted": 1}],
    [{"line": "L", "accepted": 1, "received_quantity": 1}],
    [{"line": "L", "accepted": "x"}],
])
def test_malformed_receipts_are_a_400_naming_lines(shipped, world, lines, make_client):
    bolts = _lines(shipped)[world.product.pk]
    lines = [{key: bolts.pk if value == "L" else value for key, value in item.items()} for item in lines]
    before = state()
    response = make_client(world.admin).post(_url(shipped, "receive"), {"lines": lines}, format="json")
    assert response.status_code == 400, response.content
    assert "lines" in response.json()
    assert state() == before


# --- who may act --------------------------------------------------------------------------------------

@pytest.mark.parametrize("role, status", [("admin", 200), ("manager_a", 200), ("staff_a", 200),
                                          ("manager_b", 403), ("staff_b", 403), ("viewer", 404)])
def test_the_source_ships_and_the_destination_may_not(approved, world, role, status, make_client):
    before = state()
    response = make_client(getattr(world, role)).post(_url(approved, "ship"), {}, format="json")
    assert response.status_code == status, response.content
    if status != 200:
        assert state() == before


@pytest.mark.parametrize("role, status", [("admin", 200), ("manager_b", 200), ("staff_b", 200),
                                          ("manager_a", 403), ("staff_a", 403), ("viewer", 404)])
def test_the_destination_receives_and_the_source_may_not(shipped, world, role, status, make_client):
    bolts = _lines(shipped)[world.product.pk]
    before = state()
    response = make_client(getattr(world, role)).post(_url(shipped, "receive"), {"lines": [
        {"line": bolts.pk, "accepted": 1, "rejected": 0}]}, format="json")
    assert response.status_code == status, response.content
    if status != 200:
        assert state() == before


@pytest.mark.parametrize("role, status", [("admin", 200), ("manager_b", 200), ("staff_b", 403),
                                          ("manager_a", 403), ("staff_a", 403), ("viewer", 404)])
def test_the_destinations_manager_closes(shipped, world, role, status, make_client):
    before = state()
    response = make_client(getattr(world, role)).post(_url(shipped, "close"), {"reason": "lost"}, format="json")
    assert response.status_code == status, response.content
    if status != 200:
        assert state() == before


def test_people_of_neither_warehouse_get_404_for_every_action(shipped, world, make_client):
    from accounts.tests.factories import UserFactory
    from warehouses.tests.factories import WarehouseFactory

    outsider = UserFactory(manager=True)
    WarehouseFactory(code="C", manager=outsider)
    before = state()
    for action, body in (("ship", {}), ("receive", {"lines": [{"line": 1, "accepted": 1, "rejected": 0}]}),
                         ("close", {"reason": "x"}), ("cancel", {})):
        response = make_client(outsider).post(_url(shipped, action), body, format="json")
        assert response.status_code == 404, (action, response.content)
    assert make_client(world.admin).post(_url(10**9, "ship"), {}, format="json").status_code == 404
    assert state() == before


def test_ship_is_idempotent_with_a_key(approved, world, make_client):
    client = make_client(world.admin)
    first = client.post(_url(approved, "ship"), {}, format="json", HTTP_IDEMPOTENCY_KEY="ship-1")
    movements = StockMovement.objects.count()
    second = client.post(_url(approved, "ship"), {}, format="json", HTTP_IDEMPOTENCY_KEY="ship-1")
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.headers["Idempotent-Replayed"] == "true" and second.json() == first.json()
    assert StockMovement.objects.count() == movements


def test_list_filters_by_mode_and_new_statuses(shipped, world, make_client):
    TransferRequestFactory(source_warehouse=world.wh_a, destination_warehouse=world.wh_b, product=world.product,
                           requested_by=world.manager_a)
    client = make_client(world.admin)
    assert [t["id"] for t in client.get(LIST, {"mode": "in_transit"}).json()["results"]] == [shipped.pk]
    assert [t["id"] for t in client.get(LIST, {"status": "in_transit"}).json()["results"]] == [shipped.pk]


# --- a receiving form that sends every line (SPEC §11, clarified) ---------------------------------------


def test_a_receipt_with_every_line_changes_only_the_lines_that_arrived(shipped, world, make_client):
    lines = _lines(shipped)
    bolts, nuts = lines[world.product.pk], lines[world.product2.pk]
    response = make_client(world.staff_b).post(_url(shipped, "receive"), {"lines": [
        {"line": bolts.pk, "accepted": 2, "rejected": 0},
        {"line": nuts.pk, "accepted": 0, "rejected": 0},
    ]}, format="json")
    assert response.status_code == 200, response.content
    assert buckets(world.wh_b, world.product) == (2, 0, 2)
    assert buckets(world.wh_b, world.product2) == (0, 0, 3)
    by_line = {line["id"]: line for line in response.json()["lines"]}
    assert (by_line[nuts.pk]["received_quantity"], by_line[nuts.pk]["rejected_quantity"]) == (0, 0)
    assert response.json()["status"] == "in_transit"


def test_a_receipt_of_only_zero_lines_is_not_an_error_and_writes_nothing(shipped, world, make_client):
    lines = _lines(shipped)
    before = state()
    response = make_client(world.staff_b).post(_url(shipped, "receive"), {"lines": [
        {"line": line.pk, "accepted": 0, "rejected": 0} for line in lines.values()]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in_transit"
    assert state() == before


@pytest.mark.parametrize("quantities", [(0, 0), (1, 0), (99, 99)])
def test_a_receipt_on_a_transfer_not_in_transit_is_invalid_state_whatever_its_lines(approved, world, quantities,
                                                                                   make_client):
    line = next(iter(_lines(approved).values()))
    accepted, rejected = quantities
    before = state()
    response = make_client(world.staff_b).post(_url(approved, "receive"), {"lines": [
        {"line": line.pk, "accepted": accepted, "rejected": rejected}]}, format="json")
    assert response.status_code == 409, response.content
    assert (response.json()["code"], response.json()["status"]) == ("invalid_state", "approved")
    assert state() == before


def test_scope_and_role_are_still_answered_before_the_state(approved, world, make_client):
    line = next(iter(_lines(approved).values()))
    body = {"lines": [{"line": line.pk, "accepted": 0, "rejected": 0}]}
    outsider = UserFactory(staff=True, warehouse=WarehouseFactory(code="C"))
    before = state()
    for user, status, code in ((outsider, 404, "not_found"), (world.staff_a, 403, "permission_denied"),
                               (world.viewer, 404, "not_found")):
        response = make_client(user).post(_url(approved, "receive"), body, format="json")
        assert (response.status_code, response.json()["code"]) == (status, code), (user.username, response.content)
    assert state() == before
