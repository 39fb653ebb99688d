"""Query parameters and response shapes of the dashboards (the responses are rendered through these)."""

from rest_framework import serializers

from core.filters import MAX_ID
from inventory.serializers import LowStockAlertSerializer, StockRowSerializer


class DaysQuerySerializer(serializers.Serializer):
    """`days`: the window length in local calendar days, 1–366 (default 30)."""

    days = serializers.IntegerField(min_value=1, max_value=366, default=30,
                                    help_text="Window in local calendar days, 1–366 (default 30).")


class WarehouseDashboardQuerySerializer(DaysQuerySerializer):
    """`warehouse` (required id) and `days`."""

    warehouse = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="A warehouse you operate.")


class SeriesEntrySerializer(serializers.Serializer):
    """One local day of flows: units in, units out (both non-negative) and net = in − out."""

    date = serializers.DateField()
    locals()["in"] = serializers.IntegerField()  # "in" is a Python keyword; fields keep declaration order
    out = serializers.IntegerField()
    net = serializers.IntegerField()


class TopProductSerializer(serializers.Serializer):
    """A product and the units it moved (sum of |quantity_change|) in the window."""

    product = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    moved = serializers.IntegerField()


def _counts(name: str, doc: str, fields: tuple[str, ...]) -> type[serializers.Serializer]:
    """A schema-only serializer of integer counts, in the order given."""
    return type(name, (serializers.Serializer,), {
        "__doc__": doc, "__module__": __name__, **{field: serializers.IntegerField() for field in fields}})


WAREHOUSE_TOTALS = ("products", "units_on_hand", "open_alerts", "pending_purchase_requests",
                    "pending_transfer_requests")
WarehouseTotalsSerializer = _counts(
    "WarehouseTotalsSerializer", "Counts for one warehouse; units in transit to it (`_in`) and from it (`_out`); "
    "`open_replenishments`: open transfer requests its reorder rules created.",
    (*WAREHOUSE_TOTALS, "units_in_transit_in", "units_in_transit_out", "units_expired", "units_expiring",
     "open_replenishments"))
AdminTotalsSerializer = _counts(
    "AdminTotalsSerializer", "Counts over every warehouse; `units_in_transit`: shipped, not yet received.",
    ("warehouses", *WAREHOUSE_TOTALS, "pending_registrations", "pending_promotions", "units_in_transit",
     "units_expired", "units_expiring"))


class AdminDashboardSerializer(serializers.Serializer):
    """`GET /api/dashboard/admin/`."""

    totals = AdminTotalsSerializer()
    series = SeriesEntrySerializer(many=True)
    top_products = TopProductSerializer(many=True)
    alerts = LowStockAlertSerializer(many=True)


class StaffActivitySerializer(serializers.Serializer):
    """Purchase decisions and stock adjustments of one user in the window."""

    user = serializers.IntegerField()
    username = serializers.CharField()
    decisions = serializers.IntegerField()
    adjustments = serializers.IntegerField()


class WarehouseDashboardSerializer(serializers.Serializer):
    """`GET /api/dashboard/warehouse/`."""

    warehouse = serializers.IntegerField()
    totals = WarehouseTotalsSerializer()
    series = SeriesEntrySerializer(many=True)
    top_products = TopProductSerializer(many=True)
    low_stock = StockRowSerializer(many=True)
    staff_activity = StaffActivitySerializer(many=True)
