"""Lots under a race (SPEC §14 "Concurrency"), real threads on PostgreSQL, each with its own connection: lot
balances change only under their stock row's lock, so no lot goes below zero, no expired unit leaves by FEFO,
and every take receives the lots that were first in FEFO order when it held the lock."""

import datetime

import pytest

from core.testing import run_threads
from inventory.errors import InsufficientStock
from inventory.lots import Lot, StockLot, today
from inventory.models import Product, Stock, StockMovement
from inventory.services import Reference, adjust_stock, assign_stock, deduct_stock
from inventory.tests.factories import ProductFactory
from inventory.verification import ledger_mismatches

CLIENTS = 40


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_forty_clients_taking_one_unit_each_empty_the_lots_strictly_in_fefo_order(world):
    product = ProductFactory(sku="MILK-RACE", tracking=Product.Tracking.LOT)
    now = today()
    # (code, expires_on, units), created in this order; FEFO order is A1, B1, C1, N1; X1 is expired.
    lots = [("B1", now + datetime.timedelta(days=9), 6), ("A1", now + datetime.timedelta(days=2), 5),
            ("N1", None, 4), ("X1", now - datetime.timedelta(days=1), 7), ("C1", now + datetime.timedelta(days=9), 3)]
    for code, expires_on, units in lots:
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=units, lot=code,
                     expires_on=expires_on)
    fefo = ["A1", "B1", "C1", "N1"]
    takeable = 5 + 6 + 3 + 4

    def work(index):
        # Half are negative adjusts, half purchase approvals (the door's `deduct_stock`): both take FEFO.
        if index % 2:
            return deduct_stock(actor=world.staff_a, warehouse=world.wh_a, product=product, quantity=1,
                                reference=Reference("purchase_request", 1000 + index))
        return adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=product, delta=-1, reason="damage")

    results = run_threads(CLIENTS, work)
    failures = [result for result in results if isinstance(result, BaseException)]
    assert all(isinstance(failure, InsufficientStock) for failure in failures), failures
    assert CLIENTS - len(failures) == takeable  # every unit that is not expired, and not one more
    assert all(failure.extra == {"available": 0, "requested": 1} for failure in failures)

    stock = Stock.objects.get(warehouse=world.wh_a, product=product)
    balances = {b.lot.code: b.quantity for b in StockLot.objects.filter(stock=stock).select_related("lot")}
    assert balances == {"A1": 0, "B1": 0, "C1": 0, "N1": 0, "X1": 7}  # the expired lot untouched
    assert (stock.quantity, stock.reserved) == (7, 0)

    # The ledger, in commit order (ids are taken under the row lock): lots emptied strictly in FEFO order,
    # each take one unit of the lot first in FEFO order at that moment, and the row's quantity chaining down.
    taken = list(StockMovement.objects.filter(stock=stock, quantity_change__lt=0).order_by("pk")
                 .values_list("lot__code", "quantity_change", "quantity_after"))
    assert [code for code, _, _ in taken] == ["A1"] * 5 + ["B1"] * 6 + ["C1"] * 3 + ["N1"] * 4
    assert [code for code, _, _ in taken] == sorted((code for code, _, _ in taken), key=fefo.index)
    assert all(change == -1 for _, change, _ in taken)
    assert [after for _, _, after in taken] == list(range(24, 6, -1))  # 25 on hand, one less each time
    assert not StockMovement.objects.filter(lot=Lot.objects.get(product=product, code="X1"),
                                            quantity_change__lt=0).exists()
    assert ledger_mismatches() == []
