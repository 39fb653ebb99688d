"""Transfer requests (SPEC §5, §11): create, decide, and the journey of an `in_transit` transfer.

`direct`: approval moves every line at once. `in_transit`: `pending → approved` (the lines are
reserved at the source) `→ in_transit` (shipped: out of the source, into the destination's
`incoming`) `→ received | closed`; `pending | approved → cancelled`.

Every action runs in one transaction and locks the transfer row first; its lines are written only
under that lock, so concurrent actions on one transfer are serialized. Stock rows are locked second,
by the stock door, in primary-key order across all lines.

Lots (SPEC §14): a line of a lot-tracked product records which lots travelled (`TransferLineLot`, one
entry per lot, from the door's `transfer_out` movements, in the order taken FEFO). A receipt entry may
name its `lot`; without one, accepted units fill the line's lots in the order shipped, then rejected
units the same way. Closing writes each lot's outstanding units off as rejected.
"""

from collections import defaultdict

from django.db import transaction

from accounts.audit import record_event
from core.decisions import Decision
from core.documents import lock_document, pending
from core.errors import InvalidState, PermissionDenied
from core.events import emit
from core.identity import identity_key
from inventory.errors import InvalidQuantity, NotLotTracked, SameWarehouse
from inventory.models import Product, StockMovement
from inventory.services import (
    ReceivedLine,
    Reference,
    check_active,
    check_quantity,
    hold_transfer_lines,
    move_stock_lines,
    receive_transfer_lines,
    release_transfer_lines,
    ship_transfer_lines,
    write_off_in_transit,
)
from inventory.services.stock import stock_operation
from warehouses.models import Warehouse

from .. import policies
from ..errors import InvalidTransfer
from ..events import TransferRequestChanged
from ..models import (
    MAX_LINES,
    ReorderRule,
    TransferLine,
    TransferLineLot,
    TransferMode,
    TransferRequest,
    TransferStatus,
)
from .common import check_decision, record_decision


def _reference(transfer: TransferRequest) -> Reference:
    return Reference(StockMovement.ReferenceType.TRANSFER_REQUEST, transfer.pk)


def _units(lines) -> list[tuple[Product, int]]:
    return [(line.product, line.quantity) for line in lines]


def _locked_lines(transfer: TransferRequest) -> list[TransferLine]:
    """The transfer's lines, read after its row lock (so they are current), in id order."""
    return list(TransferLine.objects.filter(transfer=transfer).select_related("product").order_by("pk"))


def _lot_entries(lines: list[TransferLine]) -> dict[int, list[TransferLineLot]]:
    """Each line's lot entries, in the order shipped (read under the transfer's row lock).

    One query, and none when no line is of a lot-tracked product: a product's `tracking` cannot switch
    while any of its units are reserved or in transit (SPEC §14), so a line has entries exactly when its
    product is lot-tracked."""
    entries = defaultdict(list)
    tracked = [line for line in lines if line.product.tracking == Product.Tracking.LOT]
    if not tracked:
        return entries
    for entry in TransferLineLot.objects.filter(line__in=tracked).select_related("lot").order_by("pk"):
        entries[entry.line_id].append(entry)
    return entries


def _record_lots(lines: list[TransferLine], movements: list[StockMovement], *, received: bool) -> list:
    """One entry per lot that left the source on each line (the door's `transfer_out` movements naming a
    lot, in the order taken); `received`: a direct move, whose units arrived in the same lots at once.
    Returns `[[line, lot, units], ...]` for the audit event."""
    by_product = {line.product_id: line for line in lines}
    entries = [TransferLineLot(line=by_product[movement.product_id], lot_id=movement.lot_id,
                               shipped=-movement.quantity_change, received=-movement.quantity_change if received else 0)
               for movement in movements if movement.kind == StockMovement.Kind.TRANSFER_OUT and movement.lot_id]
    TransferLineLot.objects.bulk_create(entries)
    return [[entry.line.pk, entry.lot_id, entry.shipped] for entry in entries]


def in_state(states: tuple[str, ...], modes: tuple[str, ...] = (TransferMode.IN_TRANSIT,)):
    """The state check of a transfer action allowed only in `states` and `modes` (409 `invalid_state`)."""
    def check(transfer: TransferRequest):
        if transfer.status in states and transfer.mode in modes:
            return None
        return InvalidState(status=transfer.status, mode=transfer.mode,
                            detail=f"This action does not apply to a {transfer.status} {transfer.mode} transfer.")
    return check


