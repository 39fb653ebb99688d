"""Expiry alerts (SPEC §14): one open alert of kind `expiry` per (lot, warehouse) while the warehouse holds units
of a lot whose `expires_on` is at most `EXPIRY_WARNING_DAYS` days away, or past.

An alert opens (and enqueues its one e-mail, through the low-stock alert e-mail task, in the same transaction)
when units of such a lot are in a warehouse and none is open; it resolves when the lot's balance there
reaches 0, or when a corrected `expires_on` is null or beyond the window. `quantity_at_trigger` is the lot's
balance there, `threshold` null.

Settled, always with the stock rows of the (lot, warehouse) pairs locked, so two settlements of one pair are
serialized (and the partial unique index `alert_one_open_per_lot` is the database's guarantee):
- at once, by `open_or_resolve_expiry_alerts`, a subscriber of `StockChanged` (the rows of the event whose
  movements name a lot: a product that is not lot-tracked costs nothing);
- by a correction of a lot's `expires_on` (`inventory.services.lot_catalogue.correct_expiry`);
- at least hourly by the worker (`inventory.expiry_checks`), which opens the alerts of lots that came into
  the window as days went by.
"""

import datetime
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.events import emit

from .alert_emails import ensure_watchdog, lease, send_low_stock_alert_email
from .events import AlertChanged, StockChanged
from .lots import StockLot, today
from .models import LowStockAlert

logger = logging.getLogger(__name__)

EXPIRY = LowStockAlert.Kind.EXPIRY
OPEN = LowStockAlert.Status.OPEN


def warning_days() -> int:
    return max(0, int(getattr(settings, "EXPIRY_WARNING_DAYS", 30)))


def warning_horizon(on: datetime.date | None = None) -> datetime.date:
    """The last `expires_on` inside the warning window today (project time zone): today + EXPIRY_WARNING_DAYS."""
    return (on or today()) + datetime.timedelta(days=warning_days())


def in_window(expires_on: datetime.date | None, *, on: datetime.date | None = None) -> bool:
    """A lot whose expiry deserves an alert: a date at most EXPIRY_WARNING_DAYS days away, or past."""
    return expires_on is not None and expires_on <= warning_horizon(on)


def open_or_resolve_expiry_alerts(event: StockChanged) -> list[LowStockAlert]:
    """Subscriber of `StockChanged`: settle the expiry alert of every (lot, warehouse) whose balance the
    operation changed (its movements name the lot) and whose alert can change. Runs under the operation's row
    locks. Returns new alerts.

    Units that only left a lot which keeps some there change nothing: an alert opens when units arrive (or by
    the worker's check) and resolves at 0. So the common take (FEFO out of a lot that is not emptied) costs no
    query here; the balances come from the row's `LotBook`, which the door has already read.
    """
    arrived: dict[tuple[int, int], bool] = {}
    books = {}
    for row in event.rows:
        for movement in row.movements:
            if movement.lot_id is not None:
                pair = (row.stock.pk, movement.lot_id)
                arrived[pair] = arrived.get(pair, False) or movement.quantity_change > 0
        book = getattr(row.stock, "_lot_book", None)
        if book is not None:
            books[row.stock.pk] = book
    pairs = set()
    for (stock_id, lot_id), came_in in arrived.items():
        balance = books[stock_id].balances.get(lot_id) if stock_id in books else None
        if not came_in and balance is not None and balance.quantity > 0:
            continue
        pairs.add((stock_id, lot_id))
    return settle(pairs, books=books) if pairs else []


def settle(pairs: Iterable[tuple[int, int]], *, books: dict | None = None) -> list[LowStockAlert]:
    """Open or resolve the expiry alerts of `(stock_id, lot_id)` pairs whose stock rows the caller holds locked.

    At most two queries for any number of pairs (the balances with their lots, unless `books` — the rows'
    `LotBook`s by stock id — already hold them; the open alerts), then one write per alert that opens or
    resolves. Returns the alerts it opened.
    """
    pairs = set(pairs)
    if not pairs:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Expiry alerts are settled inside the transaction that holds the stock rows.")
    books = books or {}
    balances: list[tuple[object, StockLot]] = []  # (the stock row, its balance of the lot)
    unread: dict[int, set[int]] = {}
    for stock_id, lot_id in sorted(pairs):
        book = books.get(stock_id)
        if book is None:
            unread.setdefault(stock_id, set()).add(lot_id)
        elif lot_id in book.balances:
            balances.append((book.stock, book.balances[lot_id]))
    if unread:
        which = Q(pk__in=[])
        for stock_id, lot_ids in unread.items():
            which |= Q(stock_id=stock_id, lot_id__in=sorted(lot_ids))
        balances += [(balance.stock, balance)
                     for balance in StockLot.objects.filter(which).select_related("lot", "stock").order_by("pk")]
    seen = {(stock.warehouse_id, balance.lot_id) for stock, balance in balances}
    if not seen:
        return []
    where = Q(pk__in=[])
    for warehouse_id, lot_id in seen:
        where |= Q(warehouse_id=warehouse_id, lot_id=lot_id)
    open_alerts = {(alert.warehouse_id, alert.lot_id): alert
                   for alert in LowStockAlert.objects.filter(where, kind=EXPIRY, status=OPEN)}
    opened, now, on = [], timezone.now(), today()
    for stock, balance in balances:
        key = (stock.warehouse_id, balance.lot_id)
        alert = open_alerts.get(key)
        wanted = balance.quantity > 0 and in_window(balance.lot.expires_on, on=on)
        if wanted and alert is None:
            new = _open(stock, balance)
            if new is not None:
                opened.append(new)
                open_alerts[key] = new
        elif not wanted and alert is not None:
            alert.status, alert.resolved_at = LowStockAlert.Status.RESOLVED, now
            alert.save(update_fields=["status", "resolved_at"])
            emit(AlertChanged(alert=alert, action="resolved"))
            del open_alerts[key]
    return opened


def _open(stock, balance: StockLot) -> LowStockAlert | None:
    try:
        with transaction.atomic():  # a savepoint: losing the race for the one open alert keeps the caller usable
            alert = LowStockAlert.objects.create(
                kind=EXPIRY, product_id=stock.product_id, warehouse_id=stock.warehouse_id,
                lot_id=balance.lot_id, threshold=None, quantity_at_trigger=balance.quantity)
    except IntegrityError:
        if not LowStockAlert.objects.filter(kind=EXPIRY, status=OPEN, lot_id=balance.lot_id,
                                            warehouse_id=stock.warehouse_id).exists():
            raise
        return None
    # Stored in this transaction (database task backend): a rollback drops the alert and its e-mail together.
    send_low_stock_alert_email.enqueue(alert_id=alert.pk, attempt=1)
    ensure_watchdog(timezone.now() + lease(), serialize=False)
    logger.info("expiry alert %s opened: lot %s in warehouse %s", alert.pk, balance.lot_id, stock.warehouse_id)
    emit(AlertChanged(alert=alert, action="opened"))
    return alert
