"""Every stock row lock is taken here, always in primary-key order, so two writers never deadlock (and the
product-row locks a tracking switch and a count serialize on)."""

from collections.abc import Iterable

from django.db import connection
from django.db.models import Q

from .models import Product, Stock

# pg_advisory_xact_lock class of "a product's tracking must hold still" (two-key form: this class, the product
# id). Creating a product's stock rows, and opening a count with a line for it, hold it shared; the tracking
# switch holds it exclusive. So a row created (or a count opened) while a switch runs waits for the switch to
# commit and then sees the new `tracking`; a switch waits for them to commit and then sees their rows and lines.
TRACKING_LOCK_CLASS = 0x1E5E_0707


def _advisory(function: str, product_ids: Iterable[int]) -> None:
    """Take `function` (an advisory lock) on each product's key, in id order, in one statement."""
    if connection.vendor != "postgresql":
        return  # SQLite serializes writers: nothing can interleave
    ids = sorted(set(product_ids))
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, id) FROM unnest(%s::integer[]) WITH ORDINALITY AS t(id, n) ORDER BY n",
                       [TRACKING_LOCK_CLASS, ids])


def hold_tracking(product_ids: Iterable[int]) -> None:
    """Before creating stock rows of these products (or count lines for them): hold each product's tracking lock
    shared, in id order, until the transaction ends."""
    _advisory("pg_advisory_xact_lock_shared", product_ids)


def exclude_tracking_holders(product_id: int) -> None:
    """The tracking switch (the product row locked first): wait until no transaction holding the product's
    tracking lock (creating its stock rows, opening a count of it) runs, and keep new ones waiting until this
    transaction ends."""
    _advisory("pg_advisory_xact_lock", [product_id])


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
    missing = [(product_id, warehouse_id) for product_id, warehouse_id in ordered
               if (product_id, warehouse_id) not in existing]
    if not missing:
        return
    # A row created during a tracking switch would escape the switch's row locks: wait for it instead.
    hold_tracking(product_id for product_id, _ in missing)
    # One statement per 1 000 rows; a statement inserts its rows in list order, so the order stays fixed.
    Stock.objects.bulk_create(
        [Stock(product_id=product_id, warehouse_id=warehouse_id, quantity=0) for product_id, warehouse_id in missing],
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
    """A tracking switch (the product rows locked first): keep new stock rows and count lines of these
    products from being created (`exclude_tracking_holders`), then lock every existing stock row of them
    (every warehouse), in primary-key order."""
    ids = sorted(set(product_ids))
    for product_id in ids:
        exclude_tracking_holders(product_id)
    return list(Stock.objects.select_for_update().filter(product_id__in=ids).order_by("pk"))


def share_lock_products(product_ids: Iterable[int]) -> dict[int, str]:
    """Hold these products' tracking locks shared (`hold_tracking`: a tracking switch waits for this
    transaction, and this waits for a switch in progress) and read their `tracking` as it is now:
    `{id: tracking}` (a count adding lines: the lines then fit the product's tracking)."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    hold_tracking(ids)
    return dict(Product.objects.filter(pk__in=ids).values_list("pk", "tracking").order_by())


def lock_product_stock_rows(product_id: int) -> list[Stock]:
    """The tracking switch of one product (`lock_stock_rows_of_products`)."""
    return lock_stock_rows_of_products([product_id])


def lock_stock_rows_by_id(stock_ids: Iterable[int]) -> list[Stock]:
    """Lock stock rows by id, in primary-key order (rows read from lot balances: an expiry change)."""
    ids = sorted(set(stock_ids))
    if not ids:
        return []
    return list(Stock.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