RECEIVABLE = in_state((TransferStatus.IN_TRANSIT,))


def _lock_transfer(*, actor, transfer_id: int, allowed, denied: str, state) -> TransferRequest:
    """Lock the transfer row (`lock_document`): 404 unless the actor sees it, 403 unless `allowed`, then `state`."""
    return lock_document(TransferRequest, actor=actor, pk=transfer_id, allowed=allowed, denied=denied, state=state)


def _set_status(transfer: TransferRequest, status: str) -> None:
    transfer.status = status
    transfer.save(update_fields=["status"])


def _hold_rule_of(transfer: TransferRequest) -> None:
    """A person refused a transfer a reorder rule created: hold the rule (SPEC §15), in this transaction.

    Automatic evaluations then create nothing until the rule is changed or evaluated on demand, so the
    next sale does not re-create what was just refused. Locks the rule row (after any stock rows: the
    lock order puts rule rows after stock rows).
    """
    if transfer.reorder_rule_id is not None:
        ReorderRule.objects.filter(pk=transfer.reorder_rule_id).update(held=True)


def _check_lines(lines: list[tuple[Product, int]]) -> None:
    if not 1 <= len(lines) <= MAX_LINES:
        raise InvalidTransfer(f"A transfer has 1 to {MAX_LINES} lines.")
    seen = set()
    for product, quantity in lines:
        if product.pk in seen:
            raise InvalidTransfer(f"Product {product.sku} is listed twice.", product=product.pk)
        seen.add(product.pk)
        check_quantity(quantity)


@transaction.atomic
def create_transfer_request(*, actor, source: Warehouse, destination: Warehouse, product: Product | None = None,
                            quantity: int | None = None, lines: list[tuple[Product, int]] | None = None,
                            mode: str = TransferMode.DIRECT, reason: str = "",
                            ip: str | None = None) -> TransferRequest:
    """Ask to move products from `source` to `destination`: Part I's `product`/`quantity`, or `lines`.

    Starts `pending`, one `TransferLine` per product. Locks nothing. Raises PermissionDenied unless
    the actor is an admin or the manager of either warehouse; SameWarehouse (`same_warehouse`);
    DomainError `invalid` (no lines or both shapes, more than 100 lines, a product twice);
    InactiveObject, InvalidQuantity.
    """
    if not policies.can_create_transfer(actor, source, destination):
        raise PermissionDenied("Only an admin or the manager of the source or destination may request a transfer.")
    return new_transfer_request(requested_by=actor, source=source, destination=destination, product=product,
                                quantity=quantity, lines=lines, mode=mode, reason=reason, ip=ip)


def new_transfer_request(*, requested_by, source: Warehouse, destination: Warehouse, product: Product | None = None,
                         quantity: int | None = None, lines: list[tuple[Product, int]] | None = None,
                         mode: str = TransferMode.DIRECT, reason: str = "", reorder_rule=None,
                         ip: str | None = None) -> TransferRequest:
    """Validate and write a pending transfer request and its lines, and audit it; asks no policy.

    The body of `create_transfer_request` (which asks the policy first), shared with replenishment:
    a reorder rule's transfer has `requested_by` None and names its `reorder_rule`. Call inside a
    transaction. Raises what `create_transfer_request` raises, except PermissionDenied.
    """
    if source.pk == destination.pk:
        raise SameWarehouse()
    if mode not in TransferMode.values:
        raise InvalidTransfer(f"Unknown mode {mode!r}.")
    if (lines is None) == (product is None):
        raise InvalidTransfer("Send either product and quantity, or lines.")
    lines = [(product, quantity)] if lines is None else list(lines)
    _check_lines(lines)
    for line_product, _ in lines:
        check_active(warehouses=[source, destination], product=line_product)
    single = lines[0] if len(lines) == 1 else (None, None)
    transfer = TransferRequest.objects.create(
        source_warehouse=source, destination_warehouse=destination, product=single[0], quantity=single[1],
        mode=mode, reason=reason or "", requested_by=requested_by, reorder_rule=reorder_rule,
    )
    TransferLine.objects.bulk_create(
        [TransferLine(transfer=transfer, product=line_product, quantity=units) for line_product, units in lines])
    record_event(actor=requested_by, action="transfer_request.create", target=transfer, ip=ip,
                 data={"source_warehouse": source.pk, "destination_warehouse": destination.pk, "mode": mode,
                       **({"reorder_rule": reorder_rule.pk} if reorder_rule is not None else {}),
                       "lines": [[line_product.pk, units] for line_product, units in lines],
                       **({"product": single[0].pk, "quantity": single[1]} if single[0] else {})})
    emit(TransferRequestChanged(transfer_request=transfer, action="created"))
    return transfer


