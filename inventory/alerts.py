"""Low-stock alert state, evaluated inside the transaction of every stock or threshold change.

An alert opens when a quantity is below its threshold and none is open; it resolves when the
quantity is back at or above the threshold (or the threshold is lowered or deleted). Opening an
alert enqueues its e-mail task in the same transaction: a rollback drops both, a commit keeps both.

The caller holds the stock row lock, so evaluations of one product and warehouse are serialized;
the partial unique constraint `alert_one_open_per_stock` is the database's guarantee of at most one
open alert, and a caller that does not hold the lock loses a race quietly (see `_open_alert`).
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import LowStockAlert, LowStockThreshold
from .selectors import is_low as below_threshold

logger = logging.getLogger(__name__)


def stock_level_changed(*, stock, previous_quantity: int) -> LowStockAlert | None:
    """Open or resolve the alert of a stock row whose quantity just changed. Returns a new alert.

    Called by `inventory.services` after the write, with the stock row locked.
    """
    if stock.quantity == previous_quantity:
        return None
    threshold = (
        LowStockThreshold.objects.filter(product_id=stock.product_id, warehouse_id=stock.warehouse_id)
        .values_list("threshold", flat=True)
        .first()
    )
    return evaluate(product_id=stock.product_id, warehouse_id=stock.warehouse_id,
                    quantity=stock.quantity, threshold=threshold)


def evaluate(*, product_id: int, warehouse_id: int, quantity: int, threshold: int | None) -> LowStockAlert | None:
    """Bring the alert of one product and warehouse in line with its quantity and threshold.

    `threshold=None` means no threshold (deleted): an open alert resolves. Returns the alert it
    opened, or None. Must run inside the caller's transaction, which should hold the stock row
    lock (`locks.lock_stock_row`) so `quantity` is current. Raises RuntimeError outside a transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Low-stock alerts are evaluated inside a stock or threshold transaction.")
    is_low = below_threshold(quantity, threshold)
    open_alert = LowStockAlert.objects.filter(
        product_id=product_id, warehouse_id=warehouse_id, status=LowStockAlert.Status.OPEN
    ).first()
    if is_low and open_alert is None:
        return _open_alert(product_id=product_id, warehouse_id=warehouse_id, quantity=quantity, threshold=threshold)
    if not is_low and open_alert is not None:
        open_alert.status = LowStockAlert.Status.RESOLVED
        open_alert.resolved_at = timezone.now()
        open_alert.save(update_fields=["status", "resolved_at"])
    return None


def _open_alert(*, product_id: int, warehouse_id: int, quantity: int, threshold: int) -> LowStockAlert | None:
    try:
        # A savepoint, so losing the race for the one open alert leaves the caller's transaction usable.
        with transaction.atomic():
            alert = LowStockAlert.objects.create(
                product_id=product_id, warehouse_id=warehouse_id, threshold=threshold, quantity_at_trigger=quantity
            )
    except IntegrityError:
        open_now = LowStockAlert.objects.filter(
            product_id=product_id, warehouse_id=warehouse_id, status=LowStockAlert.Status.OPEN
        ).exists()
        if not open_now:
            raise
        logger.info("low-stock alert for product %s in warehouse %s already open", product_id, warehouse_id)
        return None
    _enqueue_email(alert)
    return alert


def _enqueue_email(alert: LowStockAlert) -> None:
    # The database task backend stores the task in this same transaction: a rollback drops it,
    # a commit keeps it for the worker. Nothing here talks to SMTP.
    from .tasks import send_low_stock_alert_email

    send_low_stock_alert_email.enqueue(alert_id=alert.pk, attempt=1)
