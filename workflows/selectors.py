"""Reads of purchase and transfer requests, always starting from the user's scope."""

from collections import defaultdict

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Sum, prefetch_related_objects

from inventory.models import Product

from .models import (
    PurchaseRequest,
    ReorderRule,
    StockCount,
    StockCountLine,
    TransferLine,
    TransferLineLot,
    TransferMode,
    TransferRequest,
    TransferStatus,
)


def purchase_requests_for(user) -> QuerySet[PurchaseRequest]:
    """Purchase requests the user may see: their own, plus those of the warehouses they operate."""
    return PurchaseRequest.objects.for_user(user)


def transfer_lines() -> QuerySet[TransferLine]:
    """Lines in id order, each marked `has_lots`: its product is lot-tracked, or it carried lots (no extra query)."""
    carried = TransferLineLot.objects.filter(line=OuterRef("pk"))
    return TransferLine.objects.alias(carried=Exists(carried)).annotate(
        has_lots=Q(product__tracking=Product.Tracking.LOT) | Q(carried=True)).order_by("pk")


def transfer_requests_for(user) -> QuerySet[TransferRequest]:
    """Transfer requests the user may see (admin all, manager and staff of either warehouse), lines prefetched."""
    return TransferRequest.objects.for_user(user).prefetch_related(Prefetch("lines", queryset=transfer_lines()))


def attach_line_lots(transfers) -> None:
    """Give each line of `transfers` marked `has_lots` its `lot_list` (entries in the order shipped, lots read
    along): one query for all of them, none when no line has lots. Lines not read through `transfer_lines`
    (a transfer just acted on) are read again through it first."""
    unread = [transfer for transfer in transfers
              if "lines" not in getattr(transfer, "_prefetched_objects_cache", {})]
    if unread:
        prefetch_related_objects(unread, Prefetch("lines", queryset=transfer_lines()))
    lines = [line for transfer in transfers for line in transfer.lines.all()
             if getattr(line, "has_lots", False) and not hasattr(line, "lot_list")]
    if not lines:
        return
    entries = defaultdict(list)
    for entry in TransferLineLot.objects.filter(line__in=lines).select_related("lot").order_by("pk"):
        entries[entry.line_id].append(entry)
    for line in lines:
        line.lot_list = entries[line.pk]


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


def reorder_rules_for(user) -> QuerySet[ReorderRule]:
    """Reorder rules of the warehouses the user operates (their warehouse read along: the write policy asks it)."""
    return ReorderRule.objects.for_user(user).select_related("warehouse")


def lot_in_transit(lot_id: int) -> QuerySet:
    """`(transfer_id, source_id, destination_id, units)` of a lot shipped and not yet accounted for, per transfer
    (for a recall summary's `in_transit`, SPEC §14); the caller scopes by either warehouse."""
    entries = TransferLineLot.objects.filter(lot_id=lot_id).annotate(
        outstanding=F("shipped") - F("received") - F("rejected")).filter(outstanding__gt=0)
    return (entries.order_by("line__transfer_id").values_list(
        "line__transfer_id", "line__transfer__source_warehouse_id", "line__transfer__destination_warehouse_id")
        .annotate(units=Sum("outstanding")))


def lot_rejected(lot_id: int) -> QuerySet:
    """`(transfer_id, destination_id, units)` of a lot rejected on receipt or lost in transit, per transfer (they
    left the books without a ledger row: a recall's `consumed` with `reference_type` `transfer_request`)."""
    return (TransferLineLot.objects.filter(lot_id=lot_id, rejected__gt=0).order_by("line__transfer_id")
            .values_list("line__transfer_id", "line__transfer__destination_warehouse_id")
            .annotate(units=Sum("rejected")))


def open_count_products(product_ids) -> set[int]:
    """The products of `product_ids` that an open or submitted count has a line for (one query): a tracking
    switch refuses them (SPEC §14). Registered with `inventory.switch_guards` in `WorkflowsConfig.ready()`."""
    return set(StockCountLine.objects.filter(
        product_id__in=list(product_ids),
        count__status__in=[StockCount.Status.OPEN, StockCount.Status.SUBMITTED],
    ).values_list("product_id", flat=True).distinct().order_by())
