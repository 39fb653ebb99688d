"""Low-stock alert state, settled inside the transaction of every stock or threshold change.

`open_or_resolve_alerts` subscribes to the stock door's `StockChanged` event (registered in
`InventoryConfig.ready()`); the threshold service calls `evaluate` directly.

An alert opens when a quantity is below its threshold and none is open; it resolves when the
quantity is back at or above the threshold (or the threshold is lowered or deleted). Opening an
alert enqueues its e-mail task in the same transaction: a rollback drops both, a commit keeps both.

The caller holds the stock row lock, so evaluations of one product and warehouse are serialized;
the partial unique constraint `alert_one_open_per_stock` is the database's guarantee of at most one
open alert, and a caller that does not hold the lock loses a race quietly (see `_open_alert`).
"""

import logging

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from core.events import emit

from .alert_emails import ensure_watchdog, lease, send_low_stock_alert_email
from .events import AlertChanged, StockChanged
from .models import LowStockAlert, LowStockThreshold, Stock
from .selectors import is_low as below_threshold

logger = logging.getLogger(__name__)

# Everything here is about low-stock alerts; expiry alerts (same table) are `inventory.expiry`'s.
LOW = LowStockAlert.Kind.LOW_STOCK


def open_or_resolve_alerts(event: StockChanged) -> list[LowStockAlert]:
    """Subscriber of `StockChanged`: open or resolve the alert of every row whose quantity changed.

    Runs in the stock operation's transaction with its rows locked; an alert it opens enqueues its
    e-mail in that same transaction. Returns the alerts it opened.
    """
    rows = [(row.stock, row.quantity_before) for row in event.rows if row.quantity_changed]
    if not rows:
        return []
    if len(rows) == 1:
        (stock, previous), = rows
        opened = settle_row(stock=stock, previous_quantity=previous)
        return [opened] if opened else []
    return settle_rows(rows)


def settle_row(*, stock, previous_quantity: int) -> LowStockAlert | None:
    """Open or resolve the alert of one locked stock row whose quantity just changed. Returns a new alert.

    The threshold and the open alert's id are read in one statement (two scalar subqueries on the
    locked row).
    """
    if stock.quantity == previous_quantity:
        return None
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Low-stock alerts are evaluated inside a stock or threshold transaction.")
    same_row = {"product_id": OuterRef("product_id"), "warehouse_id": OuterRef("warehouse_id")}
    threshold, open_alert_id = (
        Stock.objects.filter(pk=stock.pk)
        .annotate(
            x_threshold=Subquery(LowStockThreshold.objects.filter(**same_row).values("threshold")[:1]),
            x_open_alert=Subquery(LowStockAlert.objects.filter(**same_row, status=LowStockAlert.Status.OPEN, kind=LOW)
                                  .values("pk")[:1]),
        )
        .values_list("x_threshold", "x_open_alert")
        .get()
    )
    return _settle(product_id=stock.product_id, warehouse_id=stock.warehouse_id, quantity=stock.quantity,
                   threshold=threshold, open_alert_id=open_alert_id)


