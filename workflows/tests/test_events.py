"""The workflow services announce each document action once, in its transaction, after the row is saved (SPEC §16).

`PurchaseRequestChanged` (created, decided, cancelled), `TransferRequestChanged` (created, decided, shipped,
received after each receipt, closed, cancelled) and `StockCountChanged` (submitted, decided; both, in that
order, when a count is applied at submit). A refused action announces nothing.
"""

import pytest

from accounts.models import AuditEvent
from core import events
from core.errors import InvalidState, NotPending, PermissionDenied
from core.tests.recording import recording
from inventory.errors import InsufficientStock, InvalidQuantity
from inventory.events import StockChanged
from inventory.models import Stock, StockMovement
from workflows import services
from workflows.errors import InvalidCount
from workflows.events import PurchaseRequestChanged, StockCountChanged, TransferRequestChanged
from workflows.models import PurchaseRequest, StockCount, TransferRequest

from .conftest import put_stock, quantity_of
from .factories import PurchaseRequestFactory, StockCountFactory

pytestmark = pytest.mark.django_db

DOCUMENT_EVENTS = (PurchaseRequestChanged, TransferRequestChanged, StockCountChanged)


@pytest.fixture
def seen():
    """Every document event the test emits (the recorder is removed afterwards)."""
    with recording(*DOCUMENT_EVENTS) as recorded:
        yield recorded


def only(seen, kind, action, pk, status):
    """Exactly one event was recorded: `kind`/`action` about row `pk`, whose saved status was `status`."""
    assert seen.summary() == [(kind, action, pk, status)]
    assert seen[0].in_transaction


# --- purchase requests ------------------------------------------------------------------------------

def test_creating_a_purchase_request_announces_it_pending(world, seen):
    purchase = services.create_purchase_request(actor=world.viewer, warehouse=world.wh_a, product=world.product,
                                                quantity=2)
    only(seen, "PurchaseRequestChanged", "created", purchase.pk, "pending")
    assert seen[0].subject is purchase


@pytest.mark.parametrize(("decision", "status"), [("approve", "approved"), ("reject", "rejected")])
def test_deciding_a_purchase_request_announces_it_decided(world, seen, decision, status):
    put_stock(world, world.wh_a, 5)
    purchase = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, requested_by=world.viewer)
    services.decide_purchase_request(actor=world.manager_a, request_id=purchase.pk, decision=decision)
    only(seen, "PurchaseRequestChanged", "decided", purchase.pk, status)


def test_a_document_event_comes_after_the_doors_event_of_its_action(world):
    put_stock(world, world.wh_a, 5)
    purchase = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, requested_by=world.viewer)
    with recording(StockChanged, PurchaseRequestChanged) as ordered:
        services.decide_purchase_request(actor=world.manager_a, request_id=purchase.pk, decision="approve")
    assert [(s.kind, s.action) for s in ordered] == [("StockChanged", None), ("PurchaseRequestChanged", "decided")]


def test_cancelling_a_purchase_request_announces_it_cancelled(world, seen):
    purchase = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, requested_by=world.viewer)
    services.cancel_purchase_request(actor=world.viewer, request_id=purchase.pk)
    only(seen, "PurchaseRequestChanged", "cancelled", purchase.pk, "cancelled")


def test_refused_purchase_actions_announce_nothing(world, seen):
    purchase = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, requested_by=world.viewer,
                                      quantity=3)
    with pytest.raises(PermissionDenied):  # only viewers create
        services.create_purchase_request(actor=world.staff_a, warehouse=world.wh_a, product=world.product,
                                         quantity=1)
    with pytest.raises(InvalidQuantity):
        services.create_purchase_request(actor=world.viewer, warehouse=world.wh_a, product=world.product,
                                         quantity=0)
    with pytest.raises(InsufficientStock):  # nothing on hand: stays pending
        services.decide_purchase_request(actor=world.manager_a, request_id=purchase.pk, decision="approve")
    with pytest.raises(PermissionDenied):  # the requester sees it but does not decide
        services.decide_purchase_request(actor=world.viewer, request_id=purchase.pk, decision="approve")
    with pytest.raises(PermissionDenied):
        services.cancel_purchase_request(actor=world.manager_a, request_id=purchase.pk)
    services.decide_purchase_request(actor=world.manager_a, request_id=purchase.pk, decision="reject")
    with pytest.raises(NotPending):
        services.decide_purchase_request(actor=world.manager_a, request_id=purchase.pk, decision="reject")
    with pytest.raises(NotPending):
        services.cancel_purchase_request(actor=world.viewer, request_id=purchase.pk)
    only(seen, "PurchaseRequestChanged", "decided", purchase.pk, "rejected")


