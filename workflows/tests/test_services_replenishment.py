"""Replenishment (SPEC §15) through the services: every outcome, the projected stock, the hold, the triggers."""

import datetime

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditEvent
from core.errors import NotFound, PermissionDenied
from inventory.errors import InactiveObject, InvalidQuantity, SameWarehouse
from inventory.lots import StockLot
from inventory.models import Product, Stock
from inventory.services import adjust_stock, assign_stock, deduct_stock, release_reservation, reserve_stock
from inventory.services.stock import Reference
from workflows import services
from workflows.errors import DuplicateRule, RuleCycle
from workflows.models import ReorderRule, TransferLine, TransferRequest
from workflows.services.replenishment import proposed_quantity

from .conftest import put_stock

pytestmark = pytest.mark.django_db


def make_rule(world, *, warehouse=None, source=None, product=None, min_quantity=10, max_quantity=50, multiple=1,
              is_active=True) -> ReorderRule:
    return services.create_rule(actor=world.admin, warehouse=warehouse or world.wh_a, product=product or world.product,
                                source_warehouse=source or world.wh_b, min_quantity=min_quantity,
                                max_quantity=max_quantity, multiple=multiple, is_active=is_active)


def drop(world, units, warehouse=None, product=None):
    """Take `units` out of a warehouse (a negative `adjust`)."""
    adjust_stock(actor=world.admin, warehouse=warehouse or world.wh_a, product=product or world.product,
                 delta=-units, reason="damage")


def evaluation(rule) -> dict:
    rule.refresh_from_db()
    return rule.last_evaluation


def open_transfers(rule):
    return TransferRequest.objects.filter(reorder_rule=rule, status__in=["pending", "approved", "in_transit"])


# --- the formula --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("projected", "min_quantity", "max_quantity", "multiple", "expected"), [
    (10, 10, 50, 1, 0),      # at min: not needed
    (9, 10, 50, 1, 41),
    (5, 10, 50, 12, 48),     # ⌈45 / 12⌉ × 12
    (2, 10, 50, 12, 48),     # 48 exactly: no extra step
    (-7, 0, 5, 1, 12),       # from below zero, to at least max
    (-7, 0, 5, 5, 15),
    (0, 0, 1, 1, 0),
])
def test_proposed_quantity_brings_projected_stock_to_at_least_max_in_steps_of_multiple(
        projected, min_quantity, max_quantity, multiple, expected):
    assert proposed_quantity(projected=projected, min_quantity=min_quantity, max_quantity=max_quantity,
                             multiple=multiple) == expected


# --- outcomes -------------------------------------------------------------------------------------------

def test_a_new_rule_below_min_creates_one_in_transit_transfer_request_from_its_source(world):
    rule = make_rule(world, min_quantity=10, max_quantity=50)
    transfer = TransferRequest.objects.get(reorder_rule=rule)
    assert (transfer.status, transfer.mode, transfer.requested_by, transfer.source_warehouse,
            transfer.destination_warehouse, transfer.product, transfer.quantity) == (
        "pending", "in_transit", None, world.wh_b, world.wh_a, world.product, 50)
    assert list(TransferLine.objects.filter(transfer=transfer).values_list("product", "quantity")) == [
        (world.product.pk, 50)]
    assert f"Reorder rule #{rule.pk}" in transfer.reason
    record = evaluation(rule)
    assert {key: value for key, value in record.items() if key != "evaluated_at"} == {
        "quantity": 0, "reserved": 0, "expired": 0, "incoming": 0, "open_inbound": 0, "projected": 0,
        "proposed": 50, "transfer_request": transfer.pk, "outcome": "created"}
    assert record["evaluated_at"].endswith("Z")
    assert AuditEvent.objects.filter(action="transfer_request.create", actor=None,
                                     data__reorder_rule=rule.pk).count() == 1
    assert AuditEvent.objects.filter(action="reorder_rule.create", actor=world.admin).count() == 1


def test_stock_at_or_above_min_is_not_needed_and_a_drop_below_creates_the_transfer_in_that_change(world):
    put_stock(world, world.wh_a, 30)
    rule = make_rule(world, min_quantity=10, max_quantity=50, multiple=4)
    assert evaluation(rule)["outcome"] == "not_needed"
    assert evaluation(rule)["proposed"] == 0
    drop(world, 20)  # 10: still not below min
    assert (evaluation(rule)["outcome"], evaluation(rule)["quantity"]) == ("not_needed", 10)
    drop(world, 3)   # 7 < 10: ⌈43 / 4⌉ × 4 = 44
    transfer = open_transfers(rule).get()
    assert transfer.quantity == 44
    assert (evaluation(rule)["outcome"], evaluation(rule)["transfer_request"]) == ("created", transfer.pk)