def settle_rows(changes: list[tuple]) -> list[LowStockAlert]:
    """`settle_row` for many locked rows at once (a count, an import): `[(stock, previous quantity)]`.

    Reads the thresholds and the open alerts of all the rows in two queries, then opens or resolves
    each row's alert as `evaluate` would, judging each row by its final quantity. Returns the new alerts.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Low-stock alerts are evaluated inside a stock or threshold transaction.")
    final = {(stock.product_id, stock.warehouse_id): stock.quantity for stock, _ in changes}
    first = {}
    for stock, previous in changes:
        first.setdefault((stock.product_id, stock.warehouse_id), previous)
    keys = [key for key in final if final[key] != first[key]]
    if not keys:
        return []
    by_warehouse: dict[int, list[int]] = {}
    for product_id, warehouse_id in keys:
        by_warehouse.setdefault(warehouse_id, []).append(product_id)
    rows = Q(pk__in=[])
    for warehouse_id, product_ids in by_warehouse.items():
        rows |= Q(warehouse_id=warehouse_id, product_id__in=product_ids)
    thresholds = {(p, w): t for p, w, t in LowStockThreshold.objects.filter(rows).values_list(
        "product_id", "warehouse_id", "threshold")}
    open_alerts = {(a.product_id, a.warehouse_id): a
                   for a in LowStockAlert.objects.filter(rows, status=LowStockAlert.Status.OPEN, kind=LOW)}
    opened, now = [], timezone.now()
    for product_id, warehouse_id in keys:
        key = (product_id, warehouse_id)
        is_low = below_threshold(final[key], thresholds.get(key))
        alert = open_alerts.get(key)
        if is_low and alert is None:
            new = _open_alert(product_id=product_id, warehouse_id=warehouse_id, quantity=final[key],
                              threshold=thresholds[key])
            opened += [new] if new else []
        elif not is_low and alert is not None:
            alert.status, alert.resolved_at = LowStockAlert.Status.RESOLVED, now
            alert.save(update_fields=["status", "resolved_at"])
            emit(AlertChanged(alert=alert, action="resolved"))
    return opened


def evaluate(*, product_id: int, warehouse_id: int, quantity: int, threshold: int | None) -> LowStockAlert | None:
    """Bring the alert of one product and warehouse in line with its quantity and threshold.

    `threshold=None` means no threshold (deleted): an open alert resolves. Returns the alert it
    opened, or None. Must run inside the caller's transaction, which should hold the stock row
    lock (`locks.lock_stock_row`) so `quantity` is current. Raises RuntimeError outside a transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Low-stock alerts are evaluated inside a stock or threshold transaction.")
    open_alert_id = LowStockAlert.objects.filter(
        product_id=product_id, warehouse_id=warehouse_id, status=LowStockAlert.Status.OPEN, kind=LOW
    ).values_list("pk", flat=True).first()
    return _settle(product_id=product_id, warehouse_id=warehouse_id, quantity=quantity, threshold=threshold,
                   open_alert_id=open_alert_id)


def _settle(*, product_id: int, warehouse_id: int, quantity: int, threshold: int | None,
            open_alert_id: int | None) -> LowStockAlert | None:
    """Open an alert if low and none is open, resolve the open one if no longer low. Returns a new alert."""
    is_low = below_threshold(quantity, threshold)
    if is_low and open_alert_id is None:
        return _open_alert(product_id=product_id, warehouse_id=warehouse_id, quantity=quantity, threshold=threshold)
    if not is_low and open_alert_id is not None:
        resolved_at = timezone.now()
        LowStockAlert.objects.filter(pk=open_alert_id).update(status=LowStockAlert.Status.RESOLVED,
                                                              resolved_at=resolved_at)
        emit(AlertChanged(alert=_resolved_alert(open_alert_id, product_id=product_id, warehouse_id=warehouse_id,
                                                resolved_at=resolved_at), action="resolved"))
    return None


def _resolved_alert(alert_id: int, *, product_id: int, warehouse_id: int, resolved_at) -> LowStockAlert:
    """The alert an UPDATE just resolved, as a row without reading it back: its keys and what the UPDATE wrote
    are set, every other field is deferred (loaded from the row, in this transaction, when first read).

    So announcing a resolution costs no query; a subscriber that needs the whole row reads it (one query).
    """
    known = {"id": alert_id, "product_id": product_id, "warehouse_id": warehouse_id,
             "status": LowStockAlert.Status.RESOLVED, "resolved_at": resolved_at}
    names = [field.attname for field in LowStockAlert._meta.concrete_fields if field.attname in known]
    return LowStockAlert.from_db(LowStockAlert.objects.db, names, [known[name] for name in names])


def _open_alert(*, product_id: int, warehouse_id: int, quantity: int, threshold: int) -> LowStockAlert | None:
    try:
        # A savepoint, so losing the race for the one open alert leaves the caller's transaction usable.
        with transaction.atomic():
            alert = LowStockAlert.objects.create(
                product_id=product_id, warehouse_id=warehouse_id, threshold=threshold, quantity_at_trigger=quantity
            )
    except IntegrityError:
        open_now = LowStockAlert.objects.filter(
            product_id=product_id, warehouse_id=warehouse_id, status=LowStockAlert.Status.OPEN, kind=LOW
        ).exists()
        if not open_now:
            raise
        logger.info("low-stock alert for product %s in warehouse %s already open", product_id, warehouse_id)
        return None
    _enqueue_email(alert)
    emit(AlertChanged(alert=alert, action="opened"))
    return alert


def _enqueue_email(alert: LowStockAlert) -> None:
    # The database task backend stores the task in this same transaction: a rollback drops it,
    # a commit keeps it for the worker. Nothing here talks to SMTP.
    send_low_stock_alert_email.enqueue(alert_id=alert.pk, attempt=1)
    # A worker killed after taking the task but before claiming the attempt is found by the watchdog.
    ensure_watchdog(timezone.now() + lease(), serialize=False)
