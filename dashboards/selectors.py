"""Read-side aggregates for the dashboards: every figure is one SQL aggregate, never a Python loop over rows.

The number of queries of each dashboard is constant (pinned by tests), whatever the size of the ledger.
Days are calendar days in the project's time zone (`settings.TIME_ZONE`). The daily series and the top
products read the ledger's daily roll-up (`inventory.models.DailyFlow`, one row per stock row and day,
written with each movement), not the ledger itself: a 30-day window is a few rows per stock row
instead of every movement (docs/BENCHMARKS.md, "Dashboards at scale").
"""

from datetime import timedelta

from django.db import connections
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import ManagerPromotionRequest, Role, User
from core.db_router import replica_reads
from core.decisions import RequestStatus
from core.periods import LocalDays
from inventory.expiry_alerts import warning_horizon
from inventory.lots import StockLot, expired_q, today
from inventory.models import (
    ClosedDay,
    ClosedProductDay,
    ClosedWarehouseDay,
    DailyFlow,
    LowStockAlert,
    LowStockThreshold,
    Product,
    Stock,
    StockMovement,
)
from inventory.selectors import (  # the `/api/stocks/` row shaper, kept importable here
    STOCK_ROW_FIELDS,
    stock_row,
    with_expired,
)
from warehouses.models import Warehouse
from workflows.models import OPEN_REPLENISHMENT_STATUSES, PurchaseRequest, TransferRequest
from workflows.selectors import OUTSTANDING, in_transit_lines

TOP_PRODUCTS = 10
# The admin dashboard lists the newest open alerts; `totals.open_alerts` always has the full count.
ALERTS_LISTED = 100

ALERT_FIELDS = ("id", "kind", "product", "warehouse", "lot", "quantity_at_trigger", "threshold", "status",
                "created_at", "resolved_at")


def lot_unit_totals(warehouse: Warehouse | None = None) -> dict[str, int]:
    """`units_expired` (units of expired lots on hand) and `units_expiring` (units, not yet expired, of lots
    expiring within EXPIRY_WARNING_DAYS), over every warehouse or one. One query, on the lot balances.

    Same rules as the stock list's `expired` (`inventory.lots.expired_q`) and the expiry alerts' window
    (`inventory.expiry_alerts.warning_horizon`).
    """
    on = today()
    balances = StockLot.objects.filter(quantity__gt=0, lot__expires_on__lte=warning_horizon(on))
    if warehouse is not None:
        balances = balances.filter(stock__warehouse=warehouse)
    totals = balances.aggregate(
        expired=Coalesce(Sum("quantity", filter=expired_q("lot__", on=on)), 0),
        expiring=Coalesce(Sum("quantity", filter=~expired_q("lot__", on=on)), 0),
    )
    return {"units_expired": int(totals["expired"]), "units_expiring": int(totals["expiring"])}


# A dashboard window: `days` local calendar days ending today.
Window = LocalDays


def window_ending_today(*, days: int) -> Window:
    """The last `days` local days, today included."""
    tz = timezone.get_default_timezone()
    today = timezone.localdate(timezone=tz)
    return Window(first_day=today - timedelta(days=days - 1), days=days, tz=tz)


def _top(inner_sql: str, params: list, *, alias: str, limit: int) -> list[dict]:
    """The `limit` products with most units moved, from `inner_sql` rows `(product_id, moved)` (grouped here).

    The catalogue is joined to the grouped rows only, so the sort never carries names.
    """
    db = connections[alias]
    product = db.ops.quote_name(Product._meta.db_table)
    with db.cursor() as cursor:
        cursor.execute(
            f"SELECT t.product_id, p.sku, p.name, t.moved FROM (SELECT product_id, SUM(moved) AS moved "
            f"FROM ({inner_sql}) u GROUP BY product_id) t JOIN {product} p ON p.id = t.product_id "
            "ORDER BY t.moved DESC, p.sku LIMIT %s", [*params, limit])
        rows = cursor.fetchall()
    return [{"product": pk, "sku": sku, "name": name, "moved": int(moved)} for pk, sku, name, moved in rows]


def _moved(queryset):
    """`(product_id, moved)` rows of a roll-up queryset: a day's units moved are its inflow plus its outflow."""
    return queryset.order_by().annotate(moved=F("inflow") + F("outflow")).values_list("product_id", "moved")


def top_products(rollup, *, window: Window, limit: int = TOP_PRODUCTS) -> list[dict]:
    """The products with the most units moved (sum of |quantity_change|) in the window; one query."""
    last_day = window.first_day + timedelta(days=window.days)
    rows = _moved(rollup.filter(day__gte=window.first_day, day__lt=last_day))
    sql, params = rows.query.sql_with_params()
    return _top(sql, list(params), alias=rows.db, limit=limit)


