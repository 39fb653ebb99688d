"""Low-stock alert state, evaluated inside the transaction of every stock or threshold change.

An alert opens when a quantity is below its threshold and none is open; it resolves when the
quantity is back at or above the threshold. The caller holds the stock row lock, so evaluations
of one product and warehouse are serialized; the partial unique constraint
`alert_one_open_per_stock` is the database's guarantee of at most one open alert.
"""

from django.db import transaction
from django.utils import timezone

from .models import LowStockAlert, LowStockThreshold


def stock_level_changed(*, stock, previous_quantity: int) -> LowStockAlert | None:
    """Open or resolve the alert of a stock row whose quantity just changed. Returns a new alert."""
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
    """Bring the alert of one product and warehouse in line with its quantity and threshold."""
    open_alert = LowStockAlert.objects.filter(
        product_id=product_id, warehouse_id=warehouse_id, status=LowStockAlert.Status.OPEN
    ).first()
    is_low = threshold is not None and quantity < threshold
    if is_low and open_alert is None:
        alert = LowStockAlert.objects.create(
            product_id=product_id, warehouse_id=warehouse_id, threshold=threshold, quantity_at_trigger=quantity
        )
        _enqueue_email(alert)
        return alert
    if not is_low and open_alert is not None:
        open_alert.status = LowStockAlert.Status.RESOLVED
        open_alert.resolved_at = timezone.now()
        open_alert.save(update_fields=["status", "resolved_at"])
    return None


def _enqueue_email(alert: LowStockAlert) -> None:
    # The database task backend stores the task in this same transaction: a rollback drops it,
    # a commit keeps it for the worker. Nothing here talks to SMTP.
    from .tasks import send_low_stock_alert_email

    assert transaction.get_connection().in_atomic_block, "alerts are evaluated inside a stock transaction"
    send_low_stock_alert_email.enqueue(alert_id=alert.pk, attempt=1)
