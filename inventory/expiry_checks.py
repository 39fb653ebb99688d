"""The worker's expiry check (SPEC §14): hourly, and right after each local midnight.

`check_expiry` is a self-rescheduling task (as reservation expiry and day closing), started when a worker
starts (`core.worker.WorkerStarted` → `schedule_expiry_checks`, subscribed in `InventoryConfig.ready`); at most
one run waits (`core.scheduling.ensure_scheduled`). Each run:

1. **announces the day change** (`announce_day_change`): lots expire at midnight without any stock change,
   yet the `expired` and `available` of the rows holding them change. Under the checkpoint row's lock
   (`ExpiryCheckpoint`), then the stock rows' (primary-key order), it raises each such row's `version` and
   emits one `StockChanged` (no movements), then moves the checkpoint to today: once per row per day change,
   even with several workers or a worker that was down over midnight (the lots of every missed day count);
2. **sweeps the expiry alerts** (`sweep_alerts`): opens the alert of every (lot, warehouse) that came into
   the warning window as days went by, and resolves any left open without reason, each batch of stock rows
   locked while it is settled (`inventory.expiry_alerts.settle`, the same rule as the immediate check).
"""

import datetime
import logging

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_tasks import task

from core.scheduling import ensure_scheduled

from . import expiry_alerts, locks
from .lots import ExpiryCheckpoint, StockLot, today
from .models import LowStockAlert
from .services.expiry_changes import announce_expired_changed

logger = logging.getLogger(__name__)

CHECK_TASK_PATH = "inventory.expiry_checks.check_expiry"
# pg_advisory_xact_lock key of "schedule the expiry check" (any constant unique in this database).
EXPIRY_SCHEDULE_LOCK = 0x1E5E_E791
CHECK_EVERY = datetime.timedelta(hours=1)
# Stock rows locked (and settled) per transaction by the sweep.
BATCH = 500


def next_check(now: datetime.datetime | None = None) -> datetime.datetime:
    """An hour from now, or the next local midnight if that comes first (a day change is announced at once)."""
    now = now or timezone.now()
    midnight = datetime.datetime.combine(timezone.localdate(now) + datetime.timedelta(days=1), datetime.time.min,
                                         tzinfo=timezone.get_default_timezone())
    return min(now + CHECK_EVERY, midnight)


def ensure_check_scheduled(run_at: datetime.datetime) -> bool:
    return ensure_scheduled(check_expiry, run_at=run_at, lock_key=EXPIRY_SCHEDULE_LOCK)


def schedule_expiry_checks(event=None) -> None:
    """Subscriber of `WorkerStarted`: check now (the chain then keeps itself going)."""
    ensure_check_scheduled(timezone.now())


@task()
def check_expiry() -> dict:
    """Announce the day change, sweep the expiry alerts, queue the next run. Returns what it did."""
    announced = announce_day_change()
    opened, resolved = sweep_alerts()
    ensure_check_scheduled(next_check())
    logger.info("expiry check: %s row(s) announced, %s alert(s) opened, %s resolved", announced, opened, resolved)
    return {"announced": announced, "opened": opened, "resolved": resolved}


@transaction.atomic
def announce_day_change(on: datetime.date | None = None) -> int:
    """Announce the rows holding units of lots that expired since the checkpoint; return how many rows.

    Locks: the checkpoint row, then the stock rows (primary-key order). The first run ever only sets the
    checkpoint (there is no earlier day to compare with).
    """
    on = on or today()
    checkpoint = ExpiryCheckpoint.objects.select_for_update().filter(pk=1).first()
    if checkpoint is None:
        try:
            with transaction.atomic():
                ExpiryCheckpoint.objects.create(pk=1, day=on)
        except IntegrityError:  # another worker created it first: it announces
            pass
        return 0
    if checkpoint.day >= on:
        return 0
    # Expired on a day in (checkpoint, on]: expires_on in [checkpoint, on).
    expired_since = {"lot__expires_on__gte": checkpoint.day, "lot__expires_on__lt": on, "quantity__gt": 0}
    rows = locks.lock_stock_rows_by_id(
        StockLot.objects.filter(**expired_since).values_list("stock_id", flat=True).distinct())
    # Under the locks: only rows that still hold units of such a lot changed.
    holding = set(StockLot.objects.filter(stock_id__in=[row.pk for row in rows], **expired_since)
                  .values_list("stock_id", flat=True))
    rows = [row for row in rows if row.pk in holding]
    announce_expired_changed(rows)
    checkpoint.day = on
    checkpoint.save(update_fields=["day"])
    return len(rows)


def sweep_alerts(on: datetime.date | None = None) -> tuple[int, int]:
    """Open the expiry alerts that are due and resolve those left open without reason (settled again under
    their rows' locks); return (opened, stale found)."""
    on = on or today()
    open_alert = LowStockAlert.objects.filter(kind=LowStockAlert.Kind.EXPIRY, status=LowStockAlert.Status.OPEN,
                                              lot_id=OuterRef("lot_id"), warehouse_id=OuterRef("stock__warehouse_id"))
    due = (StockLot.objects.filter(quantity__gt=0, lot__expires_on__lte=expiry_alerts.warning_horizon(on))
           .exclude(Exists(open_alert)).values_list("stock_id", "lot_id"))
    stale = []
    balances = StockLot.objects.filter(lot_id=OuterRef("lot_id"), stock__warehouse_id=OuterRef("warehouse_id"))
    for alert in (LowStockAlert.objects.filter(kind=LowStockAlert.Kind.EXPIRY, status=LowStockAlert.Status.OPEN)
                  .select_related("lot").annotate(x_stock=balances.values("stock_id")[:1],
                                                  x_quantity=balances.values("quantity")[:1])):
        if not alert.x_quantity or not expiry_alerts.in_window(alert.lot.expires_on, on=on):
            stale.append((alert.x_stock, alert.lot_id))
    stale = {pair for pair in stale if pair[0] is not None}
    pairs = sorted(set(due) | stale)
    opened = 0
    by_stock: dict[int, list[int]] = {}
    for stock_id, lot_id in pairs:
        by_stock.setdefault(stock_id, []).append(lot_id)
    stock_ids = sorted(by_stock)
    for start in range(0, len(stock_ids), BATCH):
        batch = stock_ids[start:start + BATCH]
        with transaction.atomic():
            locks.lock_stock_rows_by_id(batch)
            opened += len(expiry_alerts.settle((stock_id, lot_id) for stock_id in batch
                                               for lot_id in by_stock[stock_id]))
    return opened, len(stale)
