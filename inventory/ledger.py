"""Ledger verification: every balance equals the sum of its movements, every running total is right,
every bucket equals its sources (`reserved` = the active holds, `incoming` = the units in transit).

Read-only and set-based (a window function does the running sums in the database), so it runs on
ledgers of millions of rows; results are streamed.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import F, OuterRef, Q, Subquery, Sum, Value, Window
from django.db.models.functions import Coalesce

from .models import Reservation, Stock, StockMovement


@dataclass(frozen=True)
class Mismatch:
    """One place where the ledger and the balances disagree."""

    # "balance" (Stock.quantity != sum), "running" (quantity_after != running sum), "owner",
    # "reserved" (Stock.reserved != units held for it), "incoming" (Stock.incoming != units in transit)
    kind: str
    stock_id: int
    movement_id: int | None
    expected: int
    found: int

    def __str__(self):
        where = f"stock {self.stock_id}" + (f", movement {self.movement_id}" if self.movement_id else "")
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


def _sum_per_stock(queryset, field: str) -> Subquery:
    """`Σ field` of a queryset's rows per stock row (`stock_id = OuterRef(pk)`), for an annotation."""
    return Subquery(
        queryset.filter(stock_id=OuterRef("pk")).order_by().values("stock_id").annotate(total=Sum(field)).values("total")
    )


# Where the units of each bucket come from, beyond this app's own: apps above `inventory` register
# theirs (`register_bucket_source`) in `AppConfig.ready`, so the ledger check never imports them.
_BUCKET_SOURCES: dict[str, list] = {"reserved": [], "incoming": []}


def register_bucket_source(bucket: str, source) -> None:
    """Add a source of `Stock.reserved` or `Stock.incoming`: a callable returning a per-row expression.

    The expression is evaluated against a `Stock` row (use `OuterRef("product_id")`,
    `OuterRef("warehouse_id")`) and yields the units that source holds in the bucket (or null).
    """
    if source not in _BUCKET_SOURCES[bucket]:
        _BUCKET_SOURCES[bucket].append(source)


def held_units() -> list:
    """The sources of `Stock.reserved`, each a per-row subquery of units held.

    Active reservations, plus what other apps register (approved, not yet shipped transfer lines
    reserve at their source).
    """
    own = _sum_per_stock(Reservation.objects.filter(status=Reservation.Status.ACTIVE), "quantity")
    return [own, *(source() for source in _BUCKET_SOURCES["reserved"])]


def incoming_units() -> list:
    """The sources of `Stock.incoming`: what other apps register (shipped transfer lines not yet accounted for)."""
    return [source() for source in _BUCKET_SOURCES["incoming"]]


def bucket_mismatches() -> Iterator[Mismatch]:
    """Stock rows whose `reserved` or `incoming` differ from the units their sources hold (one query)."""
    def total(sources):
        parts = [Coalesce(source, Value(0)) for source in sources] or [Value(0)]
        expression = parts[0]
        for part in parts[1:]:
            expression = expression + part
        return expression

    rows = (
        Stock.objects.order_by()
        .annotate(held=total(held_units()), in_transit=total(incoming_units()))
        .filter(~Q(reserved=F("held")) | ~Q(incoming=F("in_transit")))
        .values_list("pk", "held", "reserved", "in_transit", "incoming")
        .order_by("pk")
    )
    for stock_id, held, reserved, in_transit, incoming in rows.iterator(chunk_size=2000):
        if held != reserved:
            yield Mismatch("reserved", stock_id, None, held, reserved)
        if in_transit != incoming:
            yield Mismatch("incoming", stock_id, None, in_transit, incoming)


def ledger_mismatches(*, limit: int | None = None) -> list[Mismatch]:
    """Every disagreement between balances, buckets and the ledger (at most `limit` of them)."""
    found: list[Mismatch] = []
    for source in (balance_mismatches, running_mismatches, owner_mismatches, bucket_mismatches):
        for mismatch in source():
            found.append(mismatch)
            if limit is not None and len(found) >= limit:
                return found
    return found
