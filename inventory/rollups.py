"""The daily roll-up of the ledger (`DailyFlow`): written with every movement, rebuilt from the ledger.

`record` is called by the stock door (`inventory.services.stock.write_change`) right after it writes a
movement, in the same transaction and under the same stock-row lock: one upsert per movement, on a
row only the holder of that stock lock writes, so the roll-up adds a statement but no contention.
`rebuild` recomputes every row from the ledger (a migration, the bulk seeder, a time-zone change);
`flow_mismatches` is the ledger check that proves the two agree.

Closed days (`close_days`): once a local day is over (and `SETTLE` has passed), nothing can be added
to it, so its totals over every warehouse are written once — per day (`ClosedDay`) and per product and
day (`ClosedProductDay`) — and the admin dashboard reads 30 rows and a few thousand instead of every
stock row's days. `closed_mismatches` proves them against `DailyFlow`. The worker closes them on its own
schedule (`close_settled_days`, a self-rescheduling task started when the worker starts); a dashboard
never writes: a settled day not closed yet is read from `DailyFlow`, like today.
"""

import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from django.db import connection, connections, router, transaction
from django.db.models import Case, Count, F, IntegerField, Max, Min, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django_tasks import task

from core.scheduling import ensure_scheduled

from .models import ClosedDay, ClosedProductDay, ClosedWarehouseDay, DailyFlow, StockMovement

_TABLE = DailyFlow._meta.db_table

# A movement is filed under the local day of its `created_at`, taken while its transaction runs; a day
# is closed this long after it ended, when no transaction that could still add to it is open (stock
# transactions last milliseconds to seconds; a long import, minutes).
SETTLE = timedelta(hours=1)

logger = logging.getLogger(__name__)


def local_day(moment) -> date:
    """The calendar day of `moment` in the project's time zone (the dashboards' days)."""
    return timezone.localdate(moment, timezone=timezone.get_default_timezone())


def _upsert_sql() -> str:
    quote = connection.ops.quote_name
    table = quote(_TABLE)
    return (
        f"INSERT INTO {table} (stock_id, warehouse_id, product_id, day, inflow, outflow, movements) "
        "VALUES (%s, %s, %s, %s, %s, %s, 1) "
        "ON CONFLICT (stock_id, day) DO UPDATE SET "
        f"inflow = {table}.inflow + EXCLUDED.inflow, outflow = {table}.outflow + EXCLUDED.outflow, "
        f"movements = {table}.movements + 1"
    )


def record(movement: StockMovement) -> None:
    """Add one new movement to its stock row's day. The caller holds the stock row's lock.

    One statement (`INSERT ... ON CONFLICT DO UPDATE`, PostgreSQL and SQLite alike).
    """
    change = movement.quantity_change
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(), [movement.stock_id, movement.warehouse_id, movement.product_id,
                                       local_day(movement.created_at), max(change, 0), max(-change, 0)])


def _inflow():
    return Coalesce(Sum(Case(When(quantity_change__gt=0, then=F("quantity_change")), default=Value(0),
                             output_field=IntegerField())), Value(0))


def _outflow():
    return Coalesce(Sum(Case(When(quantity_change__lt=0, then=-F("quantity_change")), default=Value(0),
                             output_field=IntegerField())), Value(0))


def expected_flows(movements=None):
    """The roll-up the ledger implies: `(stock_id, warehouse_id, product_id, day, inflow, outflow, movements)`."""
    movements = StockMovement.objects.all() if movements is None else movements
    return (movements.order_by()
            .annotate(day=TruncDate("created_at", tzinfo=timezone.get_default_timezone()))
            .values_list("stock_id", "warehouse_id", "product_id", "day")
            .annotate(inflow=_inflow(), outflow=_outflow(), count=Count("id")))


