"""Reads of purchase and transfer requests, always starting from the user's scope."""

from django.db.models import F, Prefetch, QuerySet, Sum

from .models import (
    PurchaseRequest,
    StockCount,
    StockCountLine,
    TransferLine,
    TransferMode,
    TransferRequest,
    TransferStatus,
)


def purchase_requests_for(user) -> QuerySet[PurchaseRequest]:
    """Purchase requests the user may see: their own, plus those of the warehouses they operate."""
    return PurchaseRequest.objects.for_user(user)


def transfer_requests_for(user) -> QuerySet[TransferRequest]:
    """Transfer requests the user may see (admin all, manager and staff of either warehouse), lines prefetched."""
    return TransferRequest.objects.for_user(user).prefetch_related(
        Prefetch("lines", queryset=TransferLine.objects.order_by("pk")))


def reserved_by_transfers():
    """`(product_id, warehouse_id, units)` that approved, not yet shipped in-transit transfers hold at their source."""
    lines = TransferLine.objects.filter(transfer__mode=TransferMode.IN_TRANSIT,
                                        transfer__status=TransferStatus.APPROVED)
    return (lines.order_by().values_list("product_id", "transfer__source_warehouse_id")
            .annotate(units=Sum("quantity")))


def in_transit_lines() -> QuerySet[TransferLine]:
    """Lines with units shipped and neither received nor rejected yet (in transit mode only)."""
    return TransferLine.objects.filter(transfer__mode=TransferMode.IN_TRANSIT,
                                       transfer__status=TransferStatus.IN_TRANSIT)


OUTSTANDING = F("shipped_quantity") - F("received_quantity") - F("rejected_quantity")


def incoming_by_transfers():
    """`(product_id, warehouse_id, units)` shipped to a warehouse and not yet accounted for (every line, so a
    settled one that is not zero shows)."""
    return (TransferLine.objects.order_by().values_list("product_id", "transfer__destination_warehouse_id")
            .annotate(units=Sum(OUTSTANDING)))


def stock_counts_for(user) -> QuerySet[StockCount]:
    """Counts of the warehouses the user operates, with their lines (two queries for a page)."""
    return (StockCount.objects.for_user(user)
            .prefetch_related(Prefetch("lines", queryset=StockCountLine.objects.order_by("id"))))


def count_line_blocks_tracking_switch(product_id: int) -> str | None:
    """The tracking guard of `inventory.services.catalogue` (registered in `WorkflowsConfig.ready`): an open or
    submitted count with a line for the product blocks its tracking switch (the count's lines would no
    longer fit the product's lots)."""
    count_id = (StockCountLine.objects
                .filter(product_id=product_id, count__status__in=[StockCount.Status.OPEN, StockCount.Status.SUBMITTED])
                .values_list("count_id", flat=True).first())
    return f"count {count_id} (open or submitted) has a line for it" if count_id else None
