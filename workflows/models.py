"""Approval workflows: `pending → approved | rejected | cancelled`, decided only through services."""

import operator
from functools import reduce

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.roles import is_active
from core.decisions import DecidedRequest, Decision, RequestStatus  # noqa: F401  (re-exported for now)
from inventory.models import Lot, Product, Stock
from warehouses.models import Warehouse


class RequestQuerySet(models.QuerySet):
    """Scope of a request list: the requests of the warehouses the user operates (and, if set, their own)."""

    warehouse_fields: tuple[str, ...] = ()
    requester_sees_own = False

    def for_user(self, user) -> "RequestQuerySet":
        if not is_active(user):
            return self.none()
        operated = Warehouse.objects.operated_by(user)
        scope = [Q(**{f"{field}__in": operated}) for field in self.warehouse_fields]
        if self.requester_sees_own:
            scope.append(Q(requested_by_id=user.pk))
        return self.filter(reduce(operator.or_, scope))


class PurchaseRequestQuerySet(RequestQuerySet):
    """Requester's own, plus every request of the warehouses the user operates."""

    warehouse_fields = ("warehouse",)
    requester_sees_own = True


class StockRequest(DecidedRequest):
    """A request about `quantity` units of one product, made by `requested_by`."""

    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta(DecidedRequest.Meta):
        abstract = True


class PurchaseRequest(StockRequest):
    """A viewer asks to take `quantity` of a product out of a warehouse."""

    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+")

    objects = PurchaseRequestQuerySet.as_manager()

    class Meta(StockRequest.Meta):
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="purchase_quantity_positive")]
        indexes = [models.Index(fields=["warehouse", "status"], name="purchase_warehouse_status")]

    def __str__(self):
        return f"purchase #{self.pk} ({self.status})"


class TransferRequestQuerySet(RequestQuerySet):
    """Admin all; manager and staff of either warehouse."""

    warehouse_fields = ("source_warehouse", "destination_warehouse")


class TransferStatus(models.TextChoices):
    """A transfer's states: Part I's decisions, plus the journey of an `in_transit` transfer (SPEC §11)."""

    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    IN_TRANSIT = "in_transit", "In transit"
    RECEIVED = "received", "Received"
    CLOSED = "closed", "Closed"


class TransferMode(models.TextChoices):
    """`direct`: approval moves the units at once; `in_transit`: approve reserves, ship, receive."""

    DIRECT = "direct", "Direct"
    IN_TRANSIT = "in_transit", "In transit"


# A transfer a reorder rule created is "open" in these states: the rule creates no other meanwhile.
OPEN_REPLENISHMENT_STATUSES = (TransferStatus.PENDING, TransferStatus.APPROVED, TransferStatus.IN_TRANSIT)

# A transfer carries 1..MAX_LINES products.
MAX_LINES = 100


class TransferRequest(StockRequest):
    """Move products from one warehouse to another (its `lines`); decided by an admin.

    `product`/`quantity` mirror the only line of a one-line transfer (Part I's shape) and are null
    for a multi-line one.
    """

    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+",
                                null=True, blank=True)
    quantity = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=TransferStatus.choices, default=TransferStatus.PENDING)
    mode = models.CharField(max_length=10, choices=TransferMode.choices, default=TransferMode.DIRECT)
    source_warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+")
    destination_warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+")
    # Null for a transfer a reorder rule created (SPEC §15); people's requests always name their requester.
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     null=True, blank=True)
    # The rule that created it (null for people's requests). A deleted rule leaves its transfers behind.
    reorder_rule = models.ForeignKey("workflows.ReorderRule", on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="transfers")

    objects = TransferRequestQuerySet.as_manager()

    class Meta(StockRequest.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_quantity_positive"),
            models.CheckConstraint(
                condition=~Q(source_warehouse=models.F("destination_warehouse")),
                name="transfer_distinct_warehouses",
            ),
            models.CheckConstraint(
                condition=Q(product__isnull=True, quantity__isnull=True)
                | Q(product__isnull=False, quantity__isnull=False),
                name="transfer_product_with_quantity",
            ),
            # One open transfer per reorder rule, in the database (SPEC §15): the evaluation's own check
            # runs under the rule's stock row lock; this is what holds if anything ever races past it.
            models.UniqueConstraint(
                fields=["reorder_rule"], condition=Q(status__in=OPEN_REPLENISHMENT_STATUSES),
                name="transfer_one_open_per_rule",
            ),
        ]
        indexes = [
            models.Index(fields=["source_warehouse", "status"], name="transfer_source_status"),
            models.Index(fields=["destination_warehouse", "status"], name="transfer_dest_status"),
        ]

    def __str__(self):
        return f"transfer #{self.pk} ({self.status})"


