"""Low-stock thresholds: set, change and delete them, re-evaluating the alert under the stock row lock."""

from django.db import IntegrityError, transaction

from accounts.audit import record_event
from core.errors import NotFound, PermissionDenied
from warehouses.models import Warehouse

from .. import alerts, locks, policies
from ..errors import DuplicateThreshold, InvalidQuantity
from ..models import MAX_QUANTITY, LowStockThreshold, Product, Stock


def _check_threshold(value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > MAX_QUANTITY:
        raise InvalidQuantity(f"The threshold must be an integer from 0 to {MAX_QUANTITY}.")


def _require_manager(actor, warehouse: Warehouse) -> None:
    if not policies.can_set_thresholds(actor, warehouse):
        raise PermissionDenied("Only an admin or this warehouse's manager may change its thresholds.")


def _lock_threshold(pk: int) -> LowStockThreshold:
    row = LowStockThreshold.objects.select_for_update().filter(pk=pk).first()
    if row is None:  # deleted by a concurrent request
        raise NotFound("This threshold no longer exists.")
    return row


def _reevaluate(stock: Stock | None, *, product_id: int, warehouse_id: int, threshold: int | None) -> None:
    alerts.evaluate(product_id=product_id, warehouse_id=warehouse_id,
                    quantity=stock.quantity if stock is not None else 0, threshold=threshold)


@transaction.atomic
def set_threshold(*, actor, warehouse: Warehouse, product: Product, threshold: int,
                  ip: str | None = None) -> LowStockThreshold:
    """Create the low-stock threshold of a product in a warehouse; opens an alert if already below it.

    Locks: the stock row, created (at 0) if missing, so this serializes with stock changes: without
    a row to lock, a concurrent first assignment could commit 10 units while this opens an alert
    for 0. Raises PermissionDenied unless the actor manages the warehouse, InvalidQuantity,
    DuplicateThreshold.
    """
    _check_threshold(threshold)
    _require_manager(actor, warehouse)
    stock = locks.lock_stock_row(product.pk, warehouse.pk, create=True)
    try:
        with transaction.atomic():
            row = LowStockThreshold.objects.create(product=product, warehouse=warehouse, threshold=threshold)
    except IntegrityError as exc:
        raise DuplicateThreshold() from exc
    _reevaluate(stock, product_id=product.pk, warehouse_id=warehouse.pk, threshold=threshold)
    record_event(actor=actor, action="threshold.create", target=row, ip=ip,
                 data={"product": product.pk, "warehouse": warehouse.pk, "threshold": threshold})
    return row


@transaction.atomic
def update_threshold(*, actor, row: LowStockThreshold, threshold: int, ip: str | None = None) -> LowStockThreshold:
    """Change a threshold's value; opens or resolves the alert to match.

    Locks: the stock row (created at 0 if missing, see `set_threshold`), then the threshold row.
    Raises PermissionDenied, InvalidQuantity.
    """
    _check_threshold(threshold)
    _require_manager(actor, row.warehouse)
    stock = locks.lock_stock_row(row.product_id, row.warehouse_id, create=True)
    row = _lock_threshold(row.pk)
    before = row.threshold
    row.threshold = threshold
    row.save(update_fields=["threshold", "updated_at"])
    _reevaluate(stock, product_id=row.product_id, warehouse_id=row.warehouse_id, threshold=threshold)
    record_event(actor=actor, action="threshold.update", target=row, ip=ip,
                 data={"product": row.product_id, "warehouse": row.warehouse_id, "before": before,
                       "threshold": threshold})
    return row


@transaction.atomic
def delete_threshold(*, actor, row: LowStockThreshold, ip: str | None = None) -> None:
    """Remove a threshold; an open alert for it resolves.

    Locks: the stock row if it exists, then the threshold row. Raises PermissionDenied.
    """
    _require_manager(actor, row.warehouse)
    stock = locks.lock_existing_stock_row(row.product_id, row.warehouse_id)
    row = _lock_threshold(row.pk)
    data = {"id": row.pk, "product": row.product_id, "warehouse": row.warehouse_id, "threshold": row.threshold}
    row.delete()
    _reevaluate(stock, product_id=data["product"], warehouse_id=data["warehouse"], threshold=None)
    record_event(actor=actor, action="threshold.delete", target=f"lowstockthreshold:{data['id']}", ip=ip, data=data)