@transaction.atomic
def decide_transfer_request(*, actor, request_id: int, decision: str, reason: str = "",
                            ip: str | None = None) -> TransferRequest:
    """Approve or reject a pending transfer.

    Approving a `direct` transfer moves every line at once (a `transfer_out` and a `transfer_in`
    per line); approving an `in_transit` one reserves every line at the source. All lines or none.
    Locks: the request row first, then the stock rows of every line in primary-key order (through
    `move_stock_lines` / `hold_transfer_lines`); rejecting a transfer a reorder rule created holds the rule
    (its row is locked last). Raises InvalidDecision; NotFound if unknown or
    outside the actor's scope; PermissionDenied unless the actor is an admin; NotPending if already
    decided; InsufficientStock naming the short `product` (nothing written, stays pending) or
    InactiveObject from the stock service.
    """
    check_decision(decision)
    transfer = lock_document(TransferRequest, actor=actor, pk=request_id, state=pending,
                            allowed=policies.can_decide_transfer,
                            denied="Only an admin may decide a transfer request.")
    data = {"source_warehouse": transfer.source_warehouse_id, "destination_warehouse":
            transfer.destination_warehouse_id, "product": transfer.product_id, "quantity": transfer.quantity,
            "mode": transfer.mode}
    # One door operation for the whole decision: the stock subscribers (replenishment) run once, after
    # the transfer's new status is saved, so they never count its units twice.
    with stock_operation():
        _decide(transfer, actor=actor, decision=decision, reason=reason, data=data, ip=ip)
    emit(TransferRequestChanged(transfer_request=transfer, action="decided"))
    return transfer


def _decide(transfer: TransferRequest, *, actor, decision: str, reason: str, data: dict, ip) -> TransferRequest:
    if decision == Decision.APPROVE:
        lines = _locked_lines(transfer)
        if transfer.mode == TransferMode.DIRECT:
            movements = move_stock_lines(actor=actor, source=transfer.source_warehouse,
                                         destination=transfer.destination_warehouse, lines=_units(lines),
                                         reference=_reference(transfer))
            for line in lines:
                line.shipped_quantity = line.received_quantity = line.quantity
            TransferLine.objects.bulk_update(lines, ["shipped_quantity", "received_quantity"])
            lots = _record_lots(lines, movements, received=True)
            data.update(movements=[movement.pk for movement in movements], **({"lots": lots} if lots else {}))
        else:
            hold_transfer_lines(actor=actor, source=transfer.source_warehouse, lines=_units(lines))
            data.update(reserved=[[line.product_id, line.quantity] for line in lines])
    else:
        _hold_rule_of(transfer)
    return record_decision(transfer, kind="transfer_request", actor=actor, decision=decision, reason=reason,
                           data=data, ip=ip)


@transaction.atomic
def ship_transfer(*, actor, transfer_id: int, ip: str | None = None) -> TransferRequest:
    """Ship an approved in-transit transfer in full: `approved → in_transit`.

    Per line, the source's `quantity` and `reserved` shrink (a `transfer_out` movement) and the
    destination's `incoming` grows. Locks: the transfer row, then the source and destination stock
    rows of every line in primary-key order. Raises NotFound (unknown or out of scope),
    PermissionDenied unless the actor is an admin or the source's manager or staff, InvalidState
    (with `status`) unless it is an approved in-transit transfer; InsufficientStock naming the short
    `product` (units expired since approval are not shipped: `available` is
    `min(quantity − expired, available + held)`), nothing written, the transfer stays `approved`.
    A lot-tracked line's units leave FEFO, one movement per lot; the line records its lots.
    """
    transfer = _lock_transfer(actor=actor, transfer_id=transfer_id, allowed=policies.can_ship,
                              denied="Only an admin or the source warehouse's manager or staff may ship it.",
                              state=in_state((TransferStatus.APPROVED,)))
    lines = _locked_lines(transfer)
    with stock_operation():  # subscribers run after the new status is saved (see decide_transfer_request)
        movements = ship_transfer_lines(actor=actor, source=transfer.source_warehouse,
                                        destination=transfer.destination_warehouse, lines=_units(lines),
                                        reference=_reference(transfer))
        for line in lines:
            line.shipped_quantity = line.quantity
        TransferLine.objects.bulk_update(lines, ["shipped_quantity"])
        lots = _record_lots(lines, movements, received=False)
        _set_status(transfer, TransferStatus.IN_TRANSIT)
    record_event(actor=actor, action="transfer_request.ship", target=transfer, ip=ip,
                 data={"movements": [movement.pk for movement in movements],
                       "lines": [[line.pk, line.shipped_quantity] for line in lines],
                       **({"lots": lots} if lots else {})})
    emit(TransferRequestChanged(transfer_request=transfer, action="shipped"))
    return transfer