class TransferLine(models.Model):
    """One product of a transfer: how many were asked for, shipped, received and rejected (or lost).

    `received + rejected <= shipped <= quantity`, enforced by the database. A line is written only
    under its transfer's row lock.
    """

    transfer = models.ForeignKey(TransferRequest, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    shipped_quantity = models.PositiveIntegerField(default=0)
    received_quantity = models.PositiveIntegerField(default=0)
    rejected_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["transfer", "id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "product"], name="transfer_line_product_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(shipped_quantity__gte=0, received_quantity__gte=0, rejected_quantity__gte=0),
                name="transfer_line_quantities_non_negative",
            ),
            models.CheckConstraint(condition=Q(shipped_quantity__lte=models.F("quantity")),
                                   name="transfer_line_shipped_within_quantity"),
            models.CheckConstraint(
                condition=Q(shipped_quantity__gte=models.F("received_quantity") + models.F("rejected_quantity")),
                name="transfer_line_accounted_within_shipped",
            ),
        ]
        indexes = [models.Index(fields=["product", "transfer"], name="transfer_line_product")]

    def __str__(self):
        return f"line #{self.pk} of transfer #{self.transfer_id}"

    @property
    def outstanding(self) -> int:
        """Shipped units neither received nor rejected yet (still in `incoming` at the destination)."""
        return self.shipped_quantity - self.received_quantity - self.rejected_quantity


class TransferLineLot(models.Model):
    """The units of one lot on a transfer line (SPEC §14): `shipped` (taken FEFO at the source, in the order
    of their ids), then `received` into the same lot at the destination and `rejected` (damaged, or lost in
    transit when the transfer is closed).

    `received + rejected <= shipped`, enforced by the database; for a lot-tracked line the entries sum to
    the line's `shipped_quantity`, `received_quantity` and `rejected_quantity`. Written only under the
    transfer's row lock, beside its line.
    """

    line = models.ForeignKey(TransferLine, on_delete=models.CASCADE, related_name="lot_entries")
    lot = models.ForeignKey("inventory.Lot", on_delete=models.PROTECT, related_name="+")
    shipped = models.PositiveIntegerField()
    received = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["line", "id"]
        constraints = [
            models.UniqueConstraint(fields=["line", "lot"], name="transfer_line_lot_once"),
            models.CheckConstraint(condition=Q(shipped__gt=0), name="transfer_line_lot_shipped_positive"),
            models.CheckConstraint(condition=Q(received__gte=0, rejected__gte=0),
                                   name="transfer_line_lot_non_negative"),
            models.CheckConstraint(condition=Q(shipped__gte=models.F("received") + models.F("rejected")),
                                   name="transfer_line_lot_accounted_within_shipped"),
        ]
        indexes = [models.Index(fields=["lot", "line"], name="transfer_line_lot_lot")]

    def __str__(self):
        return f"lot {self.lot_id} on line #{self.line_id}"

    @property
    def outstanding(self) -> int:
        """Units of this lot shipped on the line and neither received nor rejected yet."""
        return self.shipped - self.received - self.rejected


# --- stock counts (SPEC §12) ------------------------------------------------------------------------


class StockCountQuerySet(models.QuerySet):
    """Counts scoped to the warehouses a user operates (admin all; manager and staff of the warehouse)."""

    def for_user(self, user) -> "StockCountQuerySet":
        return self.filter(warehouse__in=Warehouse.objects.operated_by(user))


