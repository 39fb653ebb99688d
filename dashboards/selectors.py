"""Read-side aggregates for the dashboards: every figure is one SQL aggregate, never a Python loop over rows.

The number of queries of each dashboard is constant (pinned by tests), whatever the size of the ledger.
Days are calendar days in the project's time zone (`settings.TIME_ZONE`).
"""

from datetime import date, datetime, time, timedelta, tzinfo

from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Abs, Coalesce, TruncDate
from django.utils import timezone

from accounts.models import ManagerPromotionRequest, Role, User
from core.db_router import replica_reads
from core.decisions import RequestStatus
from core.periods import LocalDays
from inventory.models import LowStockAlert, LowStockThreshold, Product, Stock, StockMovement
from inventory.selectors import STOCK_ROW_FIELDS, stock_row  # the `/api/stocks/` row shaper, kept importable here
from warehouses.models import Warehouse
from workflows.models import PurchaseRequest, TransferRequest
from workflows.selectors import OUTSTANDING, in_transit_lines

TOP_PRODUCTS = 10
# The admin dashboard lists the newest open alerts; `totals.open_alerts` always has the full count.
ALERTS_LISTED = 100

ALERT_FIELDS = ("id", "product", "warehouse", "quantity_at_trigger", "threshold", "status", "created_at",
                "resolved_at")


# A dashboard window: `days` local calendar days ending today.
Window = LocalDays


def window_ending_today(*, days: int) -> Window:
    """The last `days` local days, today included."""
    tz = timezone.get_default_timezone()
    today = timezone.localdate(timezone=tz)
    return Window(first_day=today - timedelta(days=days - 1), days=days, tz=tz)


def _inflow():
    return Coalesce(Sum(Case(When(quantity_change__gt=0, then=F("quantity_change")), default=Value(0),
                             output_field=IntegerField())), Value(0))


def _outflow():
    return Coalesce(Sum(Case(When(quantity_change__lt=0, then=-F("quantity_change")), default=Value(0),
                             output_field=IntegerField())), Value(0))


def daily_flows(movements, *, first_day: date, days: int, tz: tzinfo) -> list[dict]:
    """`[{date, in, out, net}]`, one entry per local day from `first_day`, oldest first, zero days included.

    `movements` is an already-scoped StockMovement queryset; one query.
    """
    start = datetime.combine(first_day, time.min, tzinfo=tz)
    end = datetime.combine(first_day + timedelta(days=days), time.min, tzinfo=tz)
    per_day = {
        row["day"]: row
        for row in movements.filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .order_by()
        .values("day")
        .annotate(inflow=_inflow(), outflow=_outflow())
    }
    series = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        row = per_day.get(day)
        inflow, outflow = (int(row["inflow"]), int(row["outflow"])) if row else (0, 0)
        series.append({"date": day.isoformat(), "in": inflow, "out": outflow, "net": inflow - outflow})
    return series


def top_products(movements, *, window: Window, limit: int = TOP_PRODUCTS) -> list[dict]:
    """The products with the most units moved (sum of |quantity_change|) in the window; one query."""
    rows = (
        movements.filter(created_at__gte=window.start, created_at__lt=window.end)
        .order_by()
        .values("product_id", "product__sku", "product__name")
        .annotate(moved=Sum(Abs("quantity_change")))
        .order_by("-moved", "product__sku")[:limit]
    )
    return [{"product": r["product_id"], "sku": r["product__sku"], "name": r["product__name"], "moved": int(r["moved"])}
            for r in rows]


def _alerts(queryset) -> list[dict]:
    return list(queryset.values(*ALERT_FIELDS)[:ALERTS_LISTED])


@replica_reads()
def admin_dashboard(*, days: int) -> dict:
    """Totals over every warehouse, the daily flow series, top products and the newest open alerts.

    Eleven queries, whatever the data size. `units_in_transit`: shipped units not yet received,
    rejected or written off (Σ `incoming`).
    """
    window = window_ending_today(days=days)
    movements = StockMovement.objects.all()
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
    }
    return {
        "totals": totals,
        "series": daily_flows(movements, first_day=window.first_day, days=days, tz=window.tz),
        "top_products": top_products(movements, window=window),
        "alerts": _alerts(open_alerts.order_by("-created_at", "-id")),
    }


def stocks_with_threshold():
    """Stock rows annotated with their threshold (or None), for the `/api/stocks/` row shape."""
    threshold = LowStockThreshold.objects.filter(product=OuterRef("product_id"), warehouse=OuterRef("warehouse_id"))
    return Stock.objects.annotate(threshold=Subquery(threshold.values("threshold")[:1]))


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

    Eleven queries, whatever the data size. `units_in_transit_in`: units shipped to this warehouse
    and not yet received or rejected (Σ `incoming`); `units_in_transit_out`: units shipped from it
    that the destination has not yet accounted for.
    """
    window = window_ending_today(days=days)
    movements = StockMovement.objects.filter(warehouse=warehouse)
    stock_totals = Stock.objects.filter(warehouse=warehouse).aggregate(
        products=Count("id"), units=Coalesce(Sum("quantity"), 0), incoming=Coalesce(Sum("incoming"), 0)
    )
    outgoing = in_transit_lines().filter(transfer__source_warehouse=warehouse).aggregate(
        units=Coalesce(Sum(OUTSTANDING), 0))["units"]
    pending = RequestStatus.PENDING
    totals = {
        "products": stock_totals["products"],
        "units_on_hand": int(stock_totals["units"]),
        "open_alerts": LowStockAlert.objects.filter(warehouse=warehouse, status=LowStockAlert.Status.OPEN).count(),
        "pending_purchase_requests": PurchaseRequest.objects.filter(warehouse=warehouse, status=pending).count(),
        "pending_transfer_requests": TransferRequest.objects.filter(
            Q(source_warehouse=warehouse) | Q(destination_warehouse=warehouse), status=pending
        ).count(),
        "units_in_transit_in": int(stock_totals["incoming"]),
        "units_in_transit_out": int(outgoing),
    }
    low = (
        stocks_with_threshold().filter(warehouse=warehouse, threshold__isnull=False, quantity__lt=F("threshold"))
        .order_by("product__sku")
        .values(*STOCK_ROW_FIELDS)
    )
    return {
        "warehouse": warehouse.pk,
        "totals": totals,
        "series": daily_flows(movements, first_day=window.first_day, days=days, tz=window.tz),
        "top_products": top_products(movements, window=window),
        "low_stock": [stock_row(row) for row in low],
        "staff_activity": staff_activity(warehouse=warehouse, window=window),
    }
