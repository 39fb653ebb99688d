"""The recall of a lot (SPEC §14): where its units are (`trace`) and through which documents they left the books
(`consumers`), scoped to the warehouses the caller operates (admins: everything).

Here, not in `inventory`, because a recall needs the transfers (units in transit, units rejected or lost on
the way), which live in `workflows`; `inventory` may not import them. Reads only.

Everything is aggregated in SQL and the consumers are paginated: a lot sold one unit at a time over a million
movements is a handful of rows per document, never a million rows in one answer.

**Left the books**: negative ledger movements of the lot, except `transfer_out` (those units move to another
warehouse, they do not leave): purchase approvals, reservation fulfilments, counts that found less (`adjust`
with reference `stock_count`) and negative adjustments (one row per reason); plus the units rejected or lost
in transit, which write no ledger row (they never enter a warehouse) and are read from the transfers' lot
lines (`TransferLineLot(line, lot, shipped, received, rejected)`).
"""

from django.db.models import CharField, F, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, NullIf

from inventory.lots import Lot, StockLot
from inventory.models import StockMovement
from warehouses.models import Warehouse

from .models import TransferLineLot, TransferStatus

REJECTED = "rejected"


def _scope(user):
    """The warehouses whose part of a recall the user sees (admin all; manager and staff theirs)."""
    return Warehouse.objects.operated_by(user)


def _departures(lot: Lot, user) -> QuerySet[StockMovement]:
    """The lot's ledger rows through which units left the books, in the user's warehouses."""
    return (StockMovement.objects.filter(lot=lot, quantity_change__lt=0, warehouse__in=_scope(user))
            .exclude(kind=StockMovement.Kind.TRANSFER_OUT).order_by())


def _rejected_lines(lot: Lot, user):
    """The lot lines of transfers that rejected or lost units of it, seen by people of either warehouse."""
    scope = _scope(user)
    return (TransferLineLot.objects.filter(lot=lot, rejected__gt=0)
            .filter(Q(line__transfer__source_warehouse__in=scope) | Q(line__transfer__destination_warehouse__in=scope))
            .order_by())


def on_hand(lot: Lot, user) -> list[dict]:
    """`[{warehouse, quantity}]`: the lot's units per warehouse holding some, by warehouse code."""
    rows = (StockLot.objects.filter(lot=lot, quantity__gt=0, stock__warehouse__in=_scope(user))
            .order_by("stock__warehouse__code").values_list("stock__warehouse_id", "quantity"))
    return [{"warehouse": warehouse, "quantity": quantity} for warehouse, quantity in rows]


def in_transit(lot: Lot, user) -> list[dict]:
    """`[{transfer_request, quantity}]`: units of the lot shipped and not yet received or rejected, per transfer
    (in transit), for people of either warehouse; oldest transfer first."""
    scope = _scope(user)
    rows = (TransferLineLot.objects.filter(lot=lot, line__transfer__status=TransferStatus.IN_TRANSIT)
            .filter(Q(line__transfer__source_warehouse__in=scope) | Q(line__transfer__destination_warehouse__in=scope))
            .order_by().values("line__transfer_id")
            .annotate(units=Sum(F("shipped") - F("received") - F("rejected")))
            .filter(units__gt=0).order_by("line__transfer_id").values_list("line__transfer_id", "units"))
    return [{"transfer_request": transfer, "quantity": units} for transfer, units in rows]


def consumed(lot: Lot, user) -> list[dict]:
    """`[{reference_type, reason, quantity}]`: units of the lot that left the books, per kind of document and
    reason (reason null for purchases and fulfilments), largest first."""
    totals: dict[tuple, int] = {}
    rows = (_departures(lot, user).values("reference_type", "reason")
            .annotate(units=Sum(-F("quantity_change"))).values_list("reference_type", "reason", "units"))
    for reference_type, reason, units in rows:
        key = (reference_type, reason or None)
        totals[key] = totals.get(key, 0) + units
    units = _rejected_lines(lot, user).aggregate(units=Sum("rejected"))["units"]
    if units:
        totals[(StockMovement.ReferenceType.TRANSFER_REQUEST, REJECTED)] = units
    ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0][0] or "", item[0][1] or ""))
    return [{"reference_type": reference_type, "reason": reason, "quantity": units}
            for (reference_type, reason), units in ordered]


def trace(lot: Lot, user) -> dict:
    """The recall summary: `{lot, on_hand, in_transit, consumed}` (four queries)."""
    return {"lot": lot.pk, "on_hand": on_hand(lot, user), "in_transit": in_transit(lot, user),
            "consumed": consumed(lot, user)}


_COLUMNS = ("x_type", "x_id", "x_reason", "quantity", "last_at")


def consumers(lot: Lot, user, *, reference_type: str | None = None):
    """One row per document through which units of the lot left the books, newest first (a queryset of
    `_COLUMNS` dicts (`consumer_row` names them), for the paginator: one count and one page query, both aggregates).

    Ledger departures are grouped by (reference_type, reference_id, reason): one row per purchase request,
    reservation or count, and one per reason for negative adjustments (which have no reference). Transfers that
    rejected or lost units of the lot add one row each (`reason` "rejected"; `last_at` the moment the transfer
    was last decided on: the lot lines keep no time of their own).
    """
    departures = _departures(lot, user)
    if reference_type:
        departures = departures.filter(reference_type=reference_type)
    # Every column is an annotation, declared in the same order in both parts, so the union lines them up.
    ledger = (departures.values("reference_type", "reference_id", "reason")
              .annotate(x_type=F("reference_type"), x_id=F("reference_id"), x_reason=NullIf(F("reason"), Value("")),
                        quantity=Sum(-F("quantity_change")), last_at=Max("created_at"))
              .values(*_COLUMNS))
    if reference_type in (None, StockMovement.ReferenceType.TRANSFER_REQUEST):
        transfers = (_rejected_lines(lot, user).values("line__transfer_id")
                     .annotate(x_type=Value(StockMovement.ReferenceType.TRANSFER_REQUEST, output_field=CharField()),
                               x_id=F("line__transfer_id"),
                               x_reason=Value(REJECTED, output_field=CharField()),
                               quantity=Sum("rejected"),
                               last_at=Coalesce(Max("line__transfer__decided_at"), Max("line__transfer__created_at")))
                     .values(*_COLUMNS))
        ledger = ledger.union(transfers, all=True)
    # Unique per row: (reference_type, reference_id, reason); the order is total, so pages never overlap.
    return ledger.order_by("-last_at", "x_type", "x_id", "x_reason")


def consumer_row(values: dict) -> dict:
    """One `/api/lots/{id}/consumers/` row from a `consumers` row."""
    return {"reference_type": values["x_type"], "reference_id": values["x_id"],
            "reason": values["x_reason"], "quantity": values["quantity"], "last_at": values["last_at"]}