def test_a_purchase_request_out_of_scope_announces_nothing(world, seen):
    from core.errors import NotFound

    purchase = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, requested_by=world.viewer)
    with pytest.raises(NotFound):
        services.decide_purchase_request(actor=world.staff_b, request_id=purchase.pk, decision="approve")
    assert seen == []


# --- over HTTP -------------------------------------------------------------------------------------

def test_a_purchase_request_created_over_http_is_announced_once(world, seen, make_client):
    response = make_client(world.viewer).post("/api/purchase-requests/", {
        "warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 2}, format="json")
    assert response.status_code == 201, response.content
    only(seen, "PurchaseRequestChanged", "created", response.json()["id"], "pending")


@pytest.mark.parametrize(("who", "body", "expected"), [
    ("viewer", {"quantity": 0}, 400),
    ("viewer", {"colour": "red"}, 400),
    ("staff_a", {}, 403),
])
def test_a_refused_create_over_http_announces_nothing(world, seen, make_client, who, body, expected):
    response = make_client(getattr(world, who)).post("/api/purchase-requests/", {
        "warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 2, **body}, format="json")
    assert response.status_code == expected, response.content
    assert seen == []
    assert not PurchaseRequest.objects.exists()


def test_an_approval_over_http_is_announced_once_and_a_second_is_refused_silently(world, seen, make_client):
    put_stock(world, world.wh_a, 5)
    purchase = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, requested_by=world.viewer)
    client = make_client(world.staff_a)
    body = {"id": purchase.pk, "decision": "approve"}
    assert client.post("/api/purchase-requests/approve/", body, format="json").status_code == 200
    assert client.post("/api/purchase-requests/approve/", body, format="json").status_code == 409
    assert make_client(world.staff_b).post("/api/purchase-requests/approve/", body,
                                           format="json").status_code == 404
    only(seen, "PurchaseRequestChanged", "decided", purchase.pk, "approved")


def test_an_idempotent_replay_announces_nothing_more(world, seen, make_client):
    client = make_client(world.viewer)
    body = {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 2}
    first = client.post("/api/purchase-requests/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    replay = client.post("/api/purchase-requests/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json()["id"] == first.json()["id"]
    only(seen, "PurchaseRequestChanged", "created", first.json()["id"], "pending")


# --- transfer requests -----------------------------------------------------------------------------

def _transfer(world, mode, lines=None):
    return services.create_transfer_request(
        actor=world.manager_a, source=world.wh_a, destination=world.wh_b, mode=mode,
        lines=lines or [(world.product, 4), (world.product2, 3)])


def test_creating_a_transfer_announces_it_pending(world, seen):
    transfer = _transfer(world, "direct")
    only(seen, "TransferRequestChanged", "created", transfer.pk, "pending")


def test_approving_a_direct_transfer_is_decided_and_nothing_else(world, seen):
    put_stock(world, world.wh_a, 10)
    put_stock(world, world.wh_a, 10, world.product2)
    transfer = _transfer(world, "direct")
    seen.clear()
    services.decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="approve")
    only(seen, "TransferRequestChanged", "decided", transfer.pk, "approved")
    assert quantity_of(world.wh_b, world.product) == 4  # the units moved in the same action


def test_the_in_transit_journey_announces_every_step_and_each_receipt(world, seen):
    put_stock(world, world.wh_a, 10)
    put_stock(world, world.wh_a, 10, world.product2)
    transfer = _transfer(world, "in_transit")
    services.decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="approve")
    services.ship_transfer(actor=world.staff_a, transfer_id=transfer.pk)
    lines = {line.product_id: line.pk for line in transfer.lines.all()}
    services.receive_transfer(actor=world.staff_b, transfer_id=transfer.pk,
                              receipts=[{"line": lines[world.product.pk], "accepted": 2, "rejected": 0},
                                        {"line": lines[world.product2.pk], "accepted": 0, "rejected": 0}])
    services.receive_transfer(actor=world.staff_b, transfer_id=transfer.pk,  # nothing arrived: nothing changes
                              receipts=[{"line": lines[world.product.pk], "accepted": 0, "rejected": 0}])
    services.receive_transfer(actor=world.staff_b, transfer_id=transfer.pk,
                              receipts=[{"line": lines[world.product.pk], "accepted": 1, "rejected": 1},
                                        {"line": lines[world.product2.pk], "accepted": 3, "rejected": 0}])
    assert seen.summary() == [
        ("TransferRequestChanged", "created", transfer.pk, "pending"),
        ("TransferRequestChanged", "decided", transfer.pk, "approved"),
        ("TransferRequestChanged", "shipped", transfer.pk, "in_transit"),
        ("TransferRequestChanged", "received", transfer.pk, "in_transit"),
        ("TransferRequestChanged", "received", transfer.pk, "received"),
    ]


def test_closing_and_rejecting_and_cancelling_transfers_are_announced(world, seen):
    put_stock(world, world.wh_a, 20)
    put_stock(world, world.wh_a, 20, world.product2)
    shipped, rejected, pending, approved = (_transfer(world, "in_transit") for _ in range(4))
    services.decide_transfer_request(actor=world.admin, request_id=shipped.pk, decision="approve")
    services.ship_transfer(actor=world.admin, transfer_id=shipped.pk)
    services.decide_transfer_request(actor=world.admin, request_id=rejected.pk, decision="reject")
    services.decide_transfer_request(actor=world.admin, request_id=approved.pk, decision="approve")
    seen.clear()
    services.close_transfer(actor=world.manager_b, transfer_id=shipped.pk, reason="the truck burnt")
    services.cancel_transfer(actor=world.manager_a, transfer_id=pending.pk)  # the requester, while pending
    services.cancel_transfer(actor=world.admin, transfer_id=approved.pk)  # its reservation is released
    assert seen.summary() == [
        ("TransferRequestChanged", "closed", shipped.pk, "closed"),
        ("TransferRequestChanged", "cancelled", pending.pk, "cancelled"),
        ("TransferRequestChanged", "cancelled", approved.pk, "cancelled"),
    ]
    assert TransferRequest.objects.get(pk=rejected.pk).status == "rejected"


def test_refused_transfer_actions_announce_nothing(world, seen):
    put_stock(world, world.wh_a, 2)
    short = _transfer(world, "direct", lines=[(world.product, 5)])
    seen.clear()
    with pytest.raises(PermissionDenied):  # only the managers of either side or an admin create
        services.create_transfer_request(actor=world.staff_a, source=world.wh_a, destination=world.wh_b,
                                         lines=[(world.product, 1)])
    with pytest.raises(PermissionDenied):  # only an admin decides
        services.decide_transfer_request(actor=world.manager_a, request_id=short.pk, decision="approve")
    with pytest.raises(InsufficientStock):
        services.decide_transfer_request(actor=world.admin, request_id=short.pk, decision="approve")
    with pytest.raises(InvalidState):  # a pending transfer does not ship
        services.ship_transfer(actor=world.admin, transfer_id=short.pk)
    services.decide_transfer_request(actor=world.admin, request_id=short.pk, decision="reject")
    with pytest.raises(InvalidState):
        services.cancel_transfer(actor=world.admin, transfer_id=short.pk)
    assert seen.summary() == [("TransferRequestChanged", "decided", short.pk, "rejected")]


def test_a_receipt_of_more_than_was_shipped_announces_nothing(world, seen):
    put_stock(world, world.wh_a, 10)
    transfer = _transfer(world, "in_transit", lines=[(world.product, 4)])
    services.decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="approve")
    services.ship_transfer(actor=world.admin, transfer_id=transfer.pk)
    seen.clear()
    line = transfer.lines.get()
    with pytest.raises(InvalidQuantity):
        services.receive_transfer(actor=world.admin, transfer_id=transfer.pk,
                                  receipts=[{"line": line.pk, "accepted": 5, "rejected": 0}])
    assert seen == []


def test_a_transfer_created_over_http_is_announced_once(world, seen, make_client):
    response = make_client(world.manager_a).post("/api/transfer-requests/", {
        "source_warehouse": world.wh_a.pk, "destination_warehouse": world.wh_b.pk, "mode": "in_transit",
        "lines": [{"product": world.product.pk, "quantity": 1}]}, format="json")
    assert response.status_code == 201, response.content
    only(seen, "TransferRequestChanged", "created", response.json()["id"], "pending")


# --- stock counts ----------------------------------------------------------------------------------

@pytest.fixture
def count(world):
    """An open count of warehouse A's bolts (50 on hand), every line counted 48 by staff A."""
    put_stock(world, world.wh_a, 50)
    count = StockCountFactory(warehouse=world.wh_a, actor=world.staff_a)
    services.record_counts(actor=world.staff_a, count_id=count.pk,
                           counts={line.pk: 48 for line in count.lines.all()})
    return count


def test_opening_recording_and_cancelling_a_count_announce_nothing(world, seen, count):
    other = StockCountFactory(warehouse=world.wh_a, actor=world.staff_a)
    services.cancel_count(actor=world.staff_a, count_id=other.pk)
    assert seen == []


def test_a_count_beyond_the_tolerance_is_submitted_then_decided(world, seen, count):
    services.submit_count(actor=world.staff_a, count_id=count.pk)
    services.decide_count(actor=world.manager_a, count_id=count.pk, decision="approve")
    assert seen.summary() == [
        ("StockCountChanged", "submitted", count.pk, "submitted"),
        ("StockCountChanged", "decided", count.pk, "applied"),
    ]
    assert quantity_of(world.wh_a, world.product) == 48


def test_a_rejected_count_is_decided(world, seen, count):
    services.submit_count(actor=world.staff_a, count_id=count.pk)
    seen.clear()
    services.decide_count(actor=world.manager_a, count_id=count.pk, decision="reject", reason="recount")
    only(seen, "StockCountChanged", "decided", count.pk, "rejected")


def test_a_count_applied_at_submit_is_submitted_and_decided_in_that_order(world, seen, count):
    world.wh_a.count_tolerance = 2
    world.wh_a.save(update_fields=["count_tolerance"])
    with recording(StockChanged, StockCountChanged) as both:
        services.submit_count(actor=world.staff_a, count_id=count.pk)
    # The door's event first (inside the apply), then one save of the count (status applied) and both
    # events, each with the saved `applied` row.
    assert both.summary() == [
        ("StockChanged", None, None, None),
        ("StockCountChanged", "submitted", count.pk, "applied"),
        ("StockCountChanged", "decided", count.pk, "applied"),
    ]
    assert seen.summary() == both.summary()[1:]
    assert seen[0].subject is seen[1].subject
    assert quantity_of(world.wh_a, world.product) == 48


def test_refused_count_actions_announce_nothing(world, seen, count):
    unfinished = StockCountFactory(warehouse=world.wh_a, actor=world.staff_a)
    with pytest.raises(InvalidCount):  # lines not counted yet
        services.submit_count(actor=world.staff_a, count_id=unfinished.pk)
    services.submit_count(actor=world.staff_a, count_id=count.pk)
    seen.clear()
    with pytest.raises(PermissionDenied):  # who counted may not decide
        services.decide_count(actor=world.staff_a, count_id=count.pk, decision="approve")
    adjust = {"actor": world.admin, "warehouse": world.wh_a, "product": world.product, "reason": "loss"}
    from inventory.services import adjust_stock

    adjust_stock(**adjust, delta=-49)  # 1 left: applying −2 would go below zero
    with pytest.raises(InsufficientStock):
        services.decide_count(actor=world.manager_a, count_id=count.pk, decision="approve")
    services.decide_count(actor=world.manager_a, count_id=count.pk, decision="reject")
    with pytest.raises(InvalidState):
        services.decide_count(actor=world.manager_a, count_id=count.pk, decision="reject")
    only(seen, "StockCountChanged", "decided", count.pk, "rejected")
    assert StockCount.objects.get(pk=unfinished.pk).status == "open"


# --- an action that fails after its emit leaves nothing --------------------------------------------

@pytest.mark.django_db(transaction=True)  # real commits: the service's own transaction rolls back
def test_a_failure_after_the_emit_rolls_back_the_whole_action(world):
    put_stock(world, world.wh_a, 5)
    purchase = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, requested_by=world.viewer,
                                      quantity=3)
    movements, audit = StockMovement.objects.count(), AuditEvent.objects.count()

    def broken(event):
        raise RuntimeError("a subscriber failed after the decision was announced")

    with recording(PurchaseRequestChanged) as seen:
        events.subscribe(PurchaseRequestChanged, broken)
        try:
            with pytest.raises(RuntimeError, match="subscriber failed"):
                services.decide_purchase_request(actor=world.manager_a, request_id=purchase.pk, decision="approve")
        finally:
            events._subscribers[PurchaseRequestChanged].remove(broken)
    assert seen.summary() == [("PurchaseRequestChanged", "decided", purchase.pk, "approved")]  # it was emitted
    purchase.refresh_from_db()
    assert (purchase.status, purchase.decided_by_id) == ("pending", None)
    assert Stock.objects.get(warehouse=world.wh_a, product=world.product).quantity == 5
    assert (StockMovement.objects.count(), AuditEvent.objects.count()) == (movements, audit)


def test_the_recorder_leaves_the_subscriber_table_as_it_found_it(world):
    before = events.subscriptions()
    with recording(*DOCUMENT_EVENTS, StockChanged):
        assert "workflows.events.PurchaseRequestChanged" in events.subscriptions()
    assert events.subscriptions() == before