class _Receipt:
    """What one receipt does to one line: totals, and per lot entry `[entry, accepted, rejected]`."""

    def __init__(self, line: TransferLine):
        self.line = line
        self.accepted = self.rejected = 0
        self.lots: dict[int, list] = {}  # entry pk -> [entry, accepted, rejected], in the order shipped
        self.named: set[int] = set()  # lot ids named by an entry
        self.unnamed = False

    def add(self, entry: TransferLineLot, accepted: int, rejected: int) -> None:
        part = self.lots.setdefault(entry.pk, [entry, 0, 0])
        part[1] += accepted
        part[2] += rejected

    def lot_outstanding(self, entry: TransferLineLot) -> int:
        part = self.lots.get(entry.pk)
        return entry.outstanding - (part[1] + part[2] if part else 0)


def _fill(receipt: _Receipt, entries: list[TransferLineLot], units: int, *, accepted: bool) -> None:
    """Spread `units` (accepted or rejected) over the line's lots in the order they were shipped."""
    for entry in entries:
        if not units:
            return
        share = min(units, receipt.lot_outstanding(entry))
        if share:
            receipt.add(entry, share if accepted else 0, 0 if accepted else share)
            units -= share


def _receipt_lines(transfer: TransferRequest, lines: list[TransferLine], receipts: list[dict],
                   entries: dict[int, list[TransferLineLot]]) -> list[_Receipt]:
    """Match a receipt's `{line, accepted, rejected, lot?}` to the transfer's lines (and, for a lot-tracked
    line, its lots); 400 before anything is written.

    A line appears once, or (naming `lot`) once per lot; a named lot must have been shipped on that line
    and its `accepted + rejected` may not exceed its units not yet accounted for; without `lot` a
    lot-tracked line's accepted units fill its lots in the order shipped, then its rejected units.
    """
    by_pk = {line.pk: line for line in lines}
    matched: dict[int, _Receipt] = {}
    if not receipts:
        raise InvalidTransfer("A receipt names at least one line.")
    for item in receipts:
        line = by_pk.get(item["line"])
        if line is None:
            raise InvalidTransfer(f"Line {item['line']} is not a line of transfer {transfer.pk}.",
                                  line=item["line"])
        accepted, rejected, code = item.get("accepted", 0), item.get("rejected", 0), item.get("lot")
        if accepted < 0 or rejected < 0:
            raise InvalidQuantity(f"Line {line.pk}: accepted and rejected are at least 0.", line=line.pk)
        receipt = matched.get(line.pk)
        if receipt is None:
            receipt = matched[line.pk] = _Receipt(line)
        elif code is None or receipt.unnamed:
            raise InvalidTransfer(f"Line {line.pk} is named twice (name a different lot on each entry, or no lot "
                                  f"and one entry).", line=line.pk)
        line_entries = entries.get(line.pk, [])
        if code is None:
            receipt.unnamed = True
            if accepted + rejected > line.outstanding:
                raise InvalidQuantity(
                    f"Line {line.pk}: {accepted + rejected} units reported, only {line.outstanding} of "
                    f"{line.shipped_quantity} shipped are still unaccounted for.", line=line.pk,
                    outstanding=line.outstanding)
            if line_entries:
                _fill(receipt, line_entries, accepted, accepted=True)
                _fill(receipt, line_entries, rejected, accepted=False)
        else:
            entry = _named_entry(line, line_entries, code)
            if entry.lot_id in receipt.named:
                raise InvalidTransfer(f"Line {line.pk}: lot {entry.lot.code} is named twice.", line=line.pk,
                                      lot=entry.lot.code)
            receipt.named.add(entry.lot_id)
            if accepted + rejected > entry.outstanding:
                raise InvalidQuantity(
                    f"Line {line.pk}: {accepted + rejected} units of lot {entry.lot.code} reported, only "
                    f"{entry.outstanding} of the {entry.shipped} shipped are still unaccounted for.", line=line.pk,
                    lot=entry.lot.code, outstanding=entry.outstanding)
            receipt.add(entry, accepted, rejected)
        receipt.accepted += accepted
        receipt.rejected += rejected
    # A receiving form sends every line, zeros for what has not arrived yet: such a line changes nothing.
    return [receipt for receipt in matched.values() if receipt.accepted or receipt.rejected]


