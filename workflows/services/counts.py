"""Stock counts (SPEC §12): open with an expected snapshot, count, submit, approve or reject, cancel.

Every action locks the count row first (`select_for_update`), then re-checks scope (404), the policy
(403) and the state (409 `invalid_state`), in that order. Applying a count writes its found
differences through the stock door (`stock.apply_stock_changes`), which locks the stock rows second,
in primary-key order: the documented lock order (document, then stock rows) is kept.

Applying keeps the difference: each line writes `counted − expected` as one `adjust` movement (reason
`count`), so movements between opening and applying stay in the balance.

Lots (SPEC §14): a lot-tracked product is counted per lot — one line per lot with units at the warehouse
when the count opens (`expected` its balance), plus a line per lot found that was not expected (`expected`
0), added by `record_counts`; applying writes one `adjust` per lot with a difference, on that lot. Opening
and adding found lines hold the products' tracking locks shared (`inventory.locks.share_lock_products`) and read
their `tracking` under that lock, so a tracking switch (which locks the product FOR UPDATE, then refuses a
product on an open or submitted count) never straddles a count: lock order count → product rows → stock rows.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.audit import record_event
from core.decisions import Decision
from core.documents import lock_document
from core.errors import InvalidState, PermissionDenied
from core.events import emit
from inventory.errors import InactiveObject, NotLotTracked
from inventory.locks import share_lock_products
from inventory.lots import StockLot, fefo_order
from inventory.models import Product, Stock, StockMovement
from inventory.services import Reference, StockChange, apply_stock_changes
from inventory.services.lots import UNSET, resolve_lot
from warehouses.models import Warehouse

from .. import policies
from ..errors import InvalidCount
from ..events import StockCountChanged
from ..models import StockCount, StockCountLine
from .common import check_decision

Status = StockCount.Status
# A count names at most this many products (the default, every row of the warehouse, is bounded the same way).
MAX_COUNT_LINES = 10_000


def _in(states: Iterable[str]):
    """The state check of a count action allowed only in `states` (409 `invalid_state` with the current one)."""
    def check(count: StockCount):
        if count.status not in states:
            return InvalidState(f"This count is {count.status}.", status=count.status)
        return None
    return check


def _lines(count: StockCount) -> list[StockCountLine]:
    return list(count.lines.order_by("id"))


@transaction.atomic
def open_count(*, actor, warehouse: Warehouse, products: list[Product] | None = None, note: str = "",
               ip: str | None = None) -> StockCount:
    """Open a count of `products` (default: every product with a stock row in the warehouse).

    Each line's `expected` is the product's on-hand quantity now; a product the warehouse has no stock
    row for gets a line with `expected` 0 and no row (the stock door creates it if the count finds
    units). A lot-tracked product gets one line per lot with units there (`expected` the lot's balance)
    and none when it holds no units (a lot found is added by `record_counts`). Holds the products' tracking
    locks shared and reads their `tracking` under them (`inventory.locks.share_lock_products`: a tracking
    switch and this count wait for each other; the snapshot is then one statement per kind).
    Raises PermissionDenied unless the actor operates the warehouse, InactiveObject for an inactive
    warehouse, DomainError `invalid` when there is nothing to count or too much.
    """
    if not policies.can_count(actor, warehouse):
        raise PermissionDenied("Only an admin or this warehouse's manager or staff may count its stock.")
    if not warehouse.is_active:
        raise InactiveObject(f"Warehouse {warehouse.code} is inactive.")
    if products is None:
        product_ids = list(Stock.objects.filter(warehouse=warehouse).order_by("product_id")
                           .values_list("product_id", flat=True)[:MAX_COUNT_LINES + 1])
    else:
        product_ids = sorted({product.pk for product in products})
    if not product_ids:
        raise InvalidCount("There is nothing to count in this warehouse: name the products.")
    if len(product_ids) > MAX_COUNT_LINES:
        raise InvalidCount(f"A count holds at most {MAX_COUNT_LINES} products.")
    tracking = share_lock_products(product_ids)  # a tracking switch waits for this count, or this sees it
    lot_tracked = {pk for pk, value in tracking.items() if value == Product.Tracking.LOT}
    count = StockCount.objects.create(warehouse=warehouse, note=note or "", created_by=actor)
    snapshot = {product_id: (stock_id, quantity) for stock_id, product_id, quantity in Stock.objects.filter(
        warehouse=warehouse, product_id__in=product_ids).values_list("pk", "product_id", "quantity")}
    lines = [
        StockCountLine(count=count, stock_id=snapshot.get(product_id, (None, 0))[0], product_id=product_id,
                       expected=snapshot.get(product_id, (None, 0))[1])
        for product_id in product_ids if product_id not in lot_tracked
    ]
    if lot_tracked:
        lines += [StockCountLine(count=count, stock_id=stock_id, product_id=product_id, lot_id=lot_id,
                                 expected=quantity)
                  for stock_id, product_id, lot_id, quantity in StockLot.objects.filter(
                      stock__warehouse=warehouse, stock__product_id__in=sorted(lot_tracked), quantity__gt=0)
                  .order_by("stock__product_id", *fefo_order("lot__"))
                  .values_list("stock_id", "stock__product_id", "lot_id", "quantity")]
        lines.sort(key=lambda line: line.product_id)  # product by product; a product's lots first-expired first
    StockCountLine.objects.bulk_create(lines)
    record_event(actor=actor, action="stock_count.open", target=count, ip=ip,
                 data={"warehouse": warehouse.pk, "lines": len(lines)})
    return count


@dataclass(frozen=True)
class FoundLot:
    """A lot found that the count did not expect: `{product, lot (code), expires_on?, counted}` (SPEC §14)."""

    product: Product
    lot: str | None
    counted: int
    expires_on: object = UNSET


@transaction.atomic
def record_counts(*, actor, count_id: int, counts: dict[int, int], found: list[FoundLot] = (),
                  ip: str | None = None) -> StockCount:
    """Set `counted` on lines of an open count (`counts`: line id → counted); other lines keep theirs.

    `found`: lots found that were not expected (SPEC §14): each resolves its lot like units coming in
    (`resolve_lot`: a new code creates the lot) and adds a line with `expected` 0 — or, when the count has a
    line for that lot already, sets that line's `counted` (so repeating a request changes nothing more).
    Locks: the count row, then (for `found`) the products' tracking locks, shared. Raises NotFound, PermissionDenied
    unless the actor operates the warehouse, InvalidState unless the count is open, DomainError `invalid`
    (with `lines`) for ids that are not lines of this count or a line given twice, NotLotTracked (a found
    lot of a product that is not lot-tracked), LotRequired (no code), LotMismatch (another date than the
    known lot's); nothing is changed then (a lot created by the request is rolled back with it).
    """
    count = lock_document(StockCount, actor=actor, pk=count_id, state=_in([Status.OPEN]),
                          allowed=lambda user, obj: policies.can_count(user, obj.warehouse),
                          denied="Only an admin or this warehouse's manager or staff may count its stock.")
    lines = {line.pk: line for line in count.lines.filter(pk__in=list(counts))}
    foreign = sorted(set(counts) - lines.keys())
    if foreign:
        raise InvalidCount(f"Not lines of this count: {', '.join(map(str, foreign))}.", lines=foreign)
    counts = dict(counts)
    added = _found_lines(count, found, counts, lines, actor=actor) if found else []
    for line_id, counted in counts.items():
        lines[line_id].counted, lines[line_id].counted_by = counted, actor
    StockCountLine.objects.bulk_update(lines.values(), ["counted", "counted_by"])
    data = {"lines": {str(pk): counted for pk, counted in sorted(counts.items())}}
    if added:
        data["found"] = [{"line": line.pk, "product": line.product_id, "lot": line.lot_id, "counted": line.counted}
                         for line in added]
    record_event(actor=actor, action="stock_count.count", target=count, ip=ip, data=data)
    return count


def _found_lines(count: StockCount, found: list[FoundLot], counts: dict[int, int], lines: dict,
                 *, actor) -> list[StockCountLine]:
    """Resolve each found lot; a lot the count has a line for joins `counts`/`lines`, the others become new
    lines (created here, `expected` 0). Returns the new lines."""
    tracking = share_lock_products(entry.product.pk for entry in found)
    resolved = []
    for entry in found:
        entry.product.tracking = tracking.get(entry.product.pk, entry.product.tracking)
        if entry.product.tracking != Product.Tracking.LOT:
            raise NotLotTracked(f"Product {entry.product.sku} is not lot-tracked: a count adds found lots only; "
                                "count its line.")
        resolved.append((entry, resolve_lot(product=entry.product, code=entry.lot, expires_on=entry.expires_on)))
    existing = {(line.product_id, line.lot_id): line for line in count.lines.filter(
        product_id__in={entry.product.pk for entry, _ in resolved}, lot_id__in={lot.pk for _, lot in resolved})}
    stock_ids = dict(Stock.objects.filter(warehouse_id=count.warehouse_id,
                                          product_id__in={entry.product.pk for entry, _ in resolved})
                     .values_list("product_id", "pk"))
    new: dict[tuple[int, int], StockCountLine] = {}
    for entry, lot in resolved:
        key = (entry.product.pk, lot.pk)
        line = existing.get(key)
        if (line is not None and line.pk in counts) or key in new:
            twice = [line.pk] if line is not None else []
            raise InvalidCount(f"Lot {lot.code} of {entry.product.sku} is given twice.", lines=twice)
        if line is not None:
            counts[line.pk], lines[line.pk] = entry.counted, line
            continue
        new[key] = StockCountLine(count=count, product=entry.product, lot=lot, stock_id=stock_ids.get(entry.product.pk),
                                  expected=0, counted=entry.counted, counted_by=actor)
    if new and count.lines.count() + len(new) > MAX_COUNT_LINES:
        raise InvalidCount(f"A count holds at most {MAX_COUNT_LINES} lines.")
    return StockCountLine.objects.bulk_create(new.values())


def _apply(count: StockCount, *, actor) -> int:
    """Write each line's found difference through the stock door; returns the number of movements."""
    changes = [StockChange(product_id=line.product_id, warehouse_id=count.warehouse_id,
                           delta=line.counted - line.expected, lot_id=line.lot_id)
               for line in _lines(count) if line.counted != line.expected]
    if not changes:
        return 0
    movements = apply_stock_changes(actor=actor, changes=changes, kind=StockMovement.Kind.ADJUST,
                                    reason=StockMovement.Reason.COUNT,
                                    reference=Reference(StockMovement.ReferenceType.STOCK_COUNT, count.pk))
    return sum(movement is not None for movement in movements)


def _within_tolerance(count: StockCount) -> bool:
    tolerance = count.warehouse.count_tolerance
    return all(abs(line.counted - line.expected) <= tolerance for line in _lines(count))


@transaction.atomic
def submit_count(*, actor, count_id: int, ip: str | None = None) -> StockCount:
    """Submit an open count; applied at once when every |difference| is within the warehouse's tolerance.

    Locks: the count row, then (when applied) its stock rows in primary-key order. Raises NotFound,
    PermissionDenied unless the actor operates the warehouse, InvalidState unless open, DomainError
    `invalid` (with `lines`) naming the lines not yet counted, InsufficientStock when applying would
    take a row below zero (or below its reserved units); nothing is written then.
    """
    count = lock_document(StockCount, actor=actor, pk=count_id, state=_in([Status.OPEN]),
                          allowed=lambda user, obj: policies.can_count(user, obj.warehouse),
                          denied="Only an admin or this warehouse's manager or staff may submit this count.")
    missing = [line.pk for line in _lines(count) if line.counted is None]
    if missing:
        raise InvalidCount(f"Lines not counted yet: {', '.join(map(str, missing))}.", lines=missing)
    now = timezone.now()
    count.status, count.submitted_by, count.submitted_at = Status.SUBMITTED, actor, now
    data = {"auto_applied": False}
    if _within_tolerance(count):
        data = {"auto_applied": True, "movements": _apply(count, actor=actor)}
        count.status, count.decided_at = Status.APPLIED, now
    count.save(update_fields=["status", "submitted_by", "submitted_at", "decided_at"])
    record_event(actor=actor, action="stock_count.submit", target=count, ip=ip, data=data)
    # Applied at submit: one save, then both events in this order, each carrying the `applied` row.
    emit(StockCountChanged(stock_count=count, action="submitted"))
    if count.status == Status.APPLIED:
        emit(StockCountChanged(stock_count=count, action="decided"))
    return count


@transaction.atomic
def decide_count(*, actor, count_id: int, decision: str, reason: str = "", ip: str | None = None) -> StockCount:
    """Approve (apply the found differences) or reject a submitted count.

    Locks: the count row, then (on approve) its stock rows in primary-key order. Raises NotFound,
    PermissionDenied unless the actor is an admin or the warehouse's manager and neither submitted it
    nor recorded any of its lines' counted values (`policies.can_decide_count`),
    InvalidState unless submitted, InsufficientStock (nothing written, the count stays submitted),
    InvalidDecision (`invalid_decision`).
    """
    check_decision(decision)
    count = lock_document(StockCount, actor=actor, pk=count_id, state=_in([Status.SUBMITTED]),
                          allowed=policies.can_decide_count,
                          denied="Only an admin or this warehouse's manager, other than the people who "
                                 "counted or submitted it, may decide a count.")
    data = {"reason": reason or ""}
    if decision == Decision.APPROVE:
        data["movements"] = _apply(count, actor=actor)
    count.status = Status.APPLIED if decision == Decision.APPROVE else Status.REJECTED
    count.decided_by, count.decided_at, count.decision_reason = actor, timezone.now(), reason or ""
    count.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    record_event(actor=actor, action=f"stock_count.{decision}", target=count, ip=ip, data=data)
    emit(StockCountChanged(stock_count=count, action="decided"))
    return count


@transaction.atomic
def cancel_count(*, actor, count_id: int, ip: str | None = None) -> StockCount:
    """Cancel an open or submitted count; nothing is written to stock.

    Locks: the count row. Raises NotFound, PermissionDenied unless the actor created it or is an admin
    or the warehouse's manager, InvalidState unless open or submitted.
    """
    count = lock_document(StockCount, actor=actor, pk=count_id, state=_in([Status.OPEN, Status.SUBMITTED]),
                          allowed=policies.can_cancel_count,
                          denied="Only the count's creator, this warehouse's manager or an admin may cancel it.")
    count.status = Status.CANCELLED
    count.save(update_fields=["status"])
    record_event(actor=actor, action="stock_count.cancel", target=count, ip=ip, data={})
    return count