def test_while_its_transfer_is_open_the_rule_reports_already_open_and_creates_no_second(world):
    put_stock(world, world.wh_a, 5)
    rule = make_rule(world)
    first = open_transfers(rule).get()
    drop(world, 4)
    record = evaluation(rule)
    assert (record["outcome"], record["transfer_request"], record["projected"]) == ("already_open", first.pk, 46)
    services.evaluate_rule(actor=world.admin, rule_id=rule.pk)
    assert open_transfers(rule).count() == 1
    assert evaluation(rule)["outcome"] == "already_open"


def test_projected_stock_subtracts_reserved_units(world):
    put_stock(world, world.wh_a, 30)
    rule = make_rule(world)
    reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=25)
    record = evaluation(rule)
    assert (record["quantity"], record["reserved"], record["projected"], record["outcome"]) == (30, 25, 5, "created")
    assert open_transfers(rule).get().quantity == 45


def test_a_release_of_reserved_units_is_an_evaluation_too(world):
    put_stock(world, world.wh_a, 30)
    reservation = reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=15)
    rule = make_rule(world)
    assert evaluation(rule)["projected"] == 15
    release_reservation(actor=world.admin, reservation_id=reservation.pk)
    assert (evaluation(rule)["reserved"], evaluation(rule)["projected"]) == (0, 30)


def _transit(world, *, source, destination, quantity, ship=False, approve=True, mode="in_transit"):
    transfer = services.create_transfer_request(actor=world.admin, source=source, destination=destination,
                                                product=world.product, quantity=quantity, mode=mode)
    if approve:
        services.decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="approve")
    if ship:
        services.ship_transfer(actor=world.admin, transfer_id=transfer.pk)
    return transfer


def test_projected_stock_adds_incoming_units_and_counts_a_shipment_once(world):
    third = type(world.wh_a).objects.create(code="C", name="Gamma")
    put_stock(world, third, 100)
    rule = make_rule(world, min_quantity=10, max_quantity=50)
    services.cancel_transfer(actor=world.admin, transfer_id=open_transfers(rule).get().pk)  # holds the rule
    services.evaluate_rule(actor=world.admin, rule_id=rule.pk)  # on demand: a new one (hold lifted)
    services.cancel_transfer(actor=world.manager_a, transfer_id=open_transfers(rule).get().pk)
    # a person's transfer of 20 from C, shipped: A's incoming is 20; approved-but-unshipped units are no more
    manual = _transit(world, source=third, destination=world.wh_a, quantity=20, ship=True)
    record = evaluation(rule)
    assert (record["incoming"], record["open_inbound"], record["projected"], record["outcome"]) == (
        20, 0, 20, "not_needed")
    assert TransferRequest.objects.get(pk=manual.pk).status == "in_transit"


def test_a_pending_manual_transfer_covering_the_shortfall_means_no_new_one(world):
    put_stock(world, world.wh_a, 30)
    rule = make_rule(world, min_quantity=10, max_quantity=50)
    manual = services.create_transfer_request(actor=world.manager_a, source=world.wh_b, destination=world.wh_a,
                                              product=world.product, quantity=40, mode="in_transit")
    drop(world, 25)  # 5 on hand + 40 pending inbound = 45 ≥ 10
    record = evaluation(rule)
    assert (record["open_inbound"], record["projected"], record["outcome"]) == (40, 45, "not_needed")
    assert not open_transfers(rule).exists()
    put_stock(world, world.wh_b, 100)
    services.decide_transfer_request(actor=world.admin, request_id=manual.pk, decision="approve")
    drop(world, 1)  # approved, not shipped: still counted
    assert (evaluation(rule)["open_inbound"], evaluation(rule)["outcome"]) == (40, "not_needed")


def test_an_approved_direct_transfer_has_moved_its_units_and_counts_once(world):
    put_stock(world, world.wh_b, 100)
    rule = make_rule(world, min_quantity=10, max_quantity=50, source=world.wh_b)
    services.cancel_transfer(actor=world.admin, transfer_id=open_transfers(rule).get().pk)
    services.update_rule(actor=world.admin, rule_id=rule.pk, changes={"min_quantity": 0})  # not needed now
    _transit(world, source=world.wh_b, destination=world.wh_a, quantity=8, mode="direct")
    record = evaluation(rule)
    assert (record["quantity"], record["open_inbound"], record["projected"]) == (8, 0, 8)