def _named_entry(line: TransferLine, entries: list[TransferLineLot], code: str) -> TransferLineLot:
    """The line's entry of the lot named `code` (compared like SKUs); 400 naming the line if none was shipped."""
    if not entries and line.product.tracking != Product.Tracking.LOT:
        raise NotLotTracked(f"Line {line.pk}: product {line.product.sku} is not lot-tracked; name no lot.",
                            line=line.pk)
    key = identity_key(code)
    for entry in entries:
        if entry.lot.code_key == key:
            return entry
    raise InvalidTransfer(f"Line {line.pk}: lot {code} was not shipped on this line.", line=line.pk, lot=code)


@transaction.atomic
def receive_transfer(*, actor, transfer_id: int, receipts: list[dict], ip: str | None = None) -> TransferRequest:
    """Record one (possibly partial) receipt of an in-transit transfer; repeatable, accumulating.

    `receipts` is `[{line, accepted, rejected, lot?}]`: accepted units enter the destination's stock (a
    `transfer_in` movement; for a lot-tracked line one per lot, into the lots they were shipped as),
    rejected ones only leave its `incoming`. `lot` (a code) names the lot an entry is about; then a
    line may appear once per lot. When every line is fully
    accounted for (`received + rejected = shipped`) the transfer is `received`. Locks: the transfer
    row, then the destination stock rows in primary-key order. Raises NotFound, PermissionDenied
    unless the actor is an admin or the destination's manager or staff, InvalidState unless
    `in_transit` (checked before the lines); InvalidTransfer `invalid` (unknown line, a line of another
    transfer, a line twice, a lot twice, a lot not shipped on that line), NotLotTracked (a lot named on
    a line of a product that is not lot-tracked) and InvalidQuantity (more than shipped and unaccounted
    for, on the line or in the named lot), each naming the `line`, before anything is written. A line
    with 0 accepted and 0 rejected changes nothing; a receipt of only such lines writes nothing at all.
    """
    transfer = _lock_transfer(actor=actor, transfer_id=transfer_id, allowed=policies.can_receive,
                              denied="Only an admin or the destination warehouse's manager or staff may receive it.",
                              state=RECEIVABLE)
    lines = _locked_lines(transfer)
    entries = _lot_entries(lines)
    matched = _receipt_lines(transfer, lines, receipts, entries)
    if not matched:
        return transfer  # every line 0/0: nothing arrived, nothing changes (SPEC §11)
    with stock_operation():  # subscribers run after the new status is saved (a rule sees its transfer closed)
        arrived = [ReceivedLine(receipt.line.product, receipt.accepted, receipt.rejected,
                                tuple((entry.lot, units) for entry, units, _ in receipt.lots.values() if units))
                   for receipt in matched]
        movements = receive_transfer_lines(actor=actor, destination=transfer.destination_warehouse, lines=arrived,
                                           reference=_reference(transfer))
        for receipt in matched:
            receipt.line.received_quantity += receipt.accepted
            receipt.line.rejected_quantity += receipt.rejected
            for entry, accepted, rejected in receipt.lots.values():
                entry.received += accepted
                entry.rejected += rejected
        TransferLine.objects.bulk_update([receipt.line for receipt in matched],
                                         ["received_quantity", "rejected_quantity"])
        lots = [[receipt.line.pk, entry.lot_id, accepted, rejected]
                for receipt in matched for entry, accepted, rejected in receipt.lots.values() if accepted or rejected]
        if lots:
            TransferLineLot.objects.bulk_update([entry for receipt in matched for entry, _, _ in receipt.lots.values()],
                                                ["received", "rejected"])
        if all(line.outstanding == 0 for line in lines):
            _set_status(transfer, TransferStatus.RECEIVED)
    record_event(actor=actor, action="transfer_request.receive", target=transfer, ip=ip,
                 data={"movements": [movement.pk for movement in movements], "status": transfer.status,
                       "lines": [[receipt.line.pk, receipt.accepted, receipt.rejected] for receipt in matched],
                       **({"lots": lots} if lots else {})})
    # After each receipt that changed something, also the last one (the transfer is then `received`).
    emit(TransferRequestChanged(transfer_request=transfer, action="received"))
    return transfer


