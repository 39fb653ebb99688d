"""Ledger verification: every balance equals the sum of its movements, every running total is right,
every bucket equals its sources (`reserved` = the active holds, `incoming` = the units in transit),
for a lot-tracked product every lot balance equals its lot's movements and a row's lot balances sum to
its quantity (SPEC §14), and the daily roll-up the dashboards read equals the ledger it sums (`inventory.rollups`).

Read-only and set-based (a window function does the running sums in the database), so it runs on
ledgers of millions of rows; results are streamed.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.db.models import F, OuterRef, Q, Subquery, Sum, Value, Window
from django.db.models.functions import Coalesce

from . import rollups
from .models import Lot, Product, Reservation, Stock, StockLot, StockMovement


@dataclass(frozen=True)
class Mismatch:
    """One place where the ledger and the balances disagree."""

    # "balance" (Stock.quantity != sum), "running" (quantity_after != running sum), "owner",
    # "reserved" (Stock.reserved != units held for it), "incoming" (Stock.incoming != units in transit),
    # "flow" (the day's roll-up != its movements; expected/found are (inflow, outflow, movements)),
    # "lot" (a lot balance != its lot's movements in that row), "lots" (a row's lot balances != its quantity),
    # "lot_owner" (a movement names a lot of another product)
    kind: str
    stock_id: int
    movement_id: int | None
    expected: int | tuple
    found: int | tuple
    day: date | None = None
    lot_id: int | None = None

    def __str__(self):
        where = f"stock {self.stock_id}" + (f", movement {self.movement_id}" if self.movement_id else "")
        where += f", lot {self.lot_id}" if self.lot_id else ""
        where += f", day {self.day.isoformat()}" if self.day else ""
        return f"{self.kind} mismatch at {where}: expected {self.expected}, found {self.found}"


def balance_mismatches() -> Iterator[Mismatch]:
    """Stock rows whose quantity differs from the sum of their movements' quantity_change."""
    total = (
        StockMovement.objects.filter(stock_id=OuterRef("pk"))
        .order_by()
        .values("stock_id")
        .annotate(total=Sum("quantity_change"))
        .values("total")
    )
    rows = (
        Stock.objects.order_by()
        .annotate(ledger_total=Coalesce(Subquery(total), Value(0)))
        .exclude(quantity=F("ledger_total"))
        .values_list("pk", "ledger_total", "quantity")
        .order_by("pk")
    )
    for stock_id, expected, found in rows.iterator(chunk_size=2000):
        yield Mismatch("balance", stock_id, None, expected, found)


def running_mismatches() -> Iterator[Mismatch]:
    """Movements whose quantity_after is not the running sum of their stock row's changes (id order)."""
    rows = (
        StockMovement.objects.order_by()
        .annotate(running=Window(Sum("quantity_change"), partition_by=[F("stock_id")], order_by=F("id").asc()))
        .filter(~Q(quantity_after=F("running")))
        .values_list("stock_id", "pk", "running", "quantity_after")
    )
    for stock_id, movement_id, expected, found in rows.iterator(chunk_size=2000):
        yield Mismatch("running", stock_id, movement_id, expected, found)


def owner_mismatches() -> Iterator[Mismatch]:
    """Movements whose warehouse or product differ from their stock row's."""
    rows = (
        StockMovement.objects.order_by()
        .filter(~Q(warehouse_id=F("stock__warehouse_id")) | ~Q(product_id=F("stock__product_id")))
        .values_list("stock_id", "pk")
    )
    for stock_id, movement_id in rows.iterator(chunk_size=2000):
        yield Mismatch("owner", stock_id, movement_id, 0, 0)


def lot_mismatches() -> Iterator[Mismatch]:
    """For products lot-tracked now: lot balances that differ from the sum of their lot's movements in
    their row (a movement of a lot with no balance row counts as a balance of 0), and rows whose lot
    balances do not sum to their quantity. Lots of products no longer lot-tracked stay, for history.

    With no lot and no lot-tracked product there is nothing to check (no balance, no movement naming a lot,
    no row that must be split into lots): two cheap queries instead of four aggregates, which matters to the
    test suite's proof after every test and to a database that does not use lots."""
    if not Lot.objects.exists() and not Product.objects.filter(tracking=Product.Tracking.LOT).exists():
        return
    tracked = Q(product__tracking=Product.Tracking.LOT)
    moved = (
        StockMovement.objects.filter(stock_id=OuterRef("stock_id"), lot_id=OuterRef("lot_id"))
        .order_by().values("stock_id").annotate(total=Sum("quantity_change")).values("total")
    )
    rows = (
        StockLot.objects.filter(Q(stock__product__tracking=Product.Tracking.LOT))
        .annotate(ledger_total=Coalesce(Subquery(moved), Value(0)))
        .exclude(quantity=F("ledger_total")).values_list("stock_id", "lot_id", "ledger_total", "quantity")
        .order_by("stock_id", "lot_id")
    )
    for stock_id, lot_id, expected, found in rows.iterator(chunk_size=2000):
        yield Mismatch("lot", stock_id, None, expected, found, lot_id=lot_id)
    balance = StockLot.objects.filter(stock_id=OuterRef("stock_id"), lot_id=OuterRef("lot_id")).values("quantity")
    unbooked = (
        StockMovement.objects.filter(tracked, lot__isnull=False).order_by()
        .values("stock_id", "lot_id").annotate(total=Sum("quantity_change"))
        .annotate(balance=Subquery(balance[:1]))
        .filter(balance__isnull=True).exclude(total=0).values_list("stock_id", "lot_id", "total")
    )
    for stock_id, lot_id, total in unbooked.iterator(chunk_size=2000):
        yield Mismatch("lot", stock_id, None, total, 0, lot_id=lot_id)
    summed = (
        StockLot.objects.filter(stock_id=OuterRef("pk")).order_by().values("stock_id")
        .annotate(total=Sum("quantity")).values("total")
    )
    sums = (
        Stock.objects.filter(tracked).order_by().annotate(lot_total=Coalesce(Subquery(summed), Value(0)))
        .exclude(quantity=F("lot_total")).values_list("pk", "quantity", "lot_total").order_by("pk")
    )
    for stock_id, expected, found in sums.iterator(chunk_size=2000):
        yield Mismatch("lots", stock_id, None, expected, found)
    strangers = (
        StockMovement.objects.filter(lot__isnull=False).exclude(lot__product_id=F("product_id"))
        .order_by().values_list("stock_id", "pk", "lot_id")
    )
    for stock_id, movement_id, lot_id in strangers.iterator(chunk_size=2000):
        yield Mismatch("lot_owner", stock_id, movement_id, 0, 0, lot_id=lot_id)


