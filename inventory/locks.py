"""Every stock row lock is taken here, always in primary-key order, so two writers never deadlock (and the
product-row locks a tracking switch and a count serialize on)."""

from collections.abc import Iterable

from django.db import connection
from django.db.models import Q

from .models import Product, Stock


def ensure_stock_rows(pairs: Iterable[tuple[int, int]]) -> None:
    """Create missing `(product_id, warehouse_id)` stock rows, safely under concurrency.

    `INSERT ... ON CONFLICT DO NOTHING`: a concurrent creator of the same row makes this wait for
    its commit and then do nothing, so a row is never duplicated and no IntegrityError escapes.
    Rows are inserted in a fixed order so two transactions creating rows never wait on each other
    in a cycle.
    """
    ordered = sorted(set(pairs), key=lambda pair: (pair[1], pair[0]))
    existing = set(
        Stock.objects.filter(product_id__in={p for p, _ in ordered}, warehouse_id__in={w for _, w in ordered})
        .values_list("product_id", "warehouse_id")
    )
    # One statement per 1 000 rows; a statement inserts its rows in list order, so the order stays fixed.
    Stock.objects.bulk_create(
        [Stock(product_id=product_id, warehouse_id=warehouse_id, quantity=0)
         for product_id, warehouse_id in ordered if (product_id, warehouse_id) not in existing],
        ignore_conflicts=True, batch_size=1000,
    )


def lock_stock_rows(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Stock]:
    """Lock the stock rows of `(product_id, warehouse_id)` pairs, in primary-key order.

    Must be called inside a transaction. Rows must exist (see `ensure_stock_rows`).
    Returns the locked rows keyed by `(product_id, warehouse_id)`.
    """
    pairs = set(pairs)
    # One clause per warehouse (`product_id IN (...)`): a batch of thousands of rows stays one flat query.
    by_warehouse: dict[int, set[int]] = {}
    for product_id, warehouse_id in pairs:
        by_warehouse.setdefault(warehouse_id, set()).add(product_id)
    query = Q(pk__in=[])
    for warehouse_id, product_ids in by_warehouse.items():
        query |= Q(warehouse_id=warehouse_id, product_id__in=sorted(product_ids))
    rows = Stock.objects.select_for_update().filter(query).order_by("pk")
    locked = {(row.product_id, row.warehouse_id): row for row in rows}
    missing = pairs - locked.keys()
    if missing:
        raise Stock.DoesNotExist(f"stock rows missing: {sorted(missing)}")
    return locked


def lock_stock_row(product_id: int, warehouse_id: int, *, create: bool = False) -> Stock:
    """Lock one stock row (creating it first if `create`)."""
    if create:
        ensure_stock_rows([(product_id, warehouse_id)])
    return lock_stock_rows([(product_id, warehouse_id)])[(product_id, warehouse_id)]


def lock_existing_stock_row(product_id: int, warehouse_id: int) -> Stock | None:
    """Lock one stock row if it exists (threshold changes serialize with stock changes this way)."""
    return Stock.objects.select_for_update().filter(product_id=product_id, warehouse_id=warehouse_id).first()


def lock_stock_rows_of_products(product_ids: Iterable[int]) -> list[Stock]:
    """Lock every stock row of these products, in primary-key order (a tracking switch: the product rows are
    locked first, so no new row can be inserted meanwhile — an insert takes the product's key-share lock)."""
    return list(Stock.objects.select_for_update().filter(product_id__in=sorted(set(product_ids))).order_by("pk"))


def share_lock_products(product_ids: Iterable[int]) -> dict[int, str]:
    """Lock product rows FOR SHARE (primary-key order) and read their `tracking` as it is now: `{id: tracking}`.

    A tracking switch locks the product row FOR UPDATE, so it waits for this transaction (a count adding lines
    for these products), and this waits for a switch in progress and then reads its result (PostgreSQL
    re-reads a row it had to wait for). On SQLite (one writer at a time) a plain read.
    """
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    table = Product._meta.db_table
    tracking = {}
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            sql = (f'SELECT "id", "tracking" FROM "{table}" WHERE "id" IN ({", ".join(["%s"] * len(chunk))}) '
                   'ORDER BY "id"')
            if connection.vendor == "postgresql":
                sql += " FOR SHARE"
            cursor.execute(sql, chunk)
            tracking.update(cursor.fetchall())
    return tracking
