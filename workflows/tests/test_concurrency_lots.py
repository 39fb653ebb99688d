"""Every outbound path on one lot-tracked row at once (SPEC §14 "Concurrency"), real threads on PostgreSQL:
fulfilments, shipments of approved in-transit transfers and negative adjusts race; holds are honoured, no
expired unit leaves, no lot goes below zero, and the ledger shows the lots emptied strictly in FEFO order."""

import datetime

import pytest

from core.testing import outcomes, run_threads
from inventory.lots import StockLot, today
from inventory.models import Product, Stock, StockMovement
from inventory.services import adjust_stock, assign_stock, fulfil_reservation, reserve_stock
from inventory.tests.factories import ProductFactory
from inventory.verification import ledger_mismatches
from workflows.models import TransferLineLot
from workflows.services import create_transfer_request, decide_transfer_request, ship_transfer

RESERVATIONS, TRANSFERS, ADJUSTS = 10, 5, 15


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fulfilments_shipments_and_adjusts_race_on_one_lot_tracked_row(world):
    product = ProductFactory(sku="MILK-MIX", tracking=Product.Tracking.LOT)
    now = today()
    for code, days, units in (("B1", 6, 8), ("A1", 2, 7), ("X1", -1, 4), ("N1", None, 5)):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=units, lot=code,
                     expires_on=None if days is None else now + datetime.timedelta(days=days))
    # 20 units that are not expired: 10 reserved, 5 held by approved in-transit transfers, 5 free.
    reservations = [reserve_stock(actor=world.staff_a, warehouse=world.wh_a, product=product, quantity=1).pk
                    for _ in range(RESERVATIONS)]
    transfers = []
    for _ in range(TRANSFERS):
        transfer = create_transfer_request(actor=world.admin, source=world.wh_a, destination=world.wh_b,
                                           product=product, quantity=1, mode="in_transit")
        decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="approve")
        transfers.append(transfer.pk)

    def work(index):
        if index < RESERVATIONS:
            return fulfil_reservation(actor=world.staff_a, reservation_id=reservations[index]).pk
        if index < RESERVATIONS + TRANSFERS:
            return ship_transfer(actor=world.staff_a, transfer_id=transfers[index - RESERVATIONS]).pk
        return adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=product, delta=-1,
                            reason="damage").pk

    results = outcomes(run_threads(RESERVATIONS + TRANSFERS + ADJUSTS, work))
    held = results[:RESERVATIONS + TRANSFERS]
    adjusts = results[RESERVATIONS + TRANSFERS:]
    assert all(kind == "ok" for kind, _ in held), held  # every hold is honoured
    assert sorted(adjusts).count(("error", "insufficient_stock")) == ADJUSTS - 5  # only the 5 free units
    stock = Stock.objects.get(warehouse=world.wh_a, product=product)
    assert (stock.quantity, stock.reserved) == (4, 0)
    balances = dict(StockLot.objects.filter(stock=stock).values_list("lot__code", "quantity"))
    assert balances == {"A1": 0, "B1": 0, "N1": 0, "X1": 4}  # the expired lot untouched
    taken = list(StockMovement.objects.filter(stock=stock, quantity_change__lt=0).order_by("pk")
                 .values_list("lot__code", flat=True))
    assert taken == ["A1"] * 7 + ["B1"] * 8 + ["N1"] * 5
    assert Stock.objects.get(warehouse=world.wh_b, product=product).incoming == TRANSFERS
    assert sum(TransferLineLot.objects.filter(line__transfer_id__in=transfers).values_list("shipped", flat=True)) \
        == TRANSFERS
    assert ledger_mismatches() == []
