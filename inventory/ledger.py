"""Ledger verification: every balance equals the sum of its movements, every running total is right.

Read-only and set-based (a window function does the running sums in the database), so it runs on
ledgers of millions of rows; results are streamed.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import F, OuterRef, Q, Subquery, Sum, Value, Window
from django.db.models.functions import Coalesce

from .models import Stock, StockMovement


@dataclass(frozen=True)
class Mismatch:
    """One place where the ledger and the balances disagree."""

    kind: str  # "balance" (Stock.quantity != sum) or "running" (quantity_after != running sum) or "owner"
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


def ledger_mismatches(*, limit: int | None = None) -> list[Mismatch]:
    """Every disagreement between balances and the ledger (at most `limit` of them)."""
    found: list[Mismatch] = []
    for source in (balance_mismatches, running_mismatches, owner_mismatches):
        for mismatch in source():
            found.append(mismatch)
            if limit is not None and len(found) >= limit:
                return found
    return found