# Where the units of each bucket come from, beyond this app's own: apps above `inventory` register
# theirs (`register_bucket_source`) in `AppConfig.ready`, so the ledger check never imports them.
_BUCKET_SOURCES: dict[str, list] = {"reserved": [], "incoming": []}


def register_bucket_source(bucket: str, source) -> None:
    """Add a source of `Stock.reserved` or `Stock.incoming`.

    `source()` returns rows `(product_id, warehouse_id, units)`: one grouped query (e.g.
    `.values_list("product_id", "transfer__source_warehouse_id").annotate(Sum(...))`), so the check
    costs one aggregate per source however many stock rows there are.
    """
    if source not in _BUCKET_SOURCES[bucket]:
        _BUCKET_SOURCES[bucket].append(source)


def _active_reservations():
    return (Reservation.objects.filter(status=Reservation.Status.ACTIVE).order_by()
            .values_list("product_id", "warehouse_id").annotate(units=Sum("quantity")))


def expected_buckets() -> dict[str, dict[tuple[int, int], int]]:
    """Per bucket, the units its sources hold per `(product_id, warehouse_id)` (absent: none)."""
    sources = {"reserved": [_active_reservations, *_BUCKET_SOURCES["reserved"]],
               "incoming": list(_BUCKET_SOURCES["incoming"])}
    expected: dict[str, dict[tuple[int, int], int]] = {}
    for bucket, callables in sources.items():
        totals: dict[tuple[int, int], int] = {}
        for source in callables:
            for product_id, warehouse_id, units in source():
                totals[(product_id, warehouse_id)] = totals.get((product_id, warehouse_id), 0) + (units or 0)
        expected[bucket] = totals
    return expected


def bucket_mismatches() -> Iterator[Mismatch]:
    """Stock rows whose `reserved` or `incoming` differ from the units their sources hold.

    One grouped query per source, then one pass over the stock rows (streamed): linear in rows, with
    no per-row subquery for the planner to get wrong.
    """
    expected = expected_buckets()
    rows = Stock.objects.order_by("pk").values_list("pk", "product_id", "warehouse_id", "reserved", "incoming")
    for stock_id, product_id, warehouse_id, reserved, incoming in rows.iterator(chunk_size=5000):
        held = expected["reserved"].get((product_id, warehouse_id), 0)
        in_transit = expected["incoming"].get((product_id, warehouse_id), 0)
        if held != reserved:
            yield Mismatch("reserved", stock_id, None, held, reserved)
        if in_transit != incoming:
            yield Mismatch("incoming", stock_id, None, in_transit, incoming)


def flow_mismatches() -> Iterator[Mismatch]:
    """Days whose roll-up row (`DailyFlow`) differs from the movements of that stock row on that day."""
    for stock_id, day, expected, found in rollups.flow_mismatches():
        yield Mismatch("flow", stock_id, None, expected, found, day=day)


def closed_day_mismatches() -> Iterator[Mismatch]:
    """Closed days (`ClosedDay` and its per-product and per-warehouse rows) that differ from `DailyFlow`.

    A closed day is not one stock row's: reported with stock 0, the kind naming the part if any.
    """
    for day, part, expected, found in rollups.closed_mismatches():
        kind = "closed day" if part is None else f"closed day of {part[0]} {part[1]}"
        yield Mismatch(kind, 0, None, expected, found, day=day)


CHECKS = (balance_mismatches, running_mismatches, owner_mismatches, bucket_mismatches, flow_mismatches,
          closed_day_mismatches, lot_mismatches)


def ledger_mismatches(*, limit: int | None = None) -> list[Mismatch]:
    """Every disagreement between balances, buckets and the ledger (at most `limit` of them)."""
    found: list[Mismatch] = []
    for source in CHECKS:
        for mismatch in source():
            found.append(mismatch)
            if limit is not None and len(found) >= limit:
                return found
    return found