def _window_days(window: Window) -> list:
    return [window.first_day + timedelta(days=n) for n in range(window.days)]


def closed_days(days: list) -> dict:
    """`{day: (inflow, outflow)}` of the closed days among `days` (over every warehouse); one query.

    A dashboard never writes (it may run on a replica, or as a read-only database user): days are closed
    by the worker (`inventory.rollups.close_settled_days`); a settled day it has not closed yet is read
    from the roll-up like an open one. The result is passed explicitly to every read that follows, so a
    day closing in between (or a replica that has not yet seen it) is counted once, from one side.
    """
    return {day: (inflow, outflow) for day, inflow, outflow in
            ClosedDay.objects.filter(day__in=days).values_list("day", "inflow", "outflow")}


def _series(days: list, per_day: dict) -> list[dict]:
    series = []
    for day in days:
        inflow, outflow = (int(v) for v in per_day.get(day, (0, 0)))
        series.append({"date": day.isoformat(), "in": inflow, "out": outflow, "net": inflow - outflow})
    return series


def _per_day(rollup):
    """`(day, inflow, outflow)` per day of a `DailyFlow` queryset."""
    return rollup.order_by().values("day").annotate(i=Sum("inflow"), o=Sum("outflow")).values_list("day", "i", "o")


def admin_flows(window: Window) -> tuple[list[dict], list[dict]]:
    """The admin dashboard's `series` and `top_products`: closed days from their totals (`ClosedDay`,
    `ClosedProductDay`), the open ones (today, and yesterday before it settles) from `DailyFlow`.
    Three queries (a few more on the first request after a day closes)."""
    days = _window_days(window)
    closed = closed_days(days)
    open_days = [day for day in days if day not in closed]
    per_day = dict(closed)
    parts = [_moved(ClosedProductDay.objects.filter(day__in=list(closed)))] if closed else []
    if open_days:
        open_flows = DailyFlow.objects.filter(day__in=open_days)
        per_day.update((day, (i, o)) for day, i, o in _per_day(open_flows))
        parts.append(_moved(open_flows))
    top_rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    sql, params = top_rows.query.sql_with_params()
    return _series(days, per_day), _top(sql, list(params), alias=top_rows.db, limit=TOP_PRODUCTS)


def warehouse_series(warehouse: Warehouse, window: Window) -> list[dict]:
    """One warehouse's `series`: closed days from `ClosedWarehouseDay`, the open ones from `DailyFlow`.

    Two queries (the closed days, then both sides in one `UNION ALL`).
    """
    days = _window_days(window)
    closed = list(closed_days(days))
    open_days = [day for day in days if day not in closed]
    parts = []
    if closed:
        parts.append(ClosedWarehouseDay.objects.filter(warehouse=warehouse, day__in=closed).order_by()
                     .values_list("day", "inflow", "outflow"))
    if open_days:
        parts.append(_per_day(DailyFlow.objects.filter(warehouse=warehouse, day__in=open_days)))
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return _series(days, {day: (inflow, outflow) for day, inflow, outflow in rows})


def _alerts(queryset) -> list[dict]:
    return list(queryset.values(*ALERT_FIELDS)[:ALERTS_LISTED])


@replica_reads()
def admin_dashboard(*, days: int) -> dict:
    """Totals over every warehouse, the daily flow series, top products and the newest open alerts.

    Thirteen queries (one for the lot totals), whatever the data size (a few more on the first request after
    days closed).
    `units_in_transit`: shipped units not yet received, rejected or written off (Σ `incoming`).
    """
    window = window_ending_today(days=days)
    series, top = admin_flows(window)
    open_alerts = LowStockAlert.objects.filter(status=LowStockAlert.Status.OPEN)
    units = Stock.objects.aggregate(on_hand=Coalesce(Sum("quantity"), 0), in_transit=Coalesce(Sum("incoming"), 0))
    totals = {
        "warehouses": Warehouse.objects.count(),
        "products": Product.objects.count(),
        "units_on_hand": int(units["on_hand"]),
        "open_alerts": open_alerts.count(),
        "pending_purchase_requests": PurchaseRequest.objects.filter(status=RequestStatus.PENDING).count(),
        "pending_transfer_requests": TransferRequest.objects.filter(status=RequestStatus.PENDING).count(),
        "pending_registrations": User.objects.filter(status=User.Status.PENDING).count(),
        "pending_promotions": ManagerPromotionRequest.objects.filter(status=RequestStatus.PENDING).count(),
        "units_in_transit": int(units["in_transit"]),
        **lot_unit_totals(),
    }
    return {
        "totals": totals,
        "series": series,
        "top_products": top,
        "alerts": _alerts(open_alerts.order_by("-created_at", "-id")),
    }