@transaction.atomic
def close_transfer(*, actor, transfer_id: int, reason: str, ip: str | None = None) -> TransferRequest:
    """End an in-transit transfer early: units neither received nor rejected are lost in transit.

    They leave the destination's `incoming` and are recorded as rejected on their line (no ledger
    row: they were on no warehouse's shelf), per lot for a lot-tracked line. `in_transit → closed`.
    Locks: the transfer row, then the destination stock rows in primary-key order. Raises NotFound,
    PermissionDenied unless the actor is an admin or the destination's manager, InvalidState unless
    `in_transit`, DomainError `invalid` without a reason.
    """
    if not (reason or "").strip():
        raise InvalidTransfer("A reason is required to close a transfer.")
    transfer = _lock_transfer(actor=actor, transfer_id=transfer_id, allowed=policies.can_close,
                              denied="Only an admin or the destination warehouse's manager may close it.",
                              state=in_state((TransferStatus.IN_TRANSIT,)))
    lost = [line for line in _locked_lines(transfer) if line.outstanding]
    with stock_operation():  # subscribers run after the new status is saved (a rule sees its transfer closed)
        write_off_in_transit(actor=actor, destination=transfer.destination_warehouse,
                             lines=[(line.product, line.outstanding) for line in lost])
        written_off = [[line.pk, line.outstanding] for line in lost]
        for line in lost:
            line.rejected_quantity += line.outstanding
        TransferLine.objects.bulk_update(lost, ["rejected_quantity"])
        # Each lot's units neither received nor rejected are lost in transit with it.
        lost_lots = [entry for entries in _lot_entries(lost).values() for entry in entries if entry.outstanding]
        lots = [[entry.line_id, entry.lot_id, entry.outstanding] for entry in lost_lots]
        for entry in lost_lots:
            entry.rejected += entry.outstanding
        TransferLineLot.objects.bulk_update(lost_lots, ["rejected"])
        _set_status(transfer, TransferStatus.CLOSED)
    record_event(actor=actor, action="transfer_request.close", target=transfer, ip=ip,
                 data={"reason": reason, "lost": written_off, **({"lost_lots": lots} if lots else {})})
    emit(TransferRequestChanged(transfer_request=transfer, action="closed"))
    return transfer


@transaction.atomic
def cancel_transfer(*, actor, transfer_id: int, ip: str | None = None) -> TransferRequest:
    """Cancel a pending transfer, or an approved in-transit one that has not shipped (its reservation is released).

    Locks: the transfer row, then (approved) the source stock rows in primary-key order, then (a transfer a
    reorder rule created, which this holds: SPEC §15) the rule row. Raises NotFound, PermissionDenied unless
    the actor is an admin or, while pending, the requester (the destination's manager for a generated one),
    InvalidState once shipped, decided otherwise, or approved in `direct` mode (the units moved).
    """
    transfer = _lock_transfer(actor=actor, transfer_id=transfer_id, allowed=policies.can_cancel_transfer,
                              denied="Only an admin, or the requester while it is pending, may cancel it.",
                              state=in_state((TransferStatus.PENDING, TransferStatus.APPROVED),
                                             (TransferMode.IN_TRANSIT, TransferMode.DIRECT)))
    data = {"previous_status": transfer.status}
    if transfer.status == TransferStatus.PENDING:
        transfer.mark_decided(actor=actor, status=TransferStatus.CANCELLED, reason="")
    elif transfer.mode == TransferMode.IN_TRANSIT:
        lines = _locked_lines(transfer)
        with stock_operation():  # subscribers run after the new status is saved
            release_transfer_lines(actor=actor, source=transfer.source_warehouse, lines=_units(lines))
            data.update(released=[[line.product_id, line.quantity] for line in lines])
            _set_status(transfer, TransferStatus.CANCELLED)  # the approver stays on record
    else:
        raise InvalidState(status=transfer.status, mode=transfer.mode,
                           detail="An approved direct transfer has moved its units; it cannot be cancelled.")
    _hold_rule_of(transfer)  # after the stock rows (lock order: stock rows, then rule rows)
    record_event(actor=actor, action="transfer_request.cancel", target=transfer, ip=ip, data=data)
    emit(TransferRequestChanged(transfer_request=transfer, action="cancelled"))
    return transfer

