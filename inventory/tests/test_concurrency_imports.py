"""Imports and row locks on PostgreSQL (issue 24, item 7): a dry run takes no row locks, and a real import
waits for a stock-row lock at most IMPORT_LOCK_TIMEOUT_MS, then answers 409 `conflict` having written nothing."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from inventory.errors import ImportBusy
from inventory.models import Stock, StockMovement
from inventory.services import assign_stock, import_stock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def hold_row_lock(stock_pk: int, seconds: float, locked: threading.Event):
    """In another connection, lock one stock row for `seconds`."""
    try:
        with transaction.atomic():
            Stock.objects.select_for_update().get(pk=stock_pk)
            locked.set()
            time.sleep(seconds)
    finally:
        connections.close_all()


def csv_of(world, quantity):
    return [f"warehouse_code,sku,quantity\n{world.wh_a.code},{world.product.sku},{quantity}\n".encode()]


@pytest.mark.parametrize("mode", ["assign", "set"])
def test_a_dry_run_does_not_wait_for_a_row_another_transaction_holds(world, mode):
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    locked = threading.Event()
    holder = threading.Thread(target=hold_row_lock, args=(stock.pk, 3.0, locked))
    holder.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        result = import_stock(actor=world.manager_a, binary=csv_of(world, 7), mode=mode, dry_run=True)
        elapsed = time.monotonic() - started
    finally:
        holder.join()
    assert result == {"changed": 1, "unchanged": 0, "dry_run": True}
    assert elapsed < 1.5, elapsed
    assert Stock.objects.get(pk=stock.pk).quantity == 10


def test_a_real_import_gives_up_on_a_held_row_after_the_lock_timeout(world, settings):
    settings.IMPORT_LOCK_TIMEOUT_MS = 300
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    movements = StockMovement.objects.count()
    locked = threading.Event()
    holder = threading.Thread(target=hold_row_lock, args=(stock.pk, 3.0, locked))
    holder.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        with pytest.raises(ImportBusy) as info:
            import_stock(actor=world.manager_a, binary=csv_of(world, 7), mode="set")
        elapsed = time.monotonic() - started
    finally:
        holder.join()
    assert info.value.code == "conflict"
    assert elapsed < 2.0, elapsed
    assert Stock.objects.get(pk=stock.pk).quantity == 10
    assert StockMovement.objects.count() == movements
    # The connection is usable afterwards and the timeouts did not outlive the import's transaction.
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"


# --- a dismissal stops work in flight (issue 24, item 3) --------------------------------------------


def dismiss_slowly(user_pk: int, seconds: float, locked: threading.Event):
    """What the dismissal does (user row locked, status dismissed, their warehouses unmanaged), held open."""
    from accounts.models import User
    from warehouses.models import Warehouse

    try:
        with transaction.atomic():
            User.objects.select_for_update().get(pk=user_pk)
            User.objects.filter(pk=user_pk).update(status=User.Status.DISMISSED, is_active=False)
            Warehouse.objects.filter(manager_id=user_pk).update(manager=None)
            locked.set()
            time.sleep(seconds)
    finally:
        connections.close_all()


def test_an_import_started_during_a_dismissal_sees_it_and_writes_nothing(world):
    from core.errors import PermissionDenied

    movements = StockMovement.objects.count()
    locked = threading.Event()
    dismissal = threading.Thread(target=dismiss_slowly, args=(world.manager_a.pk, 1.0, locked))
    dismissal.start()
    try:
        assert locked.wait(10)
        with pytest.raises(PermissionDenied):
            import_stock(actor=world.manager_a, binary=csv_of(world, 7), mode="assign")
    finally:
        dismissal.join()
    assert StockMovement.objects.count() == movements