def test_projected_stock_subtracts_expired_lot_units(world):
    product = Product.objects.create(sku="MILK-1", name="Milk", tracking=Product.Tracking.LOT)
    today = datetime.date.today()
    # through the lot door: 25 units of a lot that expired two days ago, 5 of a fresh one
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=25, lot="OLD",
                 expires_on=today - datetime.timedelta(days=2))
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=5, lot="NEW",
                 expires_on=today + datetime.timedelta(days=90))
    stock = Stock.objects.get(warehouse=world.wh_a, product=product)
    assert StockLot.objects.filter(stock=stock, lot__code="OLD").get().quantity == 25
    rule = make_rule(world, product=product, min_quantity=10, max_quantity=50)
    record = evaluation(rule)
    assert (record["quantity"], record["expired"], record["projected"], record["outcome"]) == (30, 25, 5, "created")
    assert open_transfers(rule).get().quantity == 45


def test_an_inactive_rule_records_inactive_and_stock_changes_leave_it_alone(world):
    rule = make_rule(world, is_active=False)
    assert evaluation(rule)["outcome"] == "inactive"
    assert not TransferRequest.objects.exists()
    before = evaluation(rule)
    put_stock(world, world.wh_a, 3)
    assert evaluation(rule) == before  # the subscriber evaluates active rules only
    services.update_rule(actor=world.admin, rule_id=rule.pk, changes={"is_active": True})  # reactivated
    assert (evaluation(rule)["outcome"], evaluation(rule)["quantity"]) == ("created", 3)


def test_a_deactivated_source_is_source_inactive(world):
    put_stock(world, world.wh_a, 30)
    rule = make_rule(world)
    type(world.wh_b).objects.filter(pk=world.wh_b.pk).update(is_active=False)
    drop(world, 25)
    assert evaluation(rule)["outcome"] == "source_inactive"
    assert not TransferRequest.objects.exists()


# --- the hold ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("refusal", ["reject", "admin_cancel", "manager_cancel", "cancel_approved"])
def test_a_person_refusing_the_rules_transfer_holds_it_until_changed_or_evaluated_on_demand(world, refusal):
    put_stock(world, world.wh_b, 100)
    put_stock(world, world.wh_a, 5)
    rule = make_rule(world)
    transfer = open_transfers(rule).get()
    if refusal == "reject":
        services.decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="reject")
    elif refusal == "cancel_approved":
        services.decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="approve")
        services.cancel_transfer(actor=world.admin, transfer_id=transfer.pk)
    else:
        actor = world.admin if refusal == "admin_cancel" else world.manager_a
        services.cancel_transfer(actor=actor, transfer_id=transfer.pk)
    rule.refresh_from_db()
    assert rule.held
    drop(world, 1)  # the next sale: recorded held, nothing created
    assert (evaluation(rule)["outcome"], evaluation(rule)["proposed"]) == ("held", 46)
    call_command("replenish", stdout=open("/dev/null", "w"))  # automatic too
    assert evaluation(rule)["outcome"] == "held"
    assert not open_transfers(rule).exists()
    services.evaluate_rule(actor=world.manager_a, rule_id=rule.pk)  # on demand lifts it
    rule.refresh_from_db()
    assert (rule.held, rule.last_evaluation["outcome"]) == (False, "created")
    assert open_transfers(rule).count() == 1


def test_changing_a_held_rule_lifts_the_hold_and_evaluates_it(world):
    rule = make_rule(world)
    services.cancel_transfer(actor=world.admin, transfer_id=open_transfers(rule).get().pk)
    services.update_rule(actor=world.manager_a, rule_id=rule.pk, changes={"max_quantity": 60})
    rule.refresh_from_db()
    assert (rule.held, rule.last_evaluation["outcome"], open_transfers(rule).get().quantity) == (False, "created", 60)


# --- the open transfer's journey ----------------------------------------------------------------------

