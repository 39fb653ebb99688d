"""Reads of purchase and transfer requests, always starting from the user's scope."""

from django.db.models import F, OuterRef, Prefetch, QuerySet, Subquery, Sum

from .models import PurchaseRequest, TransferLine, TransferMode, TransferRequest, TransferStatus


def purchase_requests_for(user) -> QuerySet[PurchaseRequest]:
    """Purchase requests the user may see: their own, plus those of the warehouses they operate."""
    return PurchaseRequest.objects.for_user(user)


def transfer_requests_for(user) -> QuerySet[TransferRequest]:
    """Transfer requests the user may see (admin all, manager and staff of either warehouse), lines prefetched."""
    return TransferRequest.objects.for_user(user).prefetch_related(
        Prefetch("lines", queryset=TransferLine.objects.order_by("pk")))


def _per_stock_row(lines, *, warehouse_field: str, total) -> Subquery:
    """`total` over `lines` of a stock row's product going from/to its warehouse (`OuterRef` of a `Stock`)."""
    return Subquery(
        lines.filter(product_id=OuterRef("product_id"), **{f"transfer__{warehouse_field}_id": OuterRef("warehouse_id")})
        .order_by().values("product_id").annotate(total=total).values("total")
    )


def reserved_by_transfers() -> Subquery:
    """Per stock row: units approved, not yet shipped in-transit transfers hold at their source."""
    lines = TransferLine.objects.filter(transfer__mode=TransferMode.IN_TRANSIT,
                                        transfer__status=TransferStatus.APPROVED)
    return _per_stock_row(lines, warehouse_field="source_warehouse", total=Sum("quantity"))


def in_transit_lines() -> QuerySet[TransferLine]:
    """Lines with units shipped and neither received nor rejected yet (in transit mode only)."""
    return TransferLine.objects.filter(transfer__mode=TransferMode.IN_TRANSIT,
                                       transfer__status=TransferStatus.IN_TRANSIT)


OUTSTANDING = F("shipped_quantity") - F("received_quantity") - F("rejected_quantity")


def incoming_by_transfers() -> Subquery:
    """Per stock row: shipped units on their way to it (every line, so a settled one that is not zero shows)."""
    return _per_stock_row(TransferLine.objects.all(), warehouse_field="destination_warehouse",
                          total=Sum(OUTSTANDING))
