"""Transfers that travel, raced with real threads on PostgreSQL (each thread its own connection).

Proven here: ship and cancel of one approved transfer have exactly one winner; two receipts of a
line's last units never over-receive; 24 opposing multi-line direct transfers never deadlock and
lose no unit.
"""

import pytest
from django.db.models import Sum

from core.testing import outcomes, run_threads
from inventory.models import Stock, StockMovement
from inventory.tests.factories import ProductFactory
from inventory.verification import ledger_mismatches
from workflows import services
from workflows.models import TransferLine, TransferRequest

from .conftest import put_stock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _in_transit(world, *, lines, ship: bool):
    transfer = services.create_transfer_request(actor=world.admin, source=world.wh_a, destination=world.wh_b,
                                                lines=lines, mode="in_transit")
    services.decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="approve")
    if ship:
        services.ship_transfer(actor=world.admin, transfer_id=transfer.pk)
    return transfer


def _row(warehouse, product):
    return Stock.objects.get(warehouse=warehouse, product=product)


@pytest.mark.parametrize("round_", range(3))
def test_ship_against_cancel_on_one_approved_transfer_has_exactly_one_winner(world, round_):
    put_stock(world, world.wh_a, 20)
    transfer = _in_transit(world, lines=[(world.product, 5)], ship=False)

    def work(index):
        if index % 2:
            services.ship_transfer(actor=world.staff_a, transfer_id=transfer.pk)
            return "shipped"
        services.cancel_transfer(actor=world.admin, transfer_id=transfer.pk)
        return "cancelled"

    results = outcomes(run_threads(8, work))
    winners = [value for kind, value in results if kind == "ok"]
    assert len(winners) == 1, results
    assert [value for kind, value in results if kind == "error"] == ["invalid_state"] * 7
    transfer.refresh_from_db()
    source, destination = _row(world.wh_a, world.product), Stock.objects.filter(warehouse=world.wh_b).first()
    if winners == ["shipped"]:
        assert transfer.status == "in_transit"
        assert (source.quantity, source.reserved, destination.incoming) == (15, 0, 5)
        assert StockMovement.objects.filter(kind="transfer_out").count() == 1
    else:
        assert transfer.status == "cancelled"
        assert (source.quantity, source.reserved) == (20, 0)
        assert destination is None or destination.incoming == 0
        assert StockMovement.objects.filter(kind="transfer_out").count() == 0
    assert ledger_mismatches() == []


def test_two_receipts_of_the_last_units_of_a_line_never_over_receive(world):
    put_stock(world, world.wh_a, 20)
    transfer = _in_transit(world, lines=[(world.product, 10)], ship=True)
    line = TransferLine.objects.get(transfer=transfer)
    services.receive_transfer(actor=world.staff_b, transfer_id=transfer.pk,
                              receipts=[{"line": line.pk, "accepted": 7, "rejected": 0}])

    def work(index):
        receipt = {"line": line.pk, "accepted": 2, "rejected": 1} if index % 2 else {
            "line": line.pk, "accepted": 3, "rejected": 0}
        services.receive_transfer(actor=world.manager_b, transfer_id=transfer.pk, receipts=[receipt])
        return "received"

    results = outcomes(run_threads(10, work))
    assert [value for kind, value in results if kind == "ok"] == ["received"], results
    # the losers see the line fully accounted for: a 409 (no longer in transit)
    assert {value for kind, value in results if kind == "error"} == {"invalid_state"}
    line.refresh_from_db()
    assert line.received_quantity + line.rejected_quantity == line.shipped_quantity == 10
    transfer.refresh_from_db()
    assert transfer.status == "received"
    destination = _row(world.wh_b, world.product)
    assert (destination.quantity, destination.incoming) == (line.received_quantity, 0)
    assert ledger_mismatches() == []


def test_two_partial_receipts_racing_on_one_line_never_exceed_what_was_shipped(world):
    put_stock(world, world.wh_a, 20)
    transfer = _in_transit(world, lines=[(world.product, 10)], ship=True)
    line = TransferLine.objects.get(transfer=transfer)
    services.receive_transfer(actor=world.staff_b, transfer_id=transfer.pk,
                              receipts=[{"line": line.pk, "accepted": 6, "rejected": 0}])

    def work(index):  # each asks for 3 of the 4 left: only one can have them
        services.receive_transfer(actor=world.staff_b, transfer_id=transfer.pk,
                                  receipts=[{"line": line.pk, "accepted": 3, "rejected": 0}])
        return "received"

    results = outcomes(run_threads(8, work))
    assert sum(1 for kind, _ in results if kind == "ok") == 1, results
    assert {value for kind, value in results if kind == "error"} == {"invalid_quantity"}
    line.refresh_from_db()
    assert (line.received_quantity, line.outstanding) == (9, 1)
    destination = _row(world.wh_b, world.product)
    assert (destination.quantity, destination.incoming) == (9, 1)
    assert ledger_mismatches() == []


def test_twenty_four_opposing_multi_line_direct_transfers_never_deadlock_and_lose_no_unit(world):
    products = [world.product, world.product2, *ProductFactory.create_batch(2)]
    for product in products:
        put_stock(world, world.wh_a, 40, product)
        put_stock(world, world.wh_b, 40, product)
    transfers = []
    for i in range(24):
        source, destination = (world.wh_a, world.wh_b) if i % 2 == 0 else (world.wh_b, world.wh_a)
        # the same products, listed in opposite orders by opposing transfers
        ordered = products if i % 2 == 0 else list(reversed(products))
        transfers.append(services.create_transfer_request(
            actor=world.admin, source=source, destination=destination,
            lines=[(product, 2 + (i + k) % 5) for k, product in enumerate(ordered)]))

    def work(index):
        services.decide_transfer_request(actor=world.admin, request_id=transfers[index].pk, decision="approve")
        return "approved"

    results = outcomes(run_threads(24, work))
    assert {kind for kind, _ in results} <= {"ok"} | {"error"}
    assert {value for kind, value in results if kind == "error"} <= {"insufficient_stock"}, results
    approved = {t.pk for t, (kind, _) in zip(transfers, results, strict=True) if kind == "ok"}
    assert approved
    assert set(TransferRequest.objects.filter(status="approved").values_list("pk", flat=True)) == approved
    for product in products:
        total = Stock.objects.filter(product=product).aggregate(units=Sum("quantity"))["units"]
        assert total == 80, product
    assert StockMovement.objects.filter(kind="transfer_out").count() == len(approved) * len(products)
    assert StockMovement.objects.filter(kind="transfer_in").count() == len(approved) * len(products)
    assert ledger_mismatches() == []
