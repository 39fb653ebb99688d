"""The ledger's daily roll-up (`DailyFlow`) and the closed days' totals, read by the dashboards.

Written only by `inventory.flows` (see there); `inventory.models` re-exports these models.
"""

from django.db import models


class DailyFlow(models.Model):
    """Units into and out of one stock row on one local calendar day: a roll-up of the ledger.

    Written only by `inventory.flows.record`, in the transaction of the movement it counts and under
    the same stock-row lock, so it never disagrees with the ledger (`verify_ledger` proves it) and adds
    no lock of its own. Days are local to `settings.TIME_ZONE` (the dashboards' days); after changing
    the time zone, rebuild it (`python manage.py rebuild_daily_flows`). The dashboards read their
    series and top products here instead of aggregating millions of movements.
    """

    stock = models.ForeignKey("inventory.Stock", on_delete=models.PROTECT, related_name="+", db_index=False)
    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+",
                                  db_index=False)
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+", db_index=False)
    day = models.DateField()
    inflow = models.BigIntegerField(default=0)  # sum of the day's positive quantity_change
    outflow = models.BigIntegerField(default=0)  # sum of the day's |negative quantity_change|
    movements = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stock", "day"], name="daily_flow_unique_stock_day"),
            models.CheckConstraint(condition=models.Q(inflow__gte=0, outflow__gte=0, movements__gt=0),
                                   name="daily_flow_non_negative"),
        ]
        # Covering (every column a dashboard reads is in the key): the window's rows are read from the
        # index alone, on PostgreSQL and SQLite alike.
        indexes = [
            models.Index(fields=["day", "product", "inflow", "outflow"], name="daily_flow_day"),
            models.Index(fields=["warehouse", "day", "product", "inflow", "outflow"], name="daily_flow_warehouse_day"),
        ]

    def __str__(self):
        return f"{self.stock_id} on {self.day}: +{self.inflow} -{self.outflow}"


class ClosedDay(models.Model):
    """One closed local day over every warehouse: the sum of its `DailyFlow` rows, written once.

    A day is closed an hour after it ends (`inventory.flows.SETTLE`): no movement can still be added to
    it. `inventory.flows.close_days` writes a closed day's total here and its per-product and
    per-warehouse totals (`ClosedProductDay`, `ClosedWarehouseDay`) in one transaction, so a reader that
    sees this row sees the whole day. The dashboards read closed days there and only the days not yet
    closed from `DailyFlow`.
    """

    day = models.DateField(primary_key=True)
    inflow = models.BigIntegerField()
    outflow = models.BigIntegerField()
    movements = models.BigIntegerField()

    def __str__(self):
        return f"{self.day}: +{self.inflow} -{self.outflow}"


class ClosedProductDay(models.Model):
    """One product's units in and out over every warehouse on one closed day (see `ClosedDay`)."""

    day = models.DateField()
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+", db_index=False)
    inflow = models.BigIntegerField()
    outflow = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "product"], name="closed_product_day_unique")]
        indexes = [models.Index(fields=["day", "product", "inflow", "outflow"], name="closed_product_day_cover")]

    def __str__(self):
        return f"{self.product_id} on {self.day}: +{self.inflow} -{self.outflow}"


class ClosedWarehouseDay(models.Model):
    """One warehouse's units in and out on one closed day (see `ClosedDay`): the warehouse dashboard's series."""

    day = models.DateField()
    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+",
                                  db_index=False)
    inflow = models.BigIntegerField()
    outflow = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["warehouse", "day"], name="closed_warehouse_day_unique")]

    def __str__(self):
        return f"{self.warehouse_id} on {self.day}: +{self.inflow} -{self.outflow}"