@transaction.atomic
def rebuild(*, batch_size: int = 5000) -> int:
    """Recompute the whole roll-up from the ledger; return the number of rows. Locks the table meanwhile.

    On PostgreSQL one `INSERT ... SELECT` (the grouping stays in the database); elsewhere in batches.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {connection.ops.quote_name(_TABLE)} IN EXCLUSIVE MODE")
    ClosedProductDay.objects.all().delete()
    ClosedWarehouseDay.objects.all().delete()
    ClosedDay.objects.all().delete()
    DailyFlow.objects.all().delete()
    query = expected_flows()
    if connection.vendor == "postgresql":
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {connection.ops.quote_name(_TABLE)} "
                f"(stock_id, warehouse_id, product_id, day, inflow, outflow, movements) {sql}", params)
            return cursor.rowcount
    rows = 0
    batch = []
    for stock_id, warehouse_id, product_id, day, inflow, outflow, count in query.iterator(chunk_size=batch_size):
        batch.append(DailyFlow(stock_id=stock_id, warehouse_id=warehouse_id, product_id=product_id, day=day,
                               inflow=inflow, outflow=outflow, movements=count))
        if len(batch) >= batch_size:
            DailyFlow.objects.bulk_create(batch)
            rows += len(batch)
            batch = []
    DailyFlow.objects.bulk_create(batch)
    return rows + len(batch)


def flow_mismatches() -> Iterator[tuple[int, date, tuple, tuple]]:
    """`(stock_id, day, expected, found)` wherever the roll-up differs from the ledger.

    `expected`/`found` are `(inflow, outflow, movements)`; a missing row is `(0, 0, 0)`. Both sides are
    streamed in `(stock_id, day)` order and merged, so memory stays flat however long the ledger is.
    """
    wanted = (((stock_id, day), (inflow, outflow, count)) for stock_id, _w, _p, day, inflow, outflow, count
              in expected_flows().order_by("stock_id", "day").iterator(chunk_size=5000))
    stored = (((stock_id, day), (inflow, outflow, count)) for stock_id, day, inflow, outflow, count
              in DailyFlow.objects.order_by("stock_id", "day")
              .values_list("stock_id", "day", "inflow", "outflow", "movements").iterator(chunk_size=5000))
    for (stock_id, day), expected, found in _merge(wanted, stored, (0, 0, 0)):
        yield stock_id, day, expected, found


# --- closed days -------------------------------------------------------------------------------------

def last_closed_day(now=None) -> date:
    """The newest local day that is closed at `now`: it ended at least `SETTLE` ago."""
    return local_day((now or timezone.now()) - SETTLE) - timedelta(days=1)


def close_days(days: list[date]) -> int:
    """Write the totals of those of `days` that are closed and not yet written; return how many were written.

    On the primary, in one transaction: the per-product rows, then the day rows (a reader that sees a
    `ClosedDay` sees its products). Two callers closing the same day at once both succeed: the second's
    rows conflict and are skipped (`ON CONFLICT DO NOTHING`).
    """
    limit = last_closed_day()
    candidates = sorted(day for day in days if day <= limit)
    if not candidates:
        return 0
    alias = router.db_for_write(ClosedDay)
    db = connections[alias]
    with transaction.atomic(using=alias):
        done = set(ClosedDay.objects.using(alias).filter(day__in=candidates).values_list("day", flat=True))
        missing = [day for day in candidates if day not in done]
        if not missing:
            return 0
        quote = db.ops.quote_name
        products = (DailyFlow.objects.using(alias).filter(day__in=missing).order_by()
                    .values("day", "product_id").annotate(inflow_=Sum("inflow"), outflow_=Sum("outflow")))
        warehouses = (DailyFlow.objects.using(alias).filter(day__in=missing).order_by()
                      .values("day", "warehouse_id").annotate(inflow_=Sum("inflow"), outflow_=Sum("outflow")))
        totals = (DailyFlow.objects.using(alias).filter(day__in=missing).order_by()
                  .values("day").annotate(inflow_=Sum("inflow"), outflow_=Sum("outflow"), count=Sum("movements")))
        with db.cursor() as cursor:
            for model, columns, query in ((ClosedProductDay, "day, product_id, inflow, outflow", products),
                                          (ClosedWarehouseDay, "day, warehouse_id, inflow, outflow", warehouses),
                                          (ClosedDay, "day, inflow, outflow, movements", totals)):
                sql, params = query.query.sql_with_params()
                cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({columns}) {sql} ON CONFLICT DO NOTHING",
                               params)
        # Days without a single movement are closed too (zeros), so they are not looked at again.
        ClosedDay.objects.using(alias).bulk_create(
            [ClosedDay(day=day, inflow=0, outflow=0, movements=0) for day in missing], ignore_conflicts=True)
    return len(missing)


def _merge(wanted, stored, empty) -> Iterator[tuple]:
    """Two iterators of `(key, values)` sorted by key: `(key, expected, found)` wherever they differ."""
    want, have = next(wanted, None), next(stored, None)
    while want is not None or have is not None:
        if have is None or (want is not None and want[0] < have[0]):
            yield want[0], want[1], empty
            want = next(wanted, None)
        elif want is None or have[0] < want[0]:
            yield have[0], empty, have[1]
            have = next(stored, None)
        else:
            if want[1] != have[1]:
                yield want[0], want[1], have[1]
            want, have = next(wanted, None), next(stored, None)


def closed_mismatches() -> Iterator[tuple[date, tuple | None, tuple, tuple]]:
    """`(day, part, expected, found)` wherever a closed day's totals differ from `DailyFlow`.

    `part` is None for the day's total, `("product", id)` or `("warehouse", id)` for its parts.
    """
    closed = list(ClosedDay.objects.order_by("day").values_list("day", flat=True))
    if not closed:
        return
    flows = DailyFlow.objects.filter(day__in=closed).order_by()
    wanted = ((day, (int(i), int(o), int(n))) for day, i, o, n in flows.values_list("day").annotate(
        Sum("inflow"), Sum("outflow"), Sum("movements")).order_by("day"))
    stored = ((day, (i, o, n)) for day, i, o, n in ClosedDay.objects.order_by("day").values_list(
        "day", "inflow", "outflow", "movements"))
    for day, expected, found in _merge(wanted, stored, (0, 0, 0)):
        if expected != found:  # a closed day without movements: zeros stored, no flow rows; that agrees
            yield day, None, expected, found
    wanted = (((day, product), (int(i), int(o))) for day, product, i, o in flows.values_list("day", "product_id")
              .annotate(Sum("inflow"), Sum("outflow")).order_by("day", "product_id").iterator(chunk_size=5000))
    stored = (((day, product), (i, o)) for day, product, i, o in ClosedProductDay.objects.order_by("day", "product_id")
              .values_list("day", "product_id", "inflow", "outflow").iterator(chunk_size=5000))
    for (day, product), expected, found in _merge(wanted, stored, (0, 0)):
        yield day, ("product", product), expected, found
    wanted = (((day, warehouse), (int(i), int(o))) for day, warehouse, i, o in flows.values_list("day", "warehouse_id")
              .annotate(Sum("inflow"), Sum("outflow")).order_by("day", "warehouse_id").iterator(chunk_size=5000))
    stored = (((day, warehouse), (i, o)) for day, warehouse, i, o in ClosedWarehouseDay.objects
              .order_by("day", "warehouse_id").values_list("day", "warehouse_id", "inflow", "outflow")
              .iterator(chunk_size=5000))
    for (day, warehouse), expected, found in _merge(wanted, stored, (0, 0)):
        yield day, ("warehouse", warehouse), expected, found


# --- closing days in the worker ---------------------------------------------------------------------
# One self-rescheduling task on the worker (`db_worker`), as reservation expiry: it closes every settled
# day not closed yet, then queues its next run for the moment the current day settles. The chain starts
# when a worker starts (`core.worker.WorkerStarted`, subscribed in InventoryConfig.ready) and at most
# one READY run waits (check and enqueue under an advisory lock).

CLOSE_TASK_PATH = "inventory.rollups.close_settled_days"
# pg_advisory_xact_lock key of "schedule the day-closing task" (any constant unique in this database).
CLOSE_SCHEDULE_LOCK = 0x1E5E_C105
DAYS_PER_RUN = 366


def next_settle(now: datetime | None = None) -> datetime:
    """The moment the current local day is closed: the next local midnight plus `SETTLE`."""
    today = local_day(now or timezone.now())
    midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(),
                                tzinfo=timezone.get_default_timezone())
    return midnight + SETTLE


def ensure_closing_scheduled(run_at: datetime) -> bool:
    """Make sure a day-closing run is queued at or before `run_at` (at most one waits; `core.scheduling`)."""
    return ensure_scheduled(close_settled_days, run_at=run_at, lock_key=CLOSE_SCHEDULE_LOCK)


def schedule_closing(event=None) -> None:
    """Subscriber of `WorkerStarted`: close what is due now (the chain then keeps itself going)."""
    ensure_closing_scheduled(timezone.now())


def settled_days_to_close(limit: int = DAYS_PER_RUN) -> list[date]:
    """The settled days not closed yet, oldest first, at most `limit`: after the newest closed day, or from
    the first day with movements when none is closed."""
    last = last_closed_day()
    newest = ClosedDay.objects.aggregate(day=Max("day"))["day"]
    first = newest + timedelta(days=1) if newest else DailyFlow.objects.aggregate(day=Min("day"))["day"]
    if first is None or first > last:
        return []
    return [first + timedelta(days=n) for n in range(min((last - first).days + 1, limit))]


@task()
def close_settled_days() -> int:
    """Close every settled day not closed yet (in runs of `DAYS_PER_RUN`), then queue the next run for the
    moment the current day settles (at once while days remain). Returns how many days it closed."""
    days = settled_days_to_close()
    closed = close_days(days) if days else 0
    more = len(days) == DAYS_PER_RUN
    ensure_closing_scheduled(timezone.now() if more else next_settle())
    logger.info("closed %s day(s); next run %s", closed, "at once" if more else "when today settles")
    return closed
