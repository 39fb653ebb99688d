"""Read side of the stock-movement report: the period, the per-stock summary and the movement stream.

Periods are calendar periods in the project's time zone (`settings.TIME_ZONE`): a day, a week starting
on Monday, or a month; `start` is inclusive and `end` exclusive. A movement belongs to the period when
its `created_at` falls in [start, end).

Every query of one report is bounded by the highest ledger id seen when the report starts
(`Report.max_id`), so the summary, the chart and the movement list describe the same ledger even while
new movements are being written.
"""

import calendar
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, F, IntegerField, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.db_router import replica_or_default, replica_reads
from core.periods import LocalDays
from inventory.models import Stock, StockMovement

PERIODS = ("daily", "weekly", "monthly")

# The CSV/PDF movement columns, in order; `reference` is "<type>:<id>" or empty.
MOVEMENT_COLUMNS = ("created_at", "warehouse", "sku", "product", "kind", "quantity_change", "quantity_after",
                    "actor", "reference", "reason")
_MOVEMENT_VALUES = ("created_at", "warehouse__code", "product__sku", "product__name", "kind", "quantity_change",
                    "quantity_after", "actor__username", "reference_type", "reference_id", "reason")
CHUNK_SIZE = 2000
JSON_ROW_FIELDS = ("warehouse", "product", "sku", "opening", "in", "out", "closing")


@dataclass(frozen=True)
class Period(LocalDays):
    """A local calendar period (daily, weekly or monthly): [start, end)."""

    kind: str = "daily"


def period_containing(*, kind: str, day: date | None = None) -> Period:
    """The daily, weekly (Monday first) or monthly period containing `day` (default: today, local)."""
    tz = timezone.get_default_timezone()
    day = day or timezone.localdate(timezone=tz)
    if kind == "daily":
        return Period(kind=kind, first_day=day, days=1, tz=tz)
    if kind == "weekly":
        return Period(kind=kind, first_day=day - timedelta(days=day.weekday()), days=7, tz=tz)
    if kind == "monthly":
        return Period(kind=kind, first_day=day.replace(day=1),
                      days=calendar.monthrange(day.year, day.month)[1], tz=tz)
    raise ValueError(f"unknown period {kind!r}")


@dataclass
class Report:
    """Everything of a report except the movement stream (which `movement_rows` iterates)."""

    period: Period
    warehouse_ids: list[int] | None  # None: every warehouse
    warehouse_label: str  # a warehouse code, or "all"
    max_id: int
    rows: list[dict] = field(default_factory=list)
    movement_count: int = 0

    def movements(self):
        """The period's ledger rows in scope (a queryset, not evaluated)."""
        qs = StockMovement.objects.filter(created_at__gte=self.period.start, created_at__lt=self.period.end,
                                          id__lte=self.max_id)
        if self.warehouse_ids is not None:
            qs = qs.filter(warehouse_id__in=self.warehouse_ids)
        return qs

    def as_json(self) -> dict:
        return {
            "period": {"start": self.period.start.isoformat(), "end": self.period.end.isoformat(),
                       "time_zone": self.period.time_zone},
            "rows": [{key: row[key] for key in JSON_ROW_FIELDS} for row in self.rows],
            "movement_count": self.movement_count,
        }


@replica_reads()
def build_report(*, period: Period, warehouse_ids: list[int] | None, warehouse_label: str) -> Report:
    """The period's summary: one row per product and warehouse with opening, in, out and closing.

    A row is listed when its opening balance is not zero or it moved in the period (products with
    stock that did not move are listed, products that never had stock are not). Opening is the
    `quantity_after` of the stock's last movement before the period (0 without one); closing =
    opening + in − out, which by construction of the ledger equals the last `quantity_after` in the
    period. "Last" is by id: a stock's movements are written under its row lock, so their ids and
    `created_at` grow together, and the backward index scan on (stock, id) stops at the period start
    instead of sorting the stock's whole history. Three queries.
    """
    max_id = StockMovement.objects.aggregate(m=Max("id"))["m"] or 0
    report = Report(period=period, warehouse_ids=warehouse_ids, warehouse_label=warehouse_label, max_id=max_id)
    flows = {
        row["stock_id"]: row
        for row in report.movements().order_by().values("stock_id").annotate(
            inflow=Coalesce(Sum("quantity_change", filter=Q(quantity_change__gt=0)), Value(0)),
            outflow=Coalesce(Sum(-F("quantity_change"), filter=Q(quantity_change__lt=0),
                                 output_field=IntegerField()), Value(0)),
            moved=Count("id"),
        )
    }
    before = StockMovement.objects.filter(stock=OuterRef("pk"), created_at__lt=period.start, id__lte=max_id)
    stocks = Stock.objects.all()
    if warehouse_ids is not None:
        stocks = stocks.filter(warehouse_id__in=warehouse_ids)
    stocks = (
        stocks.annotate(opening=Coalesce(Subquery(before.order_by("-id").values("quantity_after")[:1]), Value(0)))
        .order_by("warehouse__code", "product__sku")
        .values_list("id", "warehouse_id", "warehouse__code", "product_id", "product__sku", "product__name",
                     "opening")
    )
    for stock_id, warehouse_id, code, product_id, sku, name, opening in stocks:
        flow = flows.get(stock_id)
        if flow is None and not opening:
            continue
        inflow, outflow = (int(flow["inflow"]), int(flow["outflow"])) if flow else (0, 0)
        report.rows.append({
            "warehouse": warehouse_id, "warehouse_code": code, "product": product_id, "sku": sku, "name": name,
            "opening": int(opening), "in": inflow, "out": outflow, "closing": int(opening) + inflow - outflow,
        })
        report.movement_count += flow["moved"] if flow else 0
    return report


def movement_rows(report: Report) -> Iterator[tuple]:
    """The period's movements, oldest first, as tuples in `MOVEMENT_COLUMNS` order.

    Streamed in chunks (`.iterator(chunk_size=2000)` over `.values_list`: no model instances, never
    the whole ledger in memory). `created_at` is an aware datetime in the project time zone.
    """
    tz = report.period.tz
    # Streamed after the view returned (outside any `replica_reads()` block): the alias is chosen here.
    rows = (report.movements().using(replica_or_default()).order_by("created_at", "id").values_list(*_MOVEMENT_VALUES)
            .iterator(chunk_size=CHUNK_SIZE))
    for (created_at, warehouse, sku, name, kind, change, after, actor, ref_type, ref_id, reason) in rows:
        yield (created_at.astimezone(tz), warehouse, sku, name, kind, change, after, actor or "",
               f"{ref_type}:{ref_id}" if ref_type else "", reason)