def stocks_with_threshold():
    """Stock rows annotated with their threshold (or None), for the `/api/stocks/` row shape."""
    threshold = LowStockThreshold.objects.filter(product=OuterRef("product_id"), warehouse=OuterRef("warehouse_id"))
    return with_expired(Stock.objects.annotate(threshold=Subquery(threshold.values("threshold")[:1])))


def staff_activity(*, warehouse: Warehouse, window: Window) -> list[dict]:
    """Per user: purchase-request decisions on this warehouse and `adjust` movements here, in the window.

    `decisions` counts purchase requests of this warehouse decided (approved or rejected) by the user
    in the window. Transfer decisions are not counted: only admins decide transfers, and an admin's
    work is not this warehouse's staff activity. The warehouse's manager and active staff are always
    listed (with zeros when idle); other users (e.g. admins) appear only when they did something.
    Three queries.
    """
    decisions = dict(
        PurchaseRequest.objects.filter(warehouse=warehouse, decided_by__isnull=False,
                                       decided_at__gte=window.start, decided_at__lt=window.end)
        .order_by().values("decided_by").annotate(n=Count("id")).values_list("decided_by", "n")
    )
    adjustments = dict(
        StockMovement.objects.filter(warehouse=warehouse, kind=StockMovement.Kind.ADJUST, actor__isnull=False,
                                     created_at__gte=window.start, created_at__lt=window.end)
        .order_by().values("actor").annotate(n=Count("id")).values_list("actor", "n")
    )
    members = Q(warehouse=warehouse, status=User.Status.ACTIVE, role__name=Role.Name.STAFF)
    if warehouse.manager_id:
        members |= Q(pk=warehouse.manager_id)
    users = User.objects.filter(members | Q(pk__in=set(decisions) | set(adjustments))).values_list("id", "username")
    rows = [{"user": pk, "username": username, "decisions": decisions.get(pk, 0), "adjustments": adjustments.get(pk, 0)}
            for pk, username in users]
    rows.sort(key=lambda r: (-(r["decisions"] + r["adjustments"]), r["username"]))
    return rows


@replica_reads()
def warehouse_dashboard(*, warehouse: Warehouse, days: int) -> dict:
    """One warehouse's totals, daily flows, top products, low stock rows and staff activity.

    Thirteen queries (one for the lot totals), whatever the data size (more on the first after days closed).
    `units_in_transit_in`: units shipped to this warehouse and not yet received or rejected
    (Σ `incoming`); `units_in_transit_out`: units shipped from it that the destination has not yet
    accounted for.
    """
    window = window_ending_today(days=days)
    rollup = DailyFlow.objects.filter(warehouse=warehouse)
    stock_totals = Stock.objects.filter(warehouse=warehouse).aggregate(
        products=Count("id"), units=Coalesce(Sum("quantity"), 0), incoming=Coalesce(Sum("incoming"), 0)
    )
    outgoing = in_transit_lines().filter(transfer__source_warehouse=warehouse).aggregate(
        units=Coalesce(Sum(OUTSTANDING), 0))["units"]
    pending = RequestStatus.PENDING
    # One query for both: pending transfers on either side, and the open transfers its reorder rules created.
    transfers = TransferRequest.objects.filter(Q(source_warehouse=warehouse) | Q(destination_warehouse=warehouse)
                                               ).aggregate(
        pending=Count("id", filter=Q(status=pending)),
        open_replenishments=Count("id", filter=Q(destination_warehouse=warehouse, reorder_rule__isnull=False,
                                                 status__in=OPEN_REPLENISHMENT_STATUSES)))
    totals = {
        "products": stock_totals["products"],
        "units_on_hand": int(stock_totals["units"]),
        "open_alerts": LowStockAlert.objects.filter(warehouse=warehouse, status=LowStockAlert.Status.OPEN).count(),
        "pending_purchase_requests": PurchaseRequest.objects.filter(warehouse=warehouse, status=pending).count(),
        "pending_transfer_requests": transfers["pending"],
        "units_in_transit_in": int(stock_totals["incoming"]),
        "units_in_transit_out": int(outgoing),
        "open_replenishments": transfers["open_replenishments"],
        **lot_unit_totals(warehouse),
    }
    low = (
        stocks_with_threshold().filter(warehouse=warehouse, threshold__isnull=False, quantity__lt=F("threshold"))
        .order_by("product__sku")
        .values(*STOCK_ROW_FIELDS)
    )
    return {
        "warehouse": warehouse.pk,
        "totals": totals,
        "series": warehouse_series(warehouse, window),
        "top_products": top_products(rollup, window=window),
        "low_stock": [stock_row(row) for row in low],
        "staff_activity": staff_activity(warehouse=warehouse, window=window),
    }
