"""Query parameters and response shapes of the dashboards (the responses are rendered through these)."""

from rest_framework import serializers

from inventory.serializers import LowStockAlertSerializer, StockRowSerializer


class DaysQuerySerializer(serializers.Serializer):
    """`days`: the window length in local calendar days, 1–366 (default 30)."""

    days = serializers.IntegerField(min_value=1, max_value=366, default=30)


class WarehouseDashboardQuerySerializer(DaysQuerySerializer):
    """`warehouse` (required id) and `days`."""

    warehouse = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class SeriesEntrySerializer(serializers.Serializer):
    """One local day of flows: units in, units out (both non-negative) and net = in − out."""

    date = serializers.DateField()
    net = serializers.IntegerField()

    def get_fields(self):
        fields = super().get_fields()
        # "in" is a Python keyword, so these two fields are declared here.
        fields["in"] = serializers.IntegerField()
        fields["out"] = serializers.IntegerField()
        return {name: fields[name] for name in ("date", "in", "out", "net")}


class TopProductSerializer(serializers.Serializer):
    """A product and the units it moved (sum of |quantity_change|) in the window."""

    product = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    moved = serializers.IntegerField()


class AdminTotalsSerializer(serializers.Serializer):
    """Counts over every warehouse."""

    warehouses = serializers.IntegerField()
    products = serializers.IntegerField()
    units_on_hand = serializers.IntegerField()
    open_alerts = serializers.IntegerField()
    pending_purchase_requests = serializers.IntegerField()
    pending_transfer_requests = serializers.IntegerField()
    pending_registrations = serializers.IntegerField()
    pending_promotions = serializers.IntegerField()


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


class WarehouseTotalsSerializer(serializers.Serializer):
    """Counts for one warehouse."""

    products = serializers.IntegerField()
    units_on_hand = serializers.IntegerField()
    open_alerts = serializers.IntegerField()
    pending_purchase_requests = serializers.IntegerField()
    pending_transfer_requests = serializers.IntegerField()


class WarehouseDashboardSerializer(serializers.Serializer):
    """`GET /api/dashboard/warehouse/`."""

    warehouse = serializers.IntegerField()
    totals = WarehouseTotalsSerializer()
    series = SeriesEntrySerializer(many=True)
    top_products = TopProductSerializer(many=True)
    low_stock = StockRowSerializer(many=True)
    staff_activity = StaffActivitySerializer(many=True)