class StockCount(models.Model):
    """A cycle count of one warehouse: expected quantities snapshotted at opening, counted by people."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SUBMITTED = "submitted", "Submitted"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock_counts")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    note = models.TextField(blank=True, max_length=2000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision_reason = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = StockCountQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["warehouse", "status"], name="count_warehouse_status")]

    def __str__(self):
        return f"count {self.pk} of {self.warehouse_id} ({self.status})"


class StockCountLine(models.Model):
    """One product of a count — for a lot-tracked product, one lot of it (SPEC §14): `expected` (on hand, or the
    lot's balance, at opening; 0 for a lot found that was not expected) and `counted` (null until counted)."""

    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    # The lot this line counts (lot-tracked products); null for a product that is not lot-tracked.
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Null for a product the warehouse held no row of when the count opened (expected 0, no row created).
    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    expected = models.BigIntegerField()
    counted = models.BigIntegerField(null=True, blank=True)
    # Who recorded `counted` last: such a person may not approve the count (four eyes, SPEC §12).
    counted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        ordering = ["count_id", "id"]
        constraints = [
            # One line per product (not lot-tracked), one line per lot of a lot-tracked product.
            models.UniqueConstraint(fields=["count", "product"], condition=models.Q(lot__isnull=True),
                                    name="count_line_unique_product"),
            models.UniqueConstraint(fields=["count", "product", "lot"], condition=models.Q(lot__isnull=False),
                                    name="count_line_unique_product_lot"),
            models.CheckConstraint(condition=models.Q(expected__gte=0), name="count_line_expected_non_negative"),
            models.CheckConstraint(condition=models.Q(counted__gte=0) | models.Q(counted__isnull=True),
                                   name="count_line_counted_non_negative"),
        ]

    def __str__(self):
        return f"line {self.pk}: {self.product_id} expected {self.expected}, counted {self.counted}"

    @property
    def difference(self) -> int | None:
        """`counted − expected`, or null while not counted."""
        return None if self.counted is None else self.counted - self.expected


# --- replenishment (SPEC §15) -----------------------------------------------------------------------


class ReorderRuleQuerySet(models.QuerySet):
    """Rules of the warehouses a user operates (admin all; manager and staff of the rule's warehouse)."""

    def for_user(self, user) -> "ReorderRuleQuerySet":
        return self.filter(warehouse__in=Warehouse.objects.operated_by(user))


class ReorderRule(models.Model):
    """Keep `warehouse` supplied with `product` from `source_warehouse`: below `min_quantity` projected, one
    transfer request brings it to at least `max_quantity` (in steps of `multiple`).

    Written only by `workflows.services.replenishment`, under the rule's stock row lock, then the rule row.
    `held`: a person rejected or cancelled a transfer it created; automatic evaluations create nothing
    until the rule is changed or evaluated on demand. `last_evaluation`: the last evaluation's inputs and
    outcome (SPEC §15), null until the first.
    """

    class Outcome(models.TextChoices):
        CREATED = "created", "Created"
        NOT_NEEDED = "not_needed", "Not needed"
        ALREADY_OPEN = "already_open", "Already open"
        INACTIVE = "inactive", "Inactive"
        HELD = "held", "Held"
        SOURCE_INACTIVE = "source_inactive", "Source inactive"

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="reorder_rules")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="reorder_rules")
    source_warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="supplied_rules")
    min_quantity = models.PositiveBigIntegerField()
    max_quantity = models.PositiveBigIntegerField()
    multiple = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    held = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    last_evaluation = models.JSONField(null=True, blank=True, editable=False)

    objects = ReorderRuleQuerySet.as_manager()

    class Meta:
        ordering = ["warehouse_id", "product_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "product"], name="reorder_rule_one_per_warehouse_product"),
            models.CheckConstraint(condition=Q(min_quantity__gte=0), name="reorder_rule_min_non_negative"),
            models.CheckConstraint(condition=Q(max_quantity__gt=models.F("min_quantity")),
                                   name="reorder_rule_max_above_min"),
            models.CheckConstraint(condition=Q(multiple__gte=1), name="reorder_rule_multiple_positive"),
            models.CheckConstraint(condition=~Q(source_warehouse=models.F("warehouse")),
                                   name="reorder_rule_distinct_warehouses"),
        ]
        indexes = [models.Index(fields=["product", "source_warehouse"], name="reorder_rule_product_source")]

    def __str__(self):
        return (f"reorder rule #{self.pk}: product {self.product_id} into {self.warehouse_id} "
                f"from {self.source_warehouse_id}")
