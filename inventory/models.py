"""Products, per-warehouse stock, the append-only ledger, thresholds and alerts.

`Stock.quantity` is written only by `inventory.services`; see that module.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.roles import is_active
from core.identity import IdentityKeysMixin, IdentityKeysQuerySet
from warehouses.models import Warehouse

from .feed import TransactionId

# A single operation may move at most this many units (guards integer overflow and typos).
MAX_QUANTITY = 1_000_000_000


class Product(IdentityKeysMixin, models.Model):
    """A stock-keeping unit of the catalogue."""

    sku = models.CharField(max_length=64)
    # core.identity.identity_key(sku), filled by save(): SKUs are unique under NFKC + casefold.
    sku_key = models.TextField(unique=True, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    unit = models.CharField(max_length=32, default="pcs")

    class Tracking(models.TextChoices):
        NONE = "none", "None"
        LOT = "lot", "Lot"

    # "lot": every unit in stock belongs to a lot (SPEC §14); switched only while the product has no units.
    tracking = models.CharField(max_length=8, choices=Tracking.choices, default=Tracking.NONE,
                                db_default=Tracking.NONE)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    IDENTITY_KEYS = {"sku_key": "sku"}

    objects = IdentityKeysQuerySet.as_manager()

    class Meta:
        ordering = ["sku"]
        constraints = [models.UniqueConstraint(Lower("sku"), name="product_sku_ci_unique")]

    def __str__(self):
        return f"{self.sku} — {self.name}"


class StockQuerySet(models.QuerySet):
    """Stock rows scoped to a user (the catalogue: every active user)."""

    def for_user(self, user) -> "StockQuerySet":
        """Stock levels are the internal catalogue: readable by every active user.

        Deliberately no `warehouse IN (...)` filter: every warehouse is readable, and the subquery
        costs a second per million rows.
        """
        if not is_active(user):
            return self.none()
        return self.all()


class Stock(models.Model):
    """The balance of one product in one warehouse. Changed only through `inventory.services`."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stocks")
    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="stocks")
    quantity = models.BigIntegerField(default=0, editable=False)  # on hand
    # Promised and not yet taken: the sum of the row's active reservations (verify_ledger proves it).
    # `available` = quantity − reserved is computed where it is read (annotated in SQL), never stored.
    # `db_default` too: rows written outside the ORM (seed_demo's COPY) start with empty buckets.
    reserved = models.BigIntegerField(default=0, db_default=0, editable=False)
    # Shipped to this warehouse and not yet received (filled by in-transit transfers).
    incoming = models.BigIntegerField(default=0, db_default=0, editable=False)
    # Raised by 1 under the row lock by the stock door at every change of quantity, reserved or incoming
    # (and of `expired`): a consumer of `stock.changed` keeps the highest it has seen.
    version = models.PositiveBigIntegerField(default=0, db_default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StockQuerySet.as_manager()

    class Meta:
        ordering = ["warehouse_id", "product_id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="stock_unique_product_warehouse"),
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="stock_quantity_non_negative"),
            models.CheckConstraint(condition=models.Q(reserved__gte=0, reserved__lte=models.F("quantity")),
                                   name="stock_reserved_within_quantity"),
            models.CheckConstraint(condition=models.Q(incoming__gte=0), name="stock_incoming_non_negative"),
        ]
        indexes = [models.Index(fields=["warehouse", "product"], name="stock_warehouse_product")]

    def __str__(self):
        return f"{self.product_id}@{self.warehouse_id}: {self.quantity}"


class MovementQuerySet(models.QuerySet):
    """Ledger rows scoped to the warehouses a user operates."""

    def for_user(self, user) -> "MovementQuerySet":
        """The ledger of the warehouses a user operates (admin all, manager theirs, staff own)."""
        return self.filter(warehouse__in=Warehouse.objects.operated_by(user))


