"""Real threads racing on PostgreSQL, each with its own connection and transaction."""

import threading

import pytest
from django.db import DatabaseError, connection, transaction

from core.testing import run_threads
from inventory.errors import InsufficientStock
from inventory.models import LowStockAlert, LowStockThreshold, Stock, StockMovement
from inventory.services import adjust_stock, assign_stock, set_threshold, update_threshold
from inventory.verification import ledger_mismatches

TIMEOUT = 60




@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sixteen_writers_create_the_same_missing_row_and_all_their_changes_count(world):
    def work(index):
        if index % 2:
            return assign_stock(actor=world.manager_a, warehouse=world.wh_a, product=world.product, quantity=index + 1)
        return adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=index + 1,
                            reason="receipt")

    results = run_threads(16, work)
    assert all(isinstance(result, Stock) for result in results), results
    stock = Stock.objects.get(warehouse=world.wh_a, product=world.product)  # exactly one row
    assert stock.quantity == sum(range(1, 17)) == 136
    assert StockMovement.objects.filter(stock=stock).count() == 16
    assert sorted(StockMovement.objects.values_list("quantity_after", flat=True))[-1] == 136
    assert ledger_mismatches() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_withdrawals_of_one_unit_from_ten_leave_exactly_zero(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)

    def work(index):
        return adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=-1,
                            reason="loss")

    results = run_threads(20, work)
    assert sum(isinstance(r, Stock) for r in results) == 10
    assert sum(isinstance(r, InsufficientStock) for r in results) == 10
    assert Stock.objects.get(warehouse=world.wh_a, product=world.product).quantity == 0
    assert StockMovement.objects.filter(quantity_change=-1).count() == 10
    assert ledger_mismatches() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_threshold_changes_serialize_with_stock_changes_so_one_alert_opens(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    row = set_threshold(actor=world.admin, warehouse=world.wh_a, product=world.product, threshold=5)

    def work(index):
        if index < 8:
            return update_threshold(actor=world.manager_a, row=row, threshold=20 + index)
        return adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=-1,
                            reason="damage")

    results = run_threads(16, work)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert Stock.objects.get(warehouse=world.wh_a, product=world.product).quantity == 2
    assert LowStockThreshold.objects.get().threshold >= 20
    assert LowStockAlert.objects.filter(status="open").count() == 1
    assert ledger_mismatches() == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_refuses_update_and_delete_on_the_ledger(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3)
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE inventory_stockmovement SET quantity_change = 5")
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM inventory_stockmovement")
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        StockMovement.objects.filter(stock__warehouse=world.wh_a).update(note="rewritten")
    assert list(StockMovement.objects.values_list("quantity_change", "note")) == [(3, "")]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_repeats_of_one_idempotency_key_assign_once(make_client, world):

    body = {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 3}

    def work(index):
        response = make_client(world.manager_a).post("/api/stocks/assign/", body, format="json",
                                                     HTTP_IDEMPOTENCY_KEY="same-key")
        return response.status_code, response.headers.get("Idempotent-Replayed", ""), response.json()["quantity"]

    results = run_threads(8, work)
    assert sorted(results) == [(201, "", 3)] + [(201, "true", 3)] * 7
    assert Stock.objects.get(warehouse=world.wh_a, product=world.product).quantity == 3
    assert StockMovement.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_threshold_set_before_any_stock_blocks_the_first_assignment_so_no_stale_alert_stays_open(world):
    # Without a stock row to lock, the first assignment would commit 10 units while the threshold's
    # transaction still opens an alert computed for 0 on hand.
    threshold_written = threading.Event()
    release = threading.Event()
    errors: list = []

    def set_and_hold():
        try:
            with transaction.atomic():
                set_threshold(actor=world.admin, warehouse=world.wh_a, product=world.product, threshold=5)
                threshold_written.set()
                release.wait(TIMEOUT)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    def assign():
        try:
            assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    holder = threading.Thread(target=set_and_hold)
    holder.start()
    assert threshold_written.wait(TIMEOUT)
    assigner = threading.Thread(target=assign)
    assigner.start()
    assigner.join(1.0)
    assert assigner.is_alive(), "the assignment must wait for the threshold's transaction"
    release.set()
    holder.join(TIMEOUT)
    assigner.join(TIMEOUT)

    assert errors == []
    assert Stock.objects.get(warehouse=world.wh_a, product=world.product).quantity == 10
    assert not LowStockAlert.objects.filter(status=LowStockAlert.Status.OPEN).exists()
    assert LowStockAlert.objects.filter(status=LowStockAlert.Status.RESOLVED).count() == 1
    assert ledger_mismatches() == []
