"""Replenishment raced with real threads on PostgreSQL (each thread its own connection).

Proven here: 20 concurrent stock drops below `min_quantity` on one row commit every drop and leave exactly
one open transfer; 20 concurrent on-demand evaluations create one; when the one-open-transfer index fires
under a race (a transfer of the rule committed after the evaluation read), the evaluation answers
`already_open`, no second transfer exists and the stock change still commits; two managers closing a
circle of rules at once cannot both succeed; rule changes, on-demand evaluations and stock drops mixed
together never deadlock and leave one open transfer.
"""

import threading
import time

import pytest
from django.db import connection, transaction

from core.testing import outcomes, run_threads
from inventory.models import Stock, StockMovement
from inventory.services import adjust_stock
from inventory.verification import ledger_mismatches
from workflows import services
from workflows.models import ReorderRule, TransferLine, TransferRequest

from .conftest import put_stock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

OPEN = ("pending", "approved", "in_transit")


def _rule(world, **values):
    return services.create_rule(actor=world.admin, warehouse=world.wh_a, product=world.product,
                                source_warehouse=world.wh_b, min_quantity=values.get("min_quantity", 50),
                                max_quantity=values.get("max_quantity", 100))


def test_twenty_concurrent_drops_below_min_commit_every_drop_and_leave_exactly_one_open_transfer(world):
    put_stock(world, world.wh_a, 60)
    rule = _rule(world, min_quantity=50, max_quantity=100)
    assert rule.last_evaluation["outcome"] == "not_needed"

    def work(index):
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, delta=-1, reason="damage")
        return "dropped"

    results = outcomes(run_threads(20, work))
    assert results == [("ok", "dropped")] * 20
    stock = Stock.objects.get(warehouse=world.wh_a, product=world.product)
    assert stock.quantity == 40
    assert StockMovement.objects.filter(stock=stock, kind="adjust").count() == 20
    transfers = TransferRequest.objects.filter(reorder_rule=rule)
    assert transfers.count() == 1 and transfers.get().status == "pending"
    # created by the drop that crossed (to 49: 51 units), then already_open for the rest
    assert transfers.get().quantity == 51
    rule.refresh_from_db()
    assert (rule.last_evaluation["outcome"], rule.last_evaluation["quantity"]) == ("already_open", 40)
    assert ledger_mismatches() == []


def test_twenty_concurrent_evaluations_create_one_transfer(world):
    put_stock(world, world.wh_a, 60)
    rule = _rule(world, min_quantity=10, max_quantity=100)
    # below min with no stock change: the rule is changed to need more, without evaluating (a direct write)
    ReorderRule.objects.filter(pk=rule.pk).update(min_quantity=80, max_quantity=120)

    def work(index):
        return services.evaluate_rule(actor=world.manager_a if index % 2 else world.admin,
                                      rule_id=rule.pk).last_evaluation["outcome"]

    results = outcomes(run_threads(20, work))
    values = sorted(value for _, value in results)
    assert values == ["already_open"] * 19 + ["created"]
    assert TransferRequest.objects.filter(reorder_rule=rule).count() == 1
    assert TransferRequest.objects.get(reorder_rule=rule).quantity == 60
    assert ledger_mismatches() == []


def test_when_the_one_open_transfer_index_fires_the_change_commits_and_the_rule_reads_already_open(world):
    """A writer outside the services (no stock row lock) inserts an open transfer of the rule and holds its
    transaction open; a stock drop's evaluation, which did not see it, waits on the unique index, gets the
    IntegrityError when the writer commits, rolls back to its savepoint and reads `already_open`."""
    put_stock(world, world.wh_a, 60)
    rule = _rule(world, min_quantity=50, max_quantity=100)
    inserted, release = threading.Event(), threading.Event()
    rogue: dict = {}

    def writer():
        try:
            with transaction.atomic():
                transfer = TransferRequest.objects.create(
                    source_warehouse=world.wh_b, destination_warehouse=world.wh_a, product=world.product,
                    quantity=7, mode="in_transit", reorder_rule=rule, requested_by=None, reason="rogue")
                TransferLine.objects.create(transfer=transfer, product=world.product, quantity=7)
                rogue["id"] = transfer.pk
                inserted.set()
                release.wait(timeout=10)
                time.sleep(0.5)  # the drop below is by now waiting on the unique index
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert inserted.wait(timeout=10)
    release.set()
    adjust_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, delta=-20, reason="damage")
    thread.join(timeout=10)
    assert not thread.is_alive()

    assert Stock.objects.get(warehouse=world.wh_a, product=world.product).quantity == 40  # the change committed
    assert list(TransferRequest.objects.filter(reorder_rule=rule, status__in=OPEN).values_list("pk", flat=True)) == [
        rogue["id"]]
    rule.refresh_from_db()
    assert (rule.last_evaluation["outcome"], rule.last_evaluation["transfer_request"]) == ("already_open", rogue["id"])
    assert ledger_mismatches() == []


def test_two_managers_closing_a_circle_at_once_cannot_both_succeed(world):
    def work(index):
        warehouse, source, actor = ((world.wh_a, world.wh_b, world.manager_a) if index % 2
                                    else (world.wh_b, world.wh_a, world.manager_b))
        services.create_rule(actor=actor, warehouse=warehouse, product=world.product, source_warehouse=source,
                             min_quantity=1, max_quantity=5)
        return "created"

    results = outcomes(run_threads(2, work))
    assert sorted(results) == [("error", "rule_cycle"), ("ok", "created")]
    assert ReorderRule.objects.count() == 1


def test_rule_changes_evaluations_and_stock_drops_at_once_never_deadlock_and_leave_one_open_transfer(world):
    """The lock order (stock row, then rule row) is the same for a stock change's evaluation, a PATCH, an
    on-demand evaluation and a rejection's hold: mixed together they finish, and the rule has one open transfer."""
    put_stock(world, world.wh_a, 60)
    put_stock(world, world.wh_b, 1000)
    rule = _rule(world, min_quantity=57, max_quantity=100)  # 60 on hand: crossed by the fourth drop

    def work(index):
        kind = index % 3
        if kind == 0:
            adjust_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, delta=-1, reason="damage")
        elif kind == 1:
            services.update_rule(actor=world.manager_a, rule_id=rule.pk, changes={"max_quantity": 100 + index})
        else:
            services.evaluate_rule(actor=world.admin, rule_id=rule.pk)
        return kind

    results = outcomes(run_threads(18, work))
    assert sorted(value for _, value in results) == sorted(index % 3 for index in range(18))
    assert Stock.objects.get(warehouse=world.wh_a, product=world.product).quantity == 54
    assert TransferRequest.objects.filter(reorder_rule=rule, status__in=OPEN).count() == 1  # 54 < 57: one, not two
    assert TransferRequest.objects.filter(reorder_rule=rule).count() == 1
    rule.refresh_from_db()
    assert rule.last_evaluation["outcome"] in ("already_open", "created")
    assert ledger_mismatches() == []
