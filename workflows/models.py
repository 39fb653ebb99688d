"""Approval workflows: `pending → approved | rejected | cancelled`, decided only through services."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.decisions import DecidedRequest, Decision, RequestStatus  # noqa: F401  (re-exported for now)


class PurchaseRequestQuerySet(models.QuerySet):
    def for_user(self, user) -> "PurchaseRequestQuerySet":
        """Requester's own, plus every request of the warehouses the user operates."""
        from warehouses.models import Warehouse

        if not (user and user.is_authenticated and user.status == "active"):
            return self.none()
        return self.filter(Q(requested_by_id=user.pk) | Q(warehouse__in=Warehouse.objects.operated_by(user)))


class PurchaseRequest(DecidedRequest):
    """A viewer asks to take `quantity` of a product out of a warehouse."""

    warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = PurchaseRequestQuerySet.as_manager()

    class Meta(DecidedRequest.Meta):
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="purchase_quantity_positive")]
        indexes = [models.Index(fields=["warehouse", "status"], name="purchase_warehouse_status")]

    def __str__(self):
        return f"purchase #{self.pk} ({self.status})"


class TransferRequestQuerySet(models.QuerySet):
    def for_user(self, user) -> "TransferRequestQuerySet":
        """Admin all; manager and staff of either warehouse."""
        from warehouses.models import Warehouse

        operated = Warehouse.objects.operated_by(user)
        return self.filter(Q(source_warehouse__in=operated) | Q(destination_warehouse__in=operated))


class TransferRequest(DecidedRequest):
    """Move `quantity` of a product from one warehouse to another; decided by an admin."""

    source_warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+")
    destination_warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = TransferRequestQuerySet.as_manager()

    class Meta(DecidedRequest.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_quantity_positive"),
            models.CheckConstraint(
                condition=~Q(source_warehouse=models.F("destination_warehouse")),
                name="transfer_distinct_warehouses",
            ),
        ]
        indexes = [
            models.Index(fields=["source_warehouse", "status"], name="transfer_source_status"),
            models.Index(fields=["destination_warehouse", "status"], name="transfer_dest_status"),
        ]

    def __str__(self):
        return f"transfer #{self.pk} ({self.status})"