class StockMovement(models.Model):
    """One immutable ledger row. Never updated or deleted (a PostgreSQL trigger enforces it)."""

    class Kind(models.TextChoices):
        ASSIGN = "assign", "Assign"
        ADJUST = "adjust", "Adjust"
        PURCHASE = "purchase", "Purchase"
        TRANSFER_OUT = "transfer_out", "Transfer out"
        TRANSFER_IN = "transfer_in", "Transfer in"
        FULFIL = "fulfil", "Fulfil"

    class ReferenceType(models.TextChoices):
        PURCHASE_REQUEST = "purchase_request", "Purchase request"
        TRANSFER_REQUEST = "transfer_request", "Transfer request"
        RESERVATION = "reservation", "Reservation"
        STOCK_COUNT = "stock_count", "Stock count"

    class Reason(models.TextChoices):
        COUNT = "count", "Count"
        DAMAGE = "damage", "Damage"
        LOSS = "loss", "Loss"
        FOUND = "found", "Found"
        RETURN = "return", "Return"
        RECEIPT = "receipt", "Receipt"
        CORRECTION = "correction", "Correction"
        EXPIRED = "expired", "Expired"

    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, related_name="movements")
    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    quantity_change = models.BigIntegerField()
    quantity_after = models.BigIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reference_type = models.CharField(max_length=32, choices=ReferenceType.choices, null=True, blank=True)
    reference_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=32, blank=True)
    note = models.TextField(blank=True, max_length=1000)
    # The lot this movement took from or put into: set exactly for products that are lot-tracked (SPEC §14).
    lot = models.ForeignKey("inventory.Lot", on_delete=models.PROTECT, null=True, blank=True, related_name="movements")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The inserting transaction's id, set by the database (never by Python) and, like every column
    # here, written once: the change feed's commit-aware position is (txid, id). See inventory/feed.py.
    txid = models.BigIntegerField(db_default=TransactionId(), editable=False)

    objects = MovementQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(quantity_change=0), name="movement_change_non_zero"),
            models.CheckConstraint(condition=models.Q(quantity_after__gte=0), name="movement_after_non_negative"),
        ]
        indexes = [
            models.Index(fields=["warehouse", "created_at"], name="movement_warehouse_created"),
            models.Index(fields=["product", "created_at"], name="movement_product_created"),
            models.Index(fields=["stock", "id"], name="movement_stock_id"),
            models.Index(fields=["reference_type", "reference_id"], name="movement_reference"),
            models.Index(fields=["txid", "id"], name="movement_feed_position"),
            models.Index(fields=["lot", "id"], condition=models.Q(lot__isnull=False), name="movement_lot"),
            # The warehouse dashboard's staff activity counts adjustments per actor in a window: a
            # partial index holds only those (a few per cent of the ledger).
            models.Index(fields=["warehouse", "created_at", "actor"], condition=models.Q(kind="adjust"),
                         name="movement_adjustments"),
        ]

    def __str__(self):
        return f"{self.kind} {self.quantity_change:+d} → {self.quantity_after}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Stock movements are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Stock movements are immutable.")


class ThresholdQuerySet(models.QuerySet):
    """Thresholds scoped to the warehouses a user may read."""

    def for_user(self, user) -> "ThresholdQuerySet":
        return self.filter(warehouse__in=Warehouse.objects.for_user(user))