def test_a_new_transfer_only_after_the_open_one_is_received_and_stock_is_short_again(world):
    put_stock(world, world.wh_b, 200)
    put_stock(world, world.wh_a, 5)
    rule = make_rule(world)
    first = open_transfers(rule).get()
    services.decide_transfer_request(actor=world.admin, request_id=first.pk, decision="approve")
    services.ship_transfer(actor=world.staff_b, transfer_id=first.pk)
    assert evaluation(rule)["outcome"] == "already_open"
    line = TransferLine.objects.get(transfer=first)
    services.receive_transfer(actor=world.staff_a, transfer_id=first.pk,
                              receipts=[{"line": line.pk, "accepted": 45, "rejected": 0}])
    # evaluated in the receipt's transaction, after the transfer became `received`: 50 on hand
    assert (evaluation(rule)["outcome"], evaluation(rule)["projected"]) == ("not_needed", 50)
    drop(world, 41)
    second = open_transfers(rule).get()
    assert second.pk != first.pk and second.quantity == 41


def test_closing_the_rules_transfer_evaluates_it_in_that_transaction(world):
    put_stock(world, world.wh_b, 200)
    rule = make_rule(world)
    first = open_transfers(rule).get()
    services.decide_transfer_request(actor=world.admin, request_id=first.pk, decision="approve")
    services.ship_transfer(actor=world.admin, transfer_id=first.pk)
    services.close_transfer(actor=world.manager_a, transfer_id=first.pk, reason="lost truck")
    second = open_transfers(rule).get()  # the write-off left A short: a new one at once
    assert second.pk != first.pk
    assert (evaluation(rule)["outcome"], evaluation(rule)["transfer_request"]) == ("created", second.pk)
    rule.refresh_from_db()
    assert not rule.held  # a close is no refusal


def test_a_purchase_approval_below_min_creates_the_transfer_in_its_transaction(world):
    put_stock(world, world.wh_a, 12)
    rule = make_rule(world)
    deduct_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3,
                 reference=Reference("purchase_request", 1))
    assert open_transfers(rule).get().quantity == 41


# --- rule validation, scope and policy -----------------------------------------------------------------

def test_one_rule_per_warehouse_and_product(world):
    make_rule(world)
    with pytest.raises(DuplicateRule):
        make_rule(world, source=type(world.wh_a).objects.create(code="C", name="Gamma"))
    assert ReorderRule.objects.count() == 1


def test_a_rule_may_not_name_its_own_warehouse_or_an_inactive_source(world):
    with pytest.raises(SameWarehouse):
        make_rule(world, source=world.wh_a)
    closed = type(world.wh_a).objects.create(code="C", name="Gamma", is_active=False)
    with pytest.raises(InactiveObject):
        make_rule(world, source=closed)
    assert not ReorderRule.objects.exists()


def test_rules_of_one_product_may_not_supply_each_other_in_a_circle(world):
    third = type(world.wh_a).objects.create(code="C", name="Gamma")
    make_rule(world, warehouse=world.wh_a, source=world.wh_b)
    with pytest.raises(RuleCycle):
        make_rule(world, warehouse=world.wh_b, source=world.wh_a)
    make_rule(world, warehouse=world.wh_b, source=third)
    with pytest.raises(RuleCycle):  # A ← B ← C ← A
        make_rule(world, warehouse=third, source=world.wh_a)
    make_rule(world, warehouse=world.wh_b, source=world.wh_a, product=world.product2)  # another product: fine
    rule_c = make_rule(world, warehouse=third, source=world.wh_b, product=world.product2)
    with pytest.raises(RuleCycle):  # re-sourcing closes a circle too: C ← A ... A is supplied by nobody; B ← A
        services.update_rule(actor=world.admin, rule_id=ReorderRule.objects.get(
            warehouse=world.wh_b, product=world.product2).pk, changes={"source_warehouse": third})
    assert rule_c.source_warehouse == world.wh_b


def test_only_admins_and_the_warehouses_manager_write_its_rules(world):
    for actor in (world.staff_a, world.manager_b, world.viewer):
        with pytest.raises(PermissionDenied):
            services.create_rule(
                actor=actor, warehouse=world.wh_a, product=world.product, source_warehouse=world.wh_b,
                min_quantity=1, max_quantity=2)
    rule = services.create_rule(actor=world.manager_a, warehouse=world.wh_a, product=world.product,
                                source_warehouse=world.wh_b, min_quantity=1, max_quantity=2)
    with pytest.raises(PermissionDenied):
        services.evaluate_rule(actor=world.staff_a, rule_id=rule.pk)
    with pytest.raises(NotFound):
        services.update_rule(actor=world.manager_b, rule_id=rule.pk, changes={"min_quantity": 0})
    with pytest.raises(NotFound):
        services.delete_rule(actor=world.viewer, rule_id=rule.pk)
    services.delete_rule(actor=world.manager_a, rule_id=rule.pk)
    assert not ReorderRule.objects.exists()
    assert TransferRequest.objects.get().reorder_rule is None  # its transfer stays, without the rule


