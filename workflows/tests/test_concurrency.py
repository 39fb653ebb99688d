"""Real threads racing on PostgreSQL: each thread has its own connection and its own transaction.

The guarantees proven here: a request is decided exactly once; stock never goes below zero or
out of step with its ledger; opposing transfers never deadlock; an Idempotency-Key acts once.
"""

import queue

import pytest

from core.errors import NotPending
from core.testing import run_threads
from inventory.errors import InsufficientStock
from inventory.models import Stock, StockMovement
from workflows import services
from workflows.models import PurchaseRequest, TransferRequest

from .conftest import ledger_consistent, put_stock, quantity_of
from .factories import PurchaseRequestFactory, TransferRequestFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TIMEOUT = 60




def test_sixteen_deciders_approve_thirty_requests_against_ten_units(world):
    put_stock(world, world.wh_a, 10)
    requests = [PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, quantity=1,
                                       requested_by=world.viewer) for _ in range(30)]
    work_queue: queue.Queue = queue.Queue()
    for purchase in requests:
        work_queue.put(purchase.pk)
    deciders = [world.admin, world.manager_a, world.staff_a]

    def work(index):
        outcomes = []
        while True:
            try:
                request_id = work_queue.get_nowait()
            except queue.Empty:
                return outcomes
            try:
                services.decide_purchase_request(actor=deciders[index % 3], request_id=request_id,
                                                 decision="approve")
                outcomes.append(("approved", request_id))
            except InsufficientStock as exc:
                outcomes.append(("insufficient", request_id, exc.extra["available"]))

    results = run_threads(16, work)
    assert not [r for r in results if isinstance(r, BaseException)], results
    outcomes = [outcome for result in results for outcome in result]
    assert len(outcomes) == 30
    approved = {o[1] for o in outcomes if o[0] == "approved"}
    insufficient = {o[1] for o in outcomes if o[0] == "insufficient"}
    assert (len(approved), len(insufficient)) == (10, 20)
    assert {o[2] for o in outcomes if o[0] == "insufficient"} == {0}
    assert set(PurchaseRequest.objects.filter(status="approved").values_list("pk", flat=True)) == approved
    assert set(PurchaseRequest.objects.filter(status="pending").values_list("pk", flat=True)) == insufficient
    assert quantity_of(world.wh_a, world.product) == 0
    purchases = StockMovement.objects.filter(kind="purchase")
    assert purchases.count() == 10
    assert set(purchases.values_list("reference_id", flat=True)) == approved
    assert sorted(purchases.values_list("quantity_after", flat=True)) == list(range(10))
    assert ledger_consistent()


def test_twelve_racing_decisions_on_one_request_have_exactly_one_winner(world):
    put_stock(world, world.wh_a, 100)
    purchase = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, quantity=5,
                                      requested_by=world.viewer)
    deciders = [world.admin, world.manager_a, world.staff_a]

    def work(index):
        services.decide_purchase_request(actor=deciders[index % 3], request_id=purchase.pk, decision="approve")
        return "won"

    results = run_threads(12, work)
    assert results.count("won") == 1
    assert sum(isinstance(r, NotPending) for r in results) == 11
    purchase.refresh_from_db()
    assert purchase.status == "approved"
    assert StockMovement.objects.filter(kind="purchase", reference_id=purchase.pk).count() == 1
    assert quantity_of(world.wh_a, world.product) == 95
    assert ledger_consistent()


def test_racing_approve_and_reject_leave_one_consistent_outcome(world):
    put_stock(world, world.wh_a, 100)
    purchase = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, quantity=5,
                                      requested_by=world.viewer)

    def work(index):
        decision = "approve" if index % 2 else "reject"
        services.decide_purchase_request(actor=world.staff_a, request_id=purchase.pk, decision=decision)
        return decision

    results = run_threads(10, work)
    winners = [r for r in results if r in ("approve", "reject")]
    assert len(winners) == 1 and sum(isinstance(r, NotPending) for r in results) == 9
    purchase.refresh_from_db()
    assert purchase.status == {"approve": "approved", "reject": "rejected"}[winners[0]]
    moved = StockMovement.objects.filter(kind="purchase").count()
    assert (moved, quantity_of(world.wh_a, world.product)) == ((1, 95) if winners[0] == "approve" else (0, 100))


def test_opposing_transfers_never_deadlock_and_conserve_units(world):
    put_stock(world, world.wh_a, 30)
    put_stock(world, world.wh_b, 30)
    transfers = []
    for i in range(24):
        source, destination = (world.wh_a, world.wh_b) if i % 2 == 0 else (world.wh_b, world.wh_a)
        transfers.append(TransferRequestFactory(source_warehouse=source, destination_warehouse=destination,
                                                product=world.product, quantity=3 + i % 5,
                                                requested_by=world.admin))

    def work(index):
        try:
            services.decide_transfer_request(actor=world.admin, request_id=transfers[index].pk, decision="approve")
            return "approved"
        except InsufficientStock:
            return "insufficient"

    results = run_threads(24, work)
    assert all(r in ("approved", "insufficient") for r in results), results  # no deadlock or other error
    approved = {t.pk for t, r in zip(transfers, results, strict=True) if r == "approved"}
    assert approved, "at least the first approvals must succeed"
    assert set(TransferRequest.objects.filter(status="approved").values_list("pk", flat=True)) == approved
    assert TransferRequest.objects.filter(status="pending").count() == 24 - len(approved)
    assert quantity_of(world.wh_a, world.product) + quantity_of(world.wh_b, world.product) == 60
    assert StockMovement.objects.filter(kind="transfer_out").count() == len(approved)
    assert StockMovement.objects.filter(kind="transfer_in").count() == len(approved)
    assert Stock.objects.filter(quantity__lt=0).count() == 0
    assert ledger_consistent()


def test_eight_identical_creations_with_one_key_create_once(world, make_client):
    body = {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 2, "reason": "same"}

    def work(index):
        response = make_client(world.viewer).post("/api/purchase-requests/", body, format="json",
                                                 HTTP_IDEMPOTENCY_KEY="eight-at-once")
        return response.status_code, response.content, response.headers.get("Idempotent-Replayed")

    results = run_threads(8, work)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert {status for status, _, _ in results} == {201}
    assert len({body for _, body, _ in results}) == 1  # byte-for-byte the same body
    assert sum(replayed is None for _, _, replayed in results) == 1
    assert PurchaseRequest.objects.count() == 1


def test_eight_identical_approvals_with_one_key_deduct_once(world, make_client):
    put_stock(world, world.wh_a, 10)
    purchase = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, quantity=4,
                                      requested_by=world.viewer)
    body = {"id": purchase.pk, "decision": "approve"}

    def work(index):
        response = make_client(world.manager_a).post("/api/purchase-requests/approve/", body, format="json",
                                                    HTTP_IDEMPOTENCY_KEY="approve-once")
        return response.status_code, response.content, response.headers.get("Idempotent-Replayed")

    results = run_threads(8, work)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert {status for status, _, _ in results} == {200}
    assert len({body for _, body, _ in results}) == 1  # byte-for-byte the same body
    assert sum(replayed is None for _, _, replayed in results) == 1
    assert StockMovement.objects.filter(kind="purchase").count() == 1
    assert quantity_of(world.wh_a, world.product) == 6