class LowStockThreshold(models.Model):
    """Below this quantity a stock row is "low" and an alert opens."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="thresholds")
    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.CASCADE, related_name="thresholds")
    threshold = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ThresholdQuerySet.as_manager()

    class Meta:
        ordering = ["warehouse_id", "product_id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="threshold_unique_product_warehouse"),
            models.CheckConstraint(condition=models.Q(threshold__gte=0), name="threshold_non_negative"),
        ]

    def __str__(self):
        return f"{self.product_id}@{self.warehouse_id} < {self.threshold}"


class AlertQuerySet(models.QuerySet):
    """Alerts scoped to the warehouses a user operates."""

    def for_user(self, user) -> "AlertQuerySet":
        return self.filter(warehouse__in=Warehouse.objects.operated_by(user))


class LowStockAlert(models.Model):
    """An alert of a warehouse: a crossing below a threshold (`low_stock`; at most one open per product and
    warehouse) or a lot near or past its expiry there (`expiry`, SPEC §14; at most one open per lot and
    warehouse). Both rules are partial unique indexes."""

    class Kind(models.TextChoices):
        LOW_STOCK = "low_stock", "Low stock"
        EXPIRY = "expiry", "Expiry"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    class EmailStatus(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        RETRYING = "retrying", "Retrying"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"  # resolved before its e-mail went out

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LOW_STOCK, db_default=Kind.LOW_STOCK)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+")
    # The lot of an expiry alert (null for low stock).
    lot = models.ForeignKey("inventory.Lot", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Low stock: the threshold crossed; expiry: null.
    threshold = models.PositiveIntegerField(null=True, blank=True)
    # Low stock: the row's quantity; expiry: the lot's balance in the warehouse, when it opened.
    quantity_at_trigger = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    email_status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.QUEUED)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.TextField(blank=True)
    # When the current attempt was claimed by a worker; cleared when it ends. A claim older than the
    # lease (LOW_STOCK_EMAIL_LEASE_SECONDS) belongs to a dead worker and is taken over (inventory.tasks).
    email_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "warehouse"],
                condition=models.Q(status="open", kind="low_stock"),
                name="alert_one_open_per_stock",
            ),
            models.UniqueConstraint(
                fields=["lot", "warehouse"],
                condition=models.Q(status="open", kind="expiry"),
                name="alert_one_open_per_lot",
            ),
            models.CheckConstraint(
                condition=(models.Q(kind="low_stock", lot__isnull=True, threshold__isnull=False)
                           | models.Q(kind="expiry", lot__isnull=False, threshold__isnull=True)),
                name="alert_kind_fields",
            ),
        ]
        indexes = [
            models.Index(fields=["warehouse", "status"], name="alert_warehouse_status"),
            models.Index(fields=["email_claimed_at"], condition=models.Q(email_claimed_at__isnull=False),
                         name="alert_email_claimed"),
        ]

    def __str__(self):
        return f"{self.kind} alert {self.product_id}@{self.warehouse_id} ({self.status})"


class ReservationQuerySet(models.QuerySet):
    """Reservations scoped to the warehouses a user operates (they are warehouse-private)."""

    def for_user(self, user) -> "ReservationQuerySet":
        """Admin all; manager and staff the reservations of their warehouses; viewer none."""
        return self.filter(warehouse__in=Warehouse.objects.operated_by(user))


class Reservation(models.Model):
    """Units of one stock row promised (e.g. to an order) and not yet taken.

    While `active`, its `quantity` counts in `Stock.reserved` of `stock`. `expires_at` null means
    held until released or fulfilled. Written only by `inventory.services.reservations`.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RELEASED = "released", "Released"
        FULFILLED = "fulfilled", "Fulfilled"
        EXPIRED = "expired", "Expired"

    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.BigIntegerField()
    fulfilled_quantity = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    reference = models.CharField(max_length=100, blank=True, db_index=True)
    note = models.TextField(blank=True, max_length=1000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ReservationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="reservation_quantity_positive"),
            models.CheckConstraint(
                condition=models.Q(fulfilled_quantity__gte=0, fulfilled_quantity__lte=models.F("quantity")),
                name="reservation_fulfilled_within_quantity",
            ),
        ]
        indexes = [
            models.Index(fields=["stock", "status"], name="reservation_stock_status"),
            models.Index(fields=["status", "expires_at"], name="reservation_status_expires"),
            models.Index(fields=["warehouse", "status"], name="reservation_warehouse_status"),
        ]

    def __str__(self):
        return f"reservation {self.pk}: {self.quantity} of {self.product_id}@{self.warehouse_id} ({self.status})"

    def is_due(self, now) -> bool:
        """An active hold whose `expires_at` has passed no longer holds units."""
        return self.expires_at is not None and self.expires_at <= now


# --- the ledger's daily roll-up and the closed days' totals (written only by `inventory.rollups`) ---
class DailyFlow(models.Model):
    """Units into and out of one stock row on one local calendar day: a roll-up of the ledger.

    Written only by `inventory.rollups.record`, in the transaction of the movement it counts and under
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

    A day is closed an hour after it ends (`inventory.rollups.SETTLE`): no movement can still be added to
    it. `inventory.rollups.close_days` writes a closed day's total here and its per-product and
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


from .lots import ExpiryCheckpoint, Lot, StockLot  # noqa: E402, F401  (the lot models live beside their rules; re-exported)