def test_the_sweep_evaluates_every_active_rule_and_prints_a_line_each_and_a_summary(world, capsys):
    put_stock(world, world.wh_a, 30)
    rule_a = make_rule(world)
    rule_b = make_rule(world, warehouse=world.wh_b, source=world.wh_a, product=world.product2)
    make_rule(world, product=world.product2, warehouse=world.wh_a,
              source=type(world.wh_a).objects.create(code="C", name="Gamma"), is_active=False)
    call_command("replenish")
    out = capsys.readouterr().out
    assert f"rule {rule_a.pk} (warehouse {world.wh_a.pk}, product {world.product.pk}): not_needed" in out
    assert f"rule {rule_b.pk} (warehouse {world.wh_b.pk}, product {world.product2.pk}): already_open" in out
    assert "2 active rule(s) evaluated: already_open 1, not_needed 1." in out


# --- what a stock change pays ------------------------------------------------------------------------

def _queries_of_a_drop(world, product) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        drop(world, 1, product=product)
    return [query["sql"] for query in captured.captured_queries]


def test_a_stock_change_pays_one_query_without_a_rule_and_three_more_with_one_not_crossing(world):
    put_stock(world, world.wh_a, 100)
    put_stock(world, world.wh_a, 100, product=world.product2)
    make_rule(world, product=world.product2, min_quantity=10, max_quantity=50)
    without = _queries_of_a_drop(world, world.product)
    with_rule = _queries_of_a_drop(world, world.product2)
    assert sum("workflows_reorderrule" in sql for sql in without) == 1  # the one lookup, finding nothing
    assert len(with_rule) - len(without) == 3
    lookup = next(index for index, sql in enumerate(with_rule) if "workflows_reorderrule" in sql)
    added = [sql.split()[0] for sql in with_rule[lookup:lookup + 4]]
    assert added == ["SELECT", "SAVEPOINT", "UPDATE", "RELEASE"], added  # the evaluation, in its savepoint
    assert "FOR NO KEY UPDATE OF" in with_rule[lookup] or connection.vendor != "postgresql"


# --- hourly, by the worker ------------------------------------------------------------------------------

def test_a_starting_worker_queues_one_run_which_evaluates_every_rule_and_queues_the_next_an_hour_later(world):
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    from core.events import emit
    from core.worker import WorkerStarted
    from workflows.services import replenishment

    rule = make_rule(world, min_quantity=10, max_quantity=50)
    services.cancel_transfer(actor=world.admin, transfer_id=open_transfers(rule).get().pk)
    services.update_rule(actor=world.admin, rule_id=rule.pk, changes={"is_active": False})
    ReorderRule.objects.filter(pk=rule.pk).update(is_active=True)  # active, below min, no transfer, not held
    ready = DBTaskResult.objects.filter(task_path="workflows.services.replenishment.replenish_hourly", status="READY")
    with transaction.atomic():
        emit(WorkerStarted())
        emit(WorkerStarted())
    assert ready.count() == 1
    ready.update(status="RUNNING")  # the worker takes it
    assert replenishment.replenish_hourly.call() == 1
    assert open_transfers(rule).count() == 1
    assert ready.count() == 1  # the next run, in an hour
    assert ready.get().run_after > timezone.now() + datetime.timedelta(minutes=59)


def test_an_evaluation_that_fails_never_fails_the_stock_change_that_triggered_it(world, caplog):
    from inventory.models import MAX_QUANTITY

    put_stock(world, world.wh_a, 30)
    rule = make_rule(world)
    before = evaluation(rule)
    # a proposal beyond what a transfer line may carry: the transfer creation refuses it
    ReorderRule.objects.filter(pk=rule.pk).update(max_quantity=MAX_QUANTITY * 10)
    drop(world, 25)
    assert Stock.objects.get(warehouse=world.wh_a, product=world.product).quantity == 5  # the change committed
    assert not TransferRequest.objects.exists()
    assert evaluation(rule) == before  # the failed evaluation rolled back to its savepoint
    assert f"reorder rule {rule.pk}: evaluation failed" in caplog.text
    with pytest.raises(InvalidQuantity):  # on demand the same error reaches the caller (a 400 over HTTP)
        services.evaluate_rule(actor=world.admin, rule_id=rule.pk)
