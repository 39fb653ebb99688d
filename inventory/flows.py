"""The daily roll-up of the ledger (`DailyFlow`): written with every movement, rebuilt from the ledger.

`record` is called by the stock door (`inventory.services.stock._apply`) right after it writes a
movement, in the same transaction and under the same stock-row lock: one upsert per movement, on a
row only the holder of that stock lock writes, so the roll-up adds a statement but no contention.
`rebuild` recomputes every row from the ledger (a migration, the bulk seeder, a time-zone change);
`flow_mismatches` is the ledger check that proves the two agree.
"""

from collections.abc import Iterator
from datetime import date

from django.db import connection, transaction
from django.db.models import Case, Count, F, IntegerField, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from .models import DailyFlow, StockMovement

_TABLE = DailyFlow._meta.db_table


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
    empty = (0, 0, 0)
    wanted = ((stock_id, day, (inflow, outflow, count)) for stock_id, _w, _p, day, inflow, outflow, count
              in expected_flows().order_by("stock_id", "day").iterator(chunk_size=5000))
    stored = ((stock_id, day, (inflow, outflow, count)) for stock_id, day, inflow, outflow, count
              in DailyFlow.objects.order_by("stock_id", "day")
              .values_list("stock_id", "day", "inflow", "outflow", "movements").iterator(chunk_size=5000))
    want, have = next(wanted, None), next(stored, None)
    while want is not None or have is not None:
        if have is None or (want is not None and want[:2] < have[:2]):
            yield want[0], want[1], want[2], empty
            want = next(wanted, None)
        elif want is None or have[:2] < want[:2]:
            yield have[0], have[1], empty, have[2]
            have = next(stored, None)
        else:
            if want[2] != have[2]:
                yield want[0], want[1], want[2], have[2]
            want, have = next(wanted, None), next(stored, None)
