"""Approval workflows: `pending → approved | rejected | cancelled`, decided only through services."""

import operator
from functools import reduce

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.policies import is_active
from core.decisions import DecidedRequest, Decision, RequestStatus  # noqa: F401  (re-exported for now)
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


class TransferRequest(StockRequest):
    """Move `quantity` of a product from one warehouse to another; decided by an admin."""

    source_warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+")
    destination_warehouse = models.ForeignKey("warehouses.Warehouse", on_delete=models.PROTECT, related_name="+")

    objects = TransferRequestQuerySet.as_manager()

    class Meta(StockRequest.Meta):
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
